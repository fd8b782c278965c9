/**
 * Cost of a precision plan, the user's choice of two models:
 *  - size: bytes of the layers' weights at each layer's precision (int8 1 byte a weight, int16
 *    and fp16 2, float 4);
 *  - bops: bit-operations as AIMET's AMP counts them, MACs x weight bits x activation bits
 *    (int8 8 x 8, int16 16 x 16, fp16 16 x 16, float 32 x 32).
 * MACs of Conv / ConvTranspose / Gemm / MatMul come from tensor shapes (the caller supplies them:
 * the model's value types, completed by onnxruntime's shape inference); a symbolic dimension
 * (the batch) counts as 1, so MACs are per sample. Other ops count 0 MACs and their weights (if
 * any) count toward size; biases do not (int32 at every integer precision). Pure functions, no sessions.
 */
import type { Dim, Graph, Node } from '../model';
import type { Precision } from '../quant/plan';

export type CostModel = 'size' | 'bops';
export const COST_MODELS: readonly CostModel[] = ['size', 'bops'];

/** What a layer's cost depends on. */
export interface LayerCostInfo {
  node: string;
  opType: string;
  /** Elements of the layer's constant weight (0 when it has none). */
  weights: number;
  /** Multiply-accumulates per sample. */
  macs: number;
}

/** Weight and activation bits of each precision ('skip' leaves the node float). */
export const PRECISION_BITS: Record<Precision, { weight: number; activation: number }> = {
  int8: { weight: 8, activation: 8 },
  int16: { weight: 16, activation: 16 },
  fp16: { weight: 16, activation: 16 },
  float: { weight: 32, activation: 32 },
  skip: { weight: 32, activation: 32 },
};

export function layerCost(l: LayerCostInfo, p: Precision, model: CostModel): number {
  const b = PRECISION_BITS[p];
  return model === 'size' ? (l.weights * b.weight) / 8 : l.macs * b.weight * b.activation;
}

/** The plan's cost over the layers: each at its precision in `plan`, int8 when not named. */
export function planCost(layers: readonly LayerCostInfo[], plan: Readonly<Record<string, Precision>>, model: CostModel): number {
  let total = 0;
  for (const l of layers) total += layerCost(l, plan[l.node] ?? 'int8', model);
  return total;
}

const size = (d: Dim): number => (typeof d === 'number' && d >= 0 ? d : 1);
const prod = (s: readonly Dim[]): number => s.reduce<number>((a, d) => a * size(d), 1);

function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes.find((x) => x.name === name);
  return a && a.value.type === 'int' ? Number(a.value.value) : dflt;
}

/**
 * MACs of one op per sample from its tensors' shapes (null: unknown). Conv: every output element
 * takes Cin/group x kernel MACs (the weight's shape past its first axis); ConvTranspose: every
 * input element feeds Cout/group x kernel outputs; Gemm: M x N x K; MatMul: output elements x K.
 */
export function macsOf(n: Node, shape: (tensor: string) => Dim[] | null): number {
  const out = n.outputs[0] ? shape(n.outputs[0]) : null;
  const a = n.inputs[0] ? shape(n.inputs[0]) : null;
  const w = n.inputs[1] ? shape(n.inputs[1]) : null;
  switch (n.opType) {
    case 'Conv':
      return out && w ? prod(out) * prod(w.slice(1)) : 0;
    case 'ConvTranspose':
      return a && w ? prod(a) * prod(w.slice(1)) : 0;
    case 'Gemm': {
      if (!out || !a || a.length !== 2) return 0;
      return prod(out) * size(intAttr(n, 'transA', 0) ? a[0] : a[1]);
    }
    case 'MatMul':
      return out && a && a.length ? prod(out) * size(a[a.length - 1]) : 0;
    default:
      return 0;
  }
}

const BIASED = new Set(['Conv', 'ConvTranspose', 'Gemm']);

/** Cost facts of the named nodes of a graph; `shape` gives a tensor's shape (null: unknown). */
export function layerCostInfos(g: Graph, nodes: readonly string[], shape: (tensor: string) => Dim[] | null): LayerCostInfo[] {
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  return nodes.map((name) => {
    const n = byName.get(name);
    if (!n) return { node: name, opType: '?', weights: 0, macs: 0 };
    let weights = 0;
    // the layer's weights: its float constant inputs, except the bias of Conv / Gemm (stored
    // int32 at every integer precision, a few bytes)
    const bias = BIASED.has(n.opType) ? 2 : -1;
    for (const t of n.inputs.filter((_, i) => i !== bias)) {
      const c = t ? g.values.get(t)?.constant : undefined;
      if (c && (c.dtype === 'float32' || c.dtype === 'float16' || c.dtype === 'float64')) weights += c.shape.reduce((x, d) => x * d, 1);
    }
    return { node: name, opType: n.opType, weights, macs: macsOf(n, shape) };
  });
}
