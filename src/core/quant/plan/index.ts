/**
 * The precision plan: for every node of the main graph, the precision it will run at and why.
 * Defaults come from the op type (what has a QDQ pattern in onnxruntime) and the run's default
 * precision; per-node overrides (from the recipe / the editor) win over defaults, except that an
 * op with no quantized form cannot be forced to int8/int16 (it stays float, with the reason).
 */
import { ModelError } from '../../errors';
import { allGraphs, mainGraph, type Graph, type Model, type Node } from '../../model';

export type Precision = 'int8' | 'int16' | 'fp16' | 'float' | 'skip';
export const PRECISIONS: readonly Precision[] = ['int8', 'int16', 'fp16', 'float', 'skip'];

export function isPrecision(s: unknown): s is Precision {
  return typeof s === 'string' && (PRECISIONS as readonly string[]).includes(s);
}

/** How an op's inputs and outputs are quantized. */
export interface OpSpec {
  /** Input indices that are activations (or weights when they are initializers). */
  inputs: number[];
  /** Input index of a weight and how its channel axis is chosen; -1 when none. */
  weight?: { index: number; axis: (node: Node, rank: number) => number | null };
  /** Input index of the bias (int32, scale = input scale x weight scale). */
  bias?: number;
  /** Whether the output gets Q/DQ. */
  output: boolean;
  /** The output reuses input 0's scale / zero point (data movement, max, gather). */
  shareInputParams?: boolean;
}

const intAttr = (n: Node, name: string, dflt: number): number => {
  const a = n.attributes.find((x) => x.name === name);
  return a && a.value.type === 'int' ? Number(a.value.value) : dflt;
};

const plain = (inputs: number[] = [0]): OpSpec => ({ inputs, output: true });
const shared = (): OpSpec => ({ inputs: [0], output: true, shareInputParams: true });

/** Ops with a QDQ form. The rest stay float, named in the result. */
export const OP_SPECS: Record<string, OpSpec> = {
  Conv: { inputs: [0], weight: { index: 1, axis: () => 0 }, bias: 2, output: true },
  // ConvTranspose weights are [C_in, C_out/group, ...]: output channels on axis 1 (only whole with group 1)
  ConvTranspose: { inputs: [0], weight: { index: 1, axis: (n) => (intAttr(n, 'group', 1) === 1 ? 1 : null) }, bias: 2, output: true },
  // Gemm B is [K, N], or [N, K] with transB: the output channel is N
  Gemm: { inputs: [0], weight: { index: 1, axis: (n) => (intAttr(n, 'transB', 0) ? 0 : 1) }, bias: 2, output: true },
  // MatMul B is [..., K, N]: output channels on the last axis
  MatMul: { inputs: [0], weight: { index: 1, axis: (_n, rank) => rank - 1 }, output: true },
  Add: plain([0, 1]),
  Mul: plain([0, 1]),
  Concat: { inputs: [], output: true },
  MaxPool: shared(),
  GlobalMaxPool: shared(),
  AveragePool: plain(),
  GlobalAveragePool: plain(),
  Resize: shared(),
  Softmax: plain(),
  LayerNormalization: plain(),
  Gather: { inputs: [0], output: true, shareInputParams: true },
  Relu: plain(),
  Clip: plain(),
  LeakyRelu: plain(),
  Sigmoid: plain(),
  Reshape: shared(),
  Transpose: shared(),
  Flatten: shared(),
  Squeeze: shared(),
  Unsqueeze: shared(),
};

/** Activations fused into the preceding op: the producer's output is not quantized separately. */
export const FUSABLE_ACTIVATIONS = new Set(['Relu', 'Clip']);
export const FUSING_PRODUCERS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Add']);

export interface NodeDecision {
  node: string;
  opType: string;
  precision: Precision;
  /** Where the choice came from. */
  source: 'default' | 'override';
  /** Why a node stays float (or why an override could not be honoured). */
  reason?: string;
}

export interface QuantPlan {
  defaultPrecision: 'int8' | 'int16';
  decisions: NodeDecision[];
  /** Overrides that could not apply (their node was folded away). */
  warnings: string[];
}

export interface PlanOptions {
  defaultPrecision?: 'int8' | 'int16';
  /** Node name -> precision. */
  overrides?: Record<string, Precision>;
  /** Op types to quantize (default: every op with a QDQ form). */
  opTypes?: string[];
  /** Op types / node names to keep float (onnxruntime's nodes_to_exclude / op_types_to_quantize complement). */
  exclude?: string[];
  /** Node names of the model before pre-processing (overrides may name those). */
  originalNames?: Set<string>;
}

