/**
 * float16 conversion: float32 tensors inside the graph become float16, with Casts where a
 * float16 region meets a float32 one (the graph's inputs and outputs keep their float32 types).
 * Ops that are risky or unsupported in float16 (data-dependent ranges, ML ops, ops that make
 * float32 from attributes), nodes the plan marks float / skip, and nodes with subgraphs stay
 * float32. onnxruntime's CPU provider runs the rest (it inserts its own Casts for float16 ops it
 * has no CPU kernel for), and other providers run them natively.
 */
import { floatToHalf } from '../data';
import { mainGraph, type Model, type Node } from '../model';
import type { QuantPlan } from './plan';
import type { TensorInfo } from './preprocess';
import { addInitializer, addValue, floatValues, freshName, makeNode, relink } from './rewrite/graph';

/** Kept float32: precision-sensitive or without float16 support. */
export const FP16_BLOCK_LIST = new Set([
  'Cast', 'CastLike', 'Constant', 'ConstantOfShape', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike',
  'RandomUniformLike', 'Multinomial', 'Bernoulli', 'NonMaxSuppression', 'TopK', 'RoiAlign', 'Resize', 'Upsample',
  'Range', 'CumSum', 'Min', 'Max', 'Loop', 'If', 'Scan',
]);

export interface Fp16Result {
  convertedByOp: Record<string, number>;
  leftFloat: { node: string; opType: string; reason: string }[];
  warnings: string[];
  casts: number;
}

const FLOAT = 1;
const FLOAT16 = 10;

/**
 * Converts the main graph in place. `info` (run-time tensor types) tells which tensors are
 * float32; without it the declared value types and initializers are used.
 */
export function convertFp16(model: Model, plan: QuantPlan, info?: Map<string, TensorInfo>, opts: { only?: Set<string> } = {}): Fp16Result {
  const g = mainGraph(model);
  const taken = new Set<string>();
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
    const p = byName.get(n.name)?.precision;
    if (opts.only && !(opts.only.has(n.name) && !n.nameSynthesised)) return false;
    let reason: string | undefined;
    if (p === 'float' || p === 'skip') reason = `marked ${p} in the plan`;
    else if (n.domain && n.domain !== 'ai.onnx') reason = `op ${n.domain}.${n.opType} is kept float32`;
    else if (FP16_BLOCK_LIST.has(n.opType)) reason = `${n.opType} is kept float32 (precision-sensitive or no float16 support)`;
    else if (n.subgraphs.length) reason = 'nodes with subgraphs are kept float32';
    else if (![...n.inputs, ...n.outputs].some(isF32)) reason = 'no float32 inputs or outputs';
    if (reason) { leftFloat.push({ node: n.name, opType: n.opType, reason }); return false; }
    convertedByOp[n.opType] = (convertedByOp[n.opType] ?? 0) + 1;
    return true;
  });

  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => { for (const o of n.outputs) if (o) producer.set(o, i); });
  const graphOutputs = new Set(g.outputs);
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

  // initializers read by converted nodes get a float16 twin
  const halfInit = new Map<string, string>();
  const initToHalf = (name: string): string => {
    const hit = halfInit.get(name);
    if (hit) return hit;
    const c = g.values.get(name)!.constant!;
    const f = floatValues(c);
    const h = new Uint16Array(f.length);
    for (let k = 0; k < f.length; k++) h[k] = floatToHalf(f[k]);
    const nn = freshName(g, `${name}_fp16`, taken);
    addInitializer(g, nn, 'float16', c.shape.slice(), new Uint8Array(h.buffer));
    halfInit.set(name, nn);
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
      if (homeHalf.has(x)) return castTo(x, FLOAT, i);
      return x;
    });
  });
  // graph outputs produced in float16 come back to float32 under their own names
  const tail: Node[] = [];
  for (const [orig, h] of renamed) {
    tail.push(makeNode('Cast', freshName(g, `${orig}_Cast`, taken), [h], [orig], '', { to: FLOAT }));
    casts++;
  }
  const nodes: Node[] = [...pre];
  g.nodes.forEach((n, i) => { nodes.push(n); nodes.push(...(castNodes.get(i) ?? [])); });
  nodes.push(...tail);
  g.nodes = nodes;
  // float32 initializers nothing reads any more
  const used = new Set<string>(g.outputs);
  for (const n of g.nodes) for (const x of n.inputs) used.add(x);
  g.initializers = g.initializers.filter((nm) => {
    if (used.has(nm)) return true;
    g.values.delete(nm);
    return false;
  });
  relink(g);
  return { convertedByOp, leftFloat, warnings: [], casts };
}
