/**
 * float16 conversion: float32 tensors inside the graph become float16, with Casts where a
 * float16 region meets a float32 one (the graph's inputs and outputs keep their float32 types).
 * Ops that are risky or unsupported in float16 (data-dependent ranges, ML ops, ops that make
 * float32 from attributes), nodes the plan marks float / skip, and If / Loop / Scan nodes stay
 * float32; the bodies inside them are converted the same way, each with float32 at its edges
 * (formal inputs, outputs and the outer tensors it reads), so a body never sees a float16 tensor
 * its enclosing graph declared float32. onnxruntime's CPU provider runs the rest (it inserts its
 * own Casts for float16 ops it has no CPU kernel for), and other providers run them natively.
 */
import { floatToHalf } from '../data';
import { mainGraph, type Graph, type Model, type Node } from '../model';
import type { QuantPlan } from './plan';
import type { TensorInfo } from './preprocess';
import { addInitializer, addValue, dropUnusedInitializers, floatValues, freshName, makeNode, relink } from './rewrite/graph';
import { allNames, constantHome, namesReadIn, withOuterConstants, type NestedGraph } from './subgraphs';

/** Kept float32: precision-sensitive or without float16 support. */
export const FP16_BLOCK_LIST = new Set([
  'Cast', 'CastLike', 'Constant', 'ConstantOfShape', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike',
  'RandomUniformLike', 'Multinomial', 'Bernoulli', 'NonMaxSuppression', 'TopK', 'RoiAlign', 'Resize', 'Upsample',
  'Range', 'CumSum', 'Min', 'Max', 'Loop', 'If', 'Scan',
]);
// If / Loop / Scan stay float32 themselves: their bodies are converted one by one (convertFp16)

export interface Fp16Result {
  convertedByOp: Record<string, number>;
  /** `graph`: the body a node sits in (owner/attribute), absent for the main graph. */
  leftFloat: { node: string; opType: string; reason: string; graph?: string }[];
  warnings: string[];
  casts: number;
}

const FLOAT = 1;
const FLOAT16 = 10;

export interface Fp16Options {
  /** Convert only these nodes (a static run's fp16-marked nodes). */
  only?: Set<string>;
  /** Tensors whose values leave float16's range, with their largest magnitude: nodes touching them stay float32. */
  outOfRange?: Map<string, number>;
}

/** A nested graph to convert, with its tensor types (undefined: they could not be inferred). */
export interface NestedFp16 { nested: NestedGraph; info: Map<string, TensorInfo> | undefined; plan?: QuantPlan }

/**
 * Converts the main graph in place, then the bodies in `nested` (outer ones first). `info`
 * (run-time tensor types) tells which tensors are float32; without it the declared value types
 * and initializers are used. Initializers nothing reads any more, in any graph, are dropped.
 */
export async function convertFp16(model: Model, plan: QuantPlan, info?: Map<string, TensorInfo>, opts: Fp16Options = {}, nested: NestedFp16[] = []): Promise<Fp16Result> {
  const ids = new Map<Graph, number>();
  const twins = new Map<string, string>();
  const id = (g: Graph): number => { if (!ids.has(g)) ids.set(g, ids.size); return ids.get(g)!; };
  const res = convertGraphFp16(mainGraph(model), plan, info, opts, allNames(model), { twins, id, home: () => undefined });
  for (const n of nested) {
    const where = n.nested.label;
    if (!n.info) {
      for (const node of n.nested.graph.nodes) res.leftFloat.push({ node: node.name, opType: node.opType, graph: where, reason: 'the types inside this body could not be inferred' });
      continue;
    }
    const r = await withOuterConstants(n.nested.graph, n.nested.scopes, () => convertGraphFp16(n.nested.graph, n.plan ?? { defaultPrecision: 'int8', decisions: [], warnings: [] }, n.info, opts, allNames(model), { twins, id, home: (name) => constantHome(n.nested.scopes, name) }));
    for (const [op, k] of Object.entries(r.convertedByOp)) res.convertedByOp[op] = (res.convertedByOp[op] ?? 0) + k;
    for (const lf of r.leftFloat) res.leftFloat.push({ ...lf, graph: where });
    res.casts += r.casts;
  }
  // float32 originals nothing reads any more (uses inside bodies count)
  for (const g of [mainGraph(model), ...nested.map((n) => n.nested.graph)]) dropUnusedInitializers(model, g);
  return res;
}

