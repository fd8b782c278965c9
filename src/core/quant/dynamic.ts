/**
 * Dynamic quantization: weights stored as int8 now, activations quantized at run time.
 * MatMul (and Gemm without transA, alpha = beta = 1) with a constant 2-D weight becomes
 *   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast -> Mul(x_scale * W_scale) [-> Add(bias)],
 * the form onnxruntime's own quantize_dynamic emits. Conv / ConvTranspose take the QDQ-equivalent
 * form (DynamicQuantizeLinear -> DequantizeLinear on the input, int8 weight -> DequantizeLinear).
 * Everything else stays float, with the reason.
 */
import { mainGraph, type Graph, type Model, type Node } from '../model';
import { allNames, withOuterConstants, type NestedGraph } from './subgraphs';
import { computePerChannelParams, computeTensorParams, quantize, quantizePerChannel, quantizedToBytes } from './math';
import type { QuantPlan } from './plan';
import { addInitializer, addValue, defaultOpset, dropUnusedInitializers, f32Bytes, floatValues, freshName, makeNode, relink, zeroPointBytes } from './rewrite/graph';

/** A weight quantized per channel along `axis`, or per tensor when `axis` is null; int8 is symmetric. */
function quantizeWeight(data: Float32Array, shape: number[], axis: number | null, type: 'int8' | 'uint8'): { q: ReturnType<typeof quantize>; scales: Float32Array; zps: Int32Array } {
  const ropt = { symmetric: type === 'int8' };
  if (axis !== null) {
    const pc = computePerChannelParams(data, shape, axis, type, ropt);
    return { q: quantizePerChannel(data, shape, axis, pc.scales, pc.zeroPoints, type), scales: pc.scales, zps: pc.zeroPoints };
  }
  const p = computeTensorParams(data, type, ropt);
  return { q: quantize(data, p.scale, p.zeroPoint, type), scales: Float32Array.of(p.scale), zps: Int32Array.of(p.zeroPoint) };
}

export interface DynamicOptions {
  perChannel: boolean;
  weightType: 'int8' | 'uint8';
}

export interface DynamicResult {
  quantizedByOp: Record<string, number>;
  /** `graph`: the body a node sits in (owner/attribute), absent for the main graph. */
  leftFloat: { node: string; opType: string; reason: string; graph?: string }[];
  warnings: string[];
}

const attrInt = (n: Node, name: string, d: number): number => {
  const a = n.attributes.find((x) => x.name === name);
  return a && a.value.type === 'int' ? Number(a.value.value) : d;
};
const attrFloat = (n: Node, name: string, d: number): number => {
  const a = n.attributes.find((x) => x.name === name);
  return a && a.value.type === 'float' ? a.value.value : d;
};

/** Quantizes the main graph in place, then each body in `nested` (with its own plan). */
export async function quantizeDynamic(model: Model, plan: QuantPlan, opts: DynamicOptions, nested: { nested: NestedGraph; plan: QuantPlan }[] = []): Promise<DynamicResult> {
  const res = quantizeGraphDynamic(model, mainGraph(model), plan, opts);
  for (const n of nested) {
    const r = await withOuterConstants(n.nested.graph, n.nested.scopes, () => quantizeGraphDynamic(model, n.nested.graph, n.plan, opts));
    for (const [op, k] of Object.entries(r.quantizedByOp)) res.quantizedByOp[op] = (res.quantizedByOp[op] ?? 0) + k;
    for (const lf of r.leftFloat) res.leftFloat.push({ ...lf, graph: n.nested.label });
    res.warnings.push(...r.warnings);
  }
  // the float originals nothing reads any more, in any graph (uses inside bodies count)
  for (const g of [mainGraph(model), ...nested.map((n) => n.nested.graph)]) dropUnusedInitializers(model, g);
  return res;
}