/** The default plan for a model's main graph, with overrides applied. Unknown override names are an error. */
export function buildPlan(model: Model, opts: PlanOptions = {}): QuantPlan {
  return buildGraphPlan(mainGraph(model), opts, allNodeNames(model));
}

/** Node names of every graph of the model (overrides may name nodes inside If / Loop bodies). */
function allNodeNames(model: Model): Set<string> {
  const names = new Set<string>();
  for (const g of allGraphs(model)) for (const n of g.nodes) names.add(n.name);
  return names;
}

/**
 * The plan of one graph (the main graph, or a body nested in it). `known` holds every node name
 * an override may name; overrides naming nodes of other graphs are left to those graphs' plans
 * (reportFolded: only the main graph's plan reports overrides whose node was folded away).
 */
export function buildGraphPlan(g: Graph, opts: PlanOptions = {}, known?: Set<string>, reportFolded = true): QuantPlan {
  const def = opts.defaultPrecision ?? 'int8';
  const names = new Set(g.nodes.map((n) => n.name));
  const everywhere = known ?? names;
  const warnings: string[] = [];
  // Pre-processing renames fused nodes 'original/FusionName' and removes folded ones: an override
  // follows its node into the fusion, and one for a node folded away is reported, not an error.
  const resolved: Record<string, Precision> = {};
  const unknown: string[] = [];
  for (const [name, p] of Object.entries(opts.overrides ?? {})) {
    if (names.has(name)) { resolved[name] = p; continue; }
    const fused = g.nodes.find((n) => n.name.startsWith(`${name}/`));
    if (fused) { resolved[fused.name] = p; continue; }
    if (everywhere.has(name)) continue;
    if (opts.originalNames?.has(name)) { if (reportFolded) warnings.push(`Node '${name}' was folded away by pre-processing; its ${p} override has no node to apply to.`); continue; }
    unknown.push(name);
  }
  if (unknown.length) {
    throw new ModelError('unsupported', `The precision plan names node${unknown.length > 1 ? 's' : ''} the model does not have: ${unknown.slice(0, 5).map((n) => `'${n}'`).join(', ')}${unknown.length > 5 ? ', ...' : ''}.`);
  }
  const overrides = resolved;
  for (const [n, p] of Object.entries(overrides)) {
    if (!isPrecision(p)) throw new ModelError('unsupported', `Node '${n}': unknown precision '${String(p)}' (use ${PRECISIONS.join(', ')}).`);
  }
  const exclude = new Set(opts.exclude ?? []);
  const opTypes = opts.opTypes ? new Set(opts.opTypes) : undefined;
  const decisions: NodeDecision[] = g.nodes.map((n) => {
    const o = overrides[n.name];
    const spec = n.domain === '' || n.domain === 'ai.onnx' ? OP_SPECS[n.opType] : undefined;
    if (o !== undefined) {
      if ((o === 'int8' || o === 'int16') && !spec) {
        return { node: n.name, opType: n.opType, precision: 'float', source: 'override', reason: `${n.opType} has no quantized (QDQ) form; the ${o} override cannot apply` };
      }
      return { node: n.name, opType: n.opType, precision: o, source: 'override', ...(o === 'float' || o === 'skip' ? { reason: `marked ${o} in the plan` } : {}) };
    }
    if (n.subgraphs.length) return { node: n.name, opType: n.opType, precision: 'float', source: 'default', reason: 'its subgraphs are planned node by node' };
    if (!spec) return { node: n.name, opType: n.opType, precision: 'float', source: 'default', reason: n.domain ? `op ${n.domain}.${n.opType} is not quantized` : `${n.opType} has no quantized (QDQ) form` };
    if (exclude.has(n.name) || exclude.has(n.opType)) return { node: n.name, opType: n.opType, precision: 'float', source: 'default', reason: 'excluded by the run options' };
    if (opTypes && !opTypes.has(n.opType)) return { node: n.name, opType: n.opType, precision: 'float', source: 'default', reason: `${n.opType} is not among the op types to quantize` };
    return { node: n.name, opType: n.opType, precision: def, source: 'default' };
  });
  return { defaultPrecision: def, decisions, warnings };
}