/** Converts one graph; its inputs, outputs and the outer tensors it reads stay float32. */
/** float16 twins made so far (by owning graph and name), and where an outer constant lives. */
interface Twins { twins: Map<string, string>; id: (g: Graph) => number; home: (name: string) => Graph | undefined }

function convertGraphFp16(g: Graph, plan: QuantPlan, info: Map<string, TensorInfo> | undefined, opts: Fp16Options, taken: Set<string>, shared: Twins): Fp16Result {
  const dqOutputs = new Set(g.nodes.filter((n) => n.opType === 'DequantizeLinear').map((n) => n.outputs[0]));
  const isF32 = (t: string): boolean => {
    if (!t) return false;
    const i = info?.get(t);
    if (i) return i.dtype === 'float32';
    const v = g.values.get(t);
    const d = v?.constant?.dtype ?? v?.type?.dtype;
    // outputs of inserted DequantizeLinear nodes carry no declared type: they are float32
    return d === 'float32' || (d === undefined && dqOutputs.has(t));
  };
  const byName = new Map(plan.decisions.map((d) => [d.node, d]));
  const leftFloat: Fp16Result['leftFloat'] = [];
  const convertedByOp: Record<string, number> = {};
  const half = g.nodes.map((n) => {
    // decisions by name: after a QDQ rewrite the node list also holds the inserted Q/DQ nodes
    // only the plan's overrides count: ops without a QDQ form are float in a plan's defaults,
    // which says nothing about float16
    const d = byName.get(n.name);
    const p = d?.source === 'override' ? d.precision : undefined;
    if (opts.only && !(opts.only.has(n.name) && !n.nameSynthesised)) return false;
    let reason: string | undefined;
    if (p === 'float' || p === 'skip') reason = `marked ${p} in the plan`;
    else if (n.domain && n.domain !== 'ai.onnx') reason = `op ${n.domain}.${n.opType} is kept float32`;
    else if (n.subgraphs.length) reason = 'it holds subgraphs: it stays float32 and their nodes are converted one by one';
    else if (FP16_BLOCK_LIST.has(n.opType)) reason = `${n.opType} is kept float32 (precision-sensitive or no float16 support)`;
    else if (![...n.inputs, ...n.outputs].some(isF32)) reason = 'no float32 inputs or outputs';
    else {
      const big = [...n.inputs, ...n.outputs].map((t) => opts.outOfRange?.get(t) ?? 0).reduce((a, b) => Math.max(a, b), 0);
      if (big) reason = `its values reach ${big.toExponential(2)}, beyond float16's range (65504)`;
    }
    if (reason) { leftFloat.push({ node: n.name, opType: n.opType, reason }); return false; }
    convertedByOp[n.opType] = (convertedByOp[n.opType] ?? 0) + 1;
    return true;
  });

  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => { for (const o of n.outputs) if (o) producer.set(o, i); });
  // tensors that keep float32 under their own name: graph outputs, and tensors the bodies of
  // If / Loop nodes read from this scope (a body sees the name, not a Cast in front of it)
  const graphOutputs = new Set(g.outputs);
  for (const n of g.nodes) for (const s of n.subgraphs) for (const x of namesReadIn(s)) graphOutputs.add(x);
  // float32 tensors whose home is float16: outputs of converted nodes (graph outputs are renamed)
  const homeHalf = new Set<string>();
  const renamed = new Map<string, string>();
  g.nodes.forEach((n, i) => {
    if (!half[i]) return;
    n.outputs = n.outputs.map((o) => {
      if (!isF32(o)) return o;
      let name = o;
      if (graphOutputs.has(o)) {
        name = freshName(g, `${o}_fp16`, taken);
        renamed.set(o, name);
      }
      homeHalf.add(name);
      const v = g.values.get(o);
      const t = v?.type ?? (info?.get(o) ? { dtype: 'float32' as const, shape: info.get(o)!.shape } : null);
      addValue(g, name, 'float16', t?.shape ?? null);
      return name;
    });
  });

  // initializers read by converted nodes get a float16 twin, beside the original: a weight of an
  // enclosing scope gets one twin there, which every body reading it shares
  const initToHalf = (name: string): string => {
    const home = shared.home(name) ?? g;
    const key = `${shared.id(home)}|${name}`;
    const hit = shared.twins.get(key);
    if (hit) return hit;
    const c = g.values.get(name)!.constant!;
    const f = floatValues(c);
    const h = new Uint16Array(f.length);
    for (let k = 0; k < f.length; k++) h[k] = floatToHalf(f[k]);
    const nn = freshName(home, `${name}_fp16`, taken);
    addInitializer(home, nn, 'float16', c.shape.slice(), new Uint8Array(h.buffer));
    shared.twins.set(key, nn);
    return nn;
  };

  const castCache = new Map<string, string>();
  const pre: Node[] = [];
  const castNodes = new Map<number, Node[]>(); // casts placed right before node i
  let casts = 0;
  const castTo = (t: string, to: number, before: number): string => {
    const key = `${t}|${to}`;
    const hit = castCache.get(key);
    if (hit) return hit;
    const out = freshName(g, `${t}_${to === FLOAT16 ? 'fp16' : 'fp32'}`, taken);
    addValue(g, out, to === FLOAT16 ? 'float16' : 'float32', g.values.get(t)?.type?.shape ?? info?.get(t)?.shape ?? null);
    const cast = makeNode('Cast', freshName(g, `${t}_Cast`, taken), [t], [out], '', { to });
    const p = producer.get(t);
    // the cast goes right after its producer (graph inputs: at the top), so it can be shared
    if (p === undefined) pre.push(cast);
    else { const l = castNodes.get(p) ?? []; l.push(cast); castNodes.set(p, l); }
    void before;
    castCache.set(key, out);
    casts++;
    return out;
  };

  g.nodes.forEach((n, i) => {
    n.inputs = n.inputs.map((x0) => {
      const x = renamed.get(x0) ?? x0;
      if (!x) return x;
      const isInit = !!g.values.get(x)?.constant;
      if (half[i]) {
        if (homeHalf.has(x)) return x;
        if (!isF32(x0)) return x;
        if (isInit) return initToHalf(x);
        return castTo(x, FLOAT16, i);
      }
      // the float32 original is there under its own name
      if (renamed.has(x0)) return x0;
      if (homeHalf.has(x)) return castTo(x, FLOAT, i);
      return x;
    });
  });
  // tensors produced in float16 that must stay float32 come back under their own names, right
  // after their producer (a body further down may read them)
  const back = new Map<number, Node[]>();
  for (const [orig, hname] of renamed) {
    const p = producer.get(orig)!;
    const l = back.get(p) ?? [];
    l.push(makeNode('Cast', freshName(g, `${orig}_Cast`, taken), [hname], [orig], '', { to: FLOAT }));
    back.set(p, l);
    casts++;
  }
  const nodes: Node[] = [...pre];
  g.nodes.forEach((n, i) => { nodes.push(n); nodes.push(...(back.get(i) ?? []), ...(castNodes.get(i) ?? [])); });
  g.nodes = nodes;
  relink(g);
  return { convertedByOp, leftFloat, warnings: [], casts };
}