function quantizeGraphDynamic(model: Model, g: Graph, plan: QuantPlan, opts: DynamicOptions): DynamicResult {
  const taken = allNames(model);
  const quantizedByOp: Record<string, number> = {};
  const leftFloat: DynamicResult['leftFloat'] = [];
  const dql = new Map<string, [string, string, string]>(); // activation -> quantized, scale, zp
  const nodes: Node[] = [];
  const opset = defaultOpset(model);
  const warnings: string[] = [];
  // below opset 13 (no per-channel DequantizeLinear) weights are per-tensor; the caller says why
  const dynamicInput = (x: string): [string, string, string] => {
    let dq = dql.get(x);
    if (!dq) {
      dq = [freshName(g, `${x}_quantized`, taken), freshName(g, `${x}_scale`, taken), freshName(g, `${x}_zero_point`, taken)];
      addValue(g, dq[0], 'uint8', null); addValue(g, dq[1], 'float32', []); addValue(g, dq[2], 'uint8', []);
      nodes.push(makeNode('DynamicQuantizeLinear', freshName(g, `${x}_DynamicQuantizeLinear`, taken), [x], [...dq]));
      dql.set(x, dq);
    }
    return dq;
  };
  /** The constant float32 weight `name` stored as `type` with a DequantizeLinear; returns the DQ's output. */
  const weightDq = (name: string, axis: number | null): string => {
    const w = g.values.get(name)!.constant!;
    const type = opts.weightType;
    const { q, scales, zps } = quantizeWeight(floatValues(w), w.shape, axis, type);
    const wq = freshName(g, `${name}_quantized`, taken);
    const ws = freshName(g, `${name}_scale`, taken);
    const wz = freshName(g, `${name}_zero_point`, taken);
    const wdq = freshName(g, `${name}_dq`, taken);
    const pshape = axis === null ? [] : [scales.length];
    addInitializer(g, wq, type, w.shape.slice(), quantizedToBytes(q, type));
    addInitializer(g, ws, 'float32', pshape, f32Bytes(scales));
    addInitializer(g, wz, type, pshape, zeroPointBytes(zps, type));
    addValue(g, wdq, null, null);
    nodes.push(makeNode('DequantizeLinear', freshName(g, `${name}_DQ`, taken), [wq, ws, wz], [wdq], '', axis === null ? {} : { axis }));
    return wdq;
  };
  const floatConstant = (name: string | undefined, minRank: number) => {
    const c = name ? g.values.get(name)?.constant : undefined;
    return c && c.dtype === 'float32' && c.shape.length >= minRank ? c : undefined;
  };
  /**
   * Conv / ConvTranspose in the QDQ-equivalent dynamic form: the input is quantized at run time
   * (DynamicQuantizeLinear -> DequantizeLinear), the weight is stored int8 with its DequantizeLinear.
   */
  const convQdq = (n: Node): boolean => {
    if (!floatConstant(n.inputs[1], 3)) return false;
    const group = attrInt(n, 'group', 1);
    // per-channel DequantizeLinear (axis) exists from opset 13
    const axis = opts.perChannel && opset >= 13 && (n.opType === 'Conv' || group === 1) ? (n.opType === 'Conv' ? 0 : 1) : null;
    const wdq = weightDq(n.inputs[1], axis);
    const dq = dynamicInput(n.inputs[0]);
    const xdq = freshName(g, `${n.inputs[0]}_dq`, taken);
    addValue(g, xdq, null, null);
    nodes.push(makeNode('DequantizeLinear', freshName(g, `${n.inputs[0]}_DQ`, taken), [...dq], [xdq]));
    n.inputs = [xdq, wdq, ...n.inputs.slice(2)];
    nodes.push(n);
    quantizedByOp[n.opType] = (quantizedByOp[n.opType] ?? 0) + 1;
    return true;
  };
  /**
   * Gather from a constant table (an embedding): the table is stored int8 with a DequantizeLinear,
   * per row when per-channel; the looked-up rows are float as before.
   */
  const gatherQdq = (n: Node): boolean => {
    if (!floatConstant(n.inputs[0], 2) || attrInt(n, 'axis', 0) !== 0) return false;
    const wdq = weightDq(n.inputs[0], opts.perChannel && opset >= 13 ? 0 : null);
    n.inputs = [wdq, ...n.inputs.slice(1)];
    nodes.push(n);
    quantizedByOp[n.opType] = (quantizedByOp[n.opType] ?? 0) + 1;
    return true;
  };
  g.nodes.forEach((n, i) => {
    const d = plan.decisions[i];
    const keep = (reason: string): void => { nodes.push(n); leftFloat.push({ node: n.name, opType: n.opType, reason }); };
    if (d.precision === 'float' || d.precision === 'skip') return keep(d.reason ?? `marked ${d.precision}`);
    if (d.precision === 'fp16') return keep('marked fp16, which dynamic mode does not apply (kept float32)');
    if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
      if (!convQdq(n)) return keep('its weight is not a constant float32 tensor');
      return;
    }
    if (n.opType === 'Gather') {
      if (!gatherQdq(n)) return keep('it does not read rows of a constant float32 table (axis 0)');
      return;
    }
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') return keep(`${n.opType} is not quantized in dynamic mode`);
    const w = g.values.get(n.inputs[1])?.constant;
    if (!w || w.dtype !== 'float32' || w.shape.length !== 2) return keep('its weight is not a constant 2-D float32 tensor');
    if (n.opType === 'Gemm' && (attrInt(n, 'transA', 0) || attrFloat(n, 'alpha', 1) !== 1 || attrFloat(n, 'beta', 1) !== 1)) return keep('Gemm with transA / alpha / beta is kept float');
    let data = floatValues(w);
    let [k, m] = w.shape;
    if (n.opType === 'Gemm' && attrInt(n, 'transB', 0)) {
      // MatMulInteger takes B as [K, N]: store the transposed weight
      const t = new Float32Array(data.length);
      for (let r = 0; r < k; r++) for (let c = 0; c < m; c++) t[c * k + r] = data[r * m + c];
      data = t;
      [k, m] = [m, k];
    }
    const bias = n.opType === 'Gemm' && n.inputs[2] ? n.inputs[2] : '';
    const type = opts.weightType;
    const { q, scales, zps } = quantizeWeight(data, [k, m], opts.perChannel ? 1 : null, type);
    const base = n.inputs[1];
    const wq = freshName(g, `${base}_quantized`, taken);
    const ws = freshName(g, `${base}_scale`, taken);
    const wz = freshName(g, `${base}_zero_point`, taken);
    const pshape = opts.perChannel ? [m] : [];
    addInitializer(g, wq, type, [k, m], quantizedToBytes(q, type));
    addInitializer(g, ws, 'float32', pshape, f32Bytes(scales));
    addInitializer(g, wz, type, pshape, zeroPointBytes(zps, type));
    const dq = dynamicInput(n.inputs[0]);
    const y = n.outputs[0];
    const mmi = freshName(g, `${y}_MatMulInteger_Output`, taken);
    const cast = freshName(g, `${y}_Cast_Output`, taken);
    const sc = freshName(g, `${y}_scale`, taken);
    const mul = bias ? freshName(g, `${y}_Mul_Output`, taken) : y;
    for (const [nm, t] of [[mmi, 'int32'], [cast, 'float32'], [sc, 'float32']] as const) addValue(g, nm, t, null);
    if (bias) addValue(g, mul, 'float32', null);
    nodes.push(
      makeNode('MatMulInteger', freshName(g, `${n.name}_MatMulInteger`, taken), [dq[0], wq, dq[2], wz], [mmi]),
      makeNode('Cast', freshName(g, `${n.name}_Cast`, taken), [mmi], [cast], '', { to: 1 }),
      makeNode('Mul', freshName(g, `${n.name}_scale_Mul`, taken), [dq[1], ws], [sc]),
      makeNode('Mul', freshName(g, `${n.name}_Mul`, taken), [cast, sc], [mul]),
    );
    if (bias) nodes.push(makeNode('Add', freshName(g, `${n.name}_bias_Add`, taken), [mul, bias], [y]));
    quantizedByOp[n.opType] = (quantizedByOp[n.opType] ?? 0) + 1;
  });
  g.nodes = nodes;
  relink(g);
  return { quantizedByOp, leftFloat, warnings };
}
