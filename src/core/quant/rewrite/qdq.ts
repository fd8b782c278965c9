/**
 * Static quantization in QDQ form: QuantizeLinear -> DequantizeLinear pairs on activations,
 * weights stored quantized with a DequantizeLinear in front of their consumer, biases as int32
 * (scale = input scale x weight scale). onnxruntime fuses DQ -> op -> Q into integer kernels.
 *
 * Precision per node comes from the plan. A tensor between an int8 and an int16 node takes the
 * wider type, so the int16 node really sees 16-bit inputs. 16-bit (and int4) Q/DQ use the standard
 * operators from opset 21, else onnxruntime's com.microsoft QuantizeLinear / DequantizeLinear.
 */
import { ModelError } from '../../errors';
import { mainGraph, type DType, type Graph, type Model, type Node } from '../../model';
import {
  axisLayout, computeScaleZeroPoint, quantizeBias, quantizedToBytes, saturationRange, type QuantizedArray, type QuantType,
} from '../math';
import { inThreadEngine, type StatsEngine } from '../workers';
import { FUSABLE_ACTIVATIONS, FUSING_PRODUCERS, OP_SPECS, type QuantPlan, type OpSpec } from '../plan';
import type { TensorInfo } from '../preprocess';
import {
  addInitializer, addValue, defaultOpset, dropUnusedInitializers, ensureOpset, f32Bytes, floatValues,
  freshName, makeNode, pruneValues, relink, zeroPointBytes,
} from './graph';
import { allNames, constantHome, namesReadIn, withOuterConstants, type NestedGraph } from '../subgraphs';

export type ActivationType = 'int8' | 'uint8' | 'int16' | 'uint16';
export type WeightType = 'int8' | 'uint8' | 'int4' | 'int16';

export interface QdqOptions {
  /** Activations of 8-bit nodes. */
  activationType: ActivationType;
  /** Activations of int16 nodes (default: int16, or uint16 when activationType is unsigned). */
  activationType16?: 'int16' | 'uint16';
  /** Weights of 8-bit nodes. */
  weightType: WeightType;
  /** Weights of int16 nodes (default int16). */
  weightType16?: 'int8' | 'int16';
  perChannel: boolean;
  symmetricActivations?: boolean;
  /** Default true for signed weight types. */
  symmetricWeights?: boolean;
  reduceRange?: boolean;
  /** Where weight quantization runs (a worker pool for big tensors). Default: this thread. */
  engine?: StatsEngine;
}

export interface TensorQuant {
  tensor: string;
  type: ActivationType;
  scale: number;
  zeroPoint: number;
}

export interface WeightQuant {
  tensor: string;
  node: string;
  type: WeightType | 'int32';
  axis: number | null;
  /** Scales (one, or one per channel). */
  scales: number[];
}

export interface QdqResult {
  /** Quantized nodes per op type. */
  quantizedByOp: Record<string, number>;
  quantizedNodes: string[];
  /** Nodes left float, with the reason; `graph`: the body a node sits in, absent for the main graph. */
  leftFloat: { node: string; opType: string; reason: string; graph?: string }[];
  activations: TensorQuant[];
  weights: WeightQuant[];
  warnings: string[];
  /** Whether com.microsoft Q/DQ were used (16-bit or int4 under opset < 21). */
  usedMicrosoftDomain: boolean;
}

interface Ranges { [name: string]: { min: number; max: number } }

/** Ops that run on int8 / int16 tensors as they are (MaxPool from opset 12). */
const INT_DATA_OPS = new Set(['MaxPool', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze']);

const is16 = (t: string): boolean => t === 'int16' || t === 'uint16';

/** Ops singular (or nearly) at 0, with the input index that must not be rounded to 0. */
const SINGULAR_AT_ZERO: Record<string, number> = { Log: 0, Reciprocal: 0, Sqrt: 0, Pow: 0, Div: 1 };
/** Ops that carry a value near 0 to one near 0 (or eps): elementwise with a constant operand, and data movement. */
const PASS_SMALL_VALUES = new Set(['Add', 'Sub', 'Mul', 'Abs', 'Relu', 'Clip', 'Max', 'Slice', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Gather', 'Split', 'Pad', 'Identity']);

/**
 * The activation tensors a static run must calibrate: every float tensor a quantized node reads or
 * writes, except those that take their parameters from their input (see paramsSource).
 */
export function tensorsToCalibrate(model: Model, plan: QuantPlan, info: Map<string, TensorInfo>): string[] {
  return tensorsToCalibrateIn(mainGraph(model), plan, info);
}

/** tensorsToCalibrate for one graph (the main graph or a body nested in it). */
export function tensorsToCalibrateIn(g: Graph, plan0: QuantPlan, info: Map<string, TensorInfo>): string[] {
  const plan = guardPlan(g, plan0);
  const sel = selectActivations(g, plan, info);
  const source = paramsSource(g, plan, sel);
  return [...sel.keys()].filter((t) => source(t) === undefined);
}

/**
 * For a selected tensor, the tensor whose quantization parameters it takes, if any: a quantized op
 * that moves data or picks among its input's values (MaxPool, Reshape, Transpose, ...) passes its
 * input's parameters on when both are selected at the same width. Such an output needs no range.
 */
function paramsSource(g: Graph, plan: QuantPlan, sel: Map<string, boolean>): (t: string) => string | undefined {
  const producers = new Map<string, number>();
  g.nodes.forEach((n, i) => { for (const o of n.outputs) if (o) producers.set(o, i); });
  return (t) => {
    const p = producers.get(t);
    if (p === undefined) return undefined;
    const prec = plan.decisions[p].precision;
    const n = g.nodes[p];
    const in0 = n.inputs[0];
    const shares = (prec === 'int8' || prec === 'int16') && OP_SPECS[n.opType]?.shareInputParams;
    return shares && in0 && sel.has(in0) && sel.get(in0) === sel.get(t) ? in0 : undefined;
  };
}

function specInputs(n: Node, spec: OpSpec): number[] {
  return n.opType === 'Concat' ? n.inputs.map((_, i) => i) : spec.inputs;
}

/** Activation tensor -> 16-bit needed. */
function selectActivations(g: Graph, plan: QuantPlan, info: Map<string, TensorInfo>): Map<string, boolean> {
  const prec = plan.decisions.map((d) => d.precision);
  const quantized = (i: number | undefined): boolean => i !== undefined && (prec[i] === 'int8' || prec[i] === 'int16');
  const producers = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producers.set(o, i);
    for (const x of n.inputs) if (x) { const l = consumers.get(x) ?? []; l.push(i); consumers.set(x, l); }
  });
  const outputs = new Set(g.outputs);
  const isFloatAct = (t: string): boolean => !!t && info.get(t)?.dtype === 'float32' && !g.values.get(t)?.constant;
  // Conv -> Relu: the Relu's output carries the quantization; nothing between the two.
  const fusedEdge = (t: string): boolean => {
    const p = producers.get(t);
    const cs = consumers.get(t) ?? [];
    return p !== undefined && quantized(p) && FUSING_PRODUCERS.has(g.nodes[p].opType) && !outputs.has(t)
      && cs.length === 1 && quantized(cs[0]) && FUSABLE_ACTIVATIONS.has(g.nodes[cs[0]].opType);
  };
  const sel = new Map<string, boolean>();
  const mark = (t: string, wide: boolean): void => {
    if (!isFloatAct(t) || fusedEdge(t)) return;
    sel.set(t, (sel.get(t) ?? false) || wide);
  };
  g.nodes.forEach((n, i) => {
    if (!quantized(i)) return;
    const spec = OP_SPECS[n.opType];
    const wide = prec[i] === 'int16';
    for (const k of specInputs(n, spec)) if (n.inputs[k]) mark(n.inputs[k], wide);
    if (spec.weight && n.inputs[spec.weight.index] && isFloatAct(n.inputs[spec.weight.index])) mark(n.inputs[spec.weight.index], wide);
    // an output that only leaves the graph gets no Q/DQ: nothing inside reads it
    if (spec.output && n.outputs[0] && consumers.has(n.outputs[0])) mark(n.outputs[0], wide);
  });
  // Tensors a skipped node touches stay exact.
  g.nodes.forEach((n, i) => {
    if (prec[i] !== 'skip') return;
    for (const t of [...n.inputs, ...n.outputs]) sel.delete(t);
  });
  // A tensor an op singular at 0 reads stays exact: its smallest values round to 0, and
  // log(0), 1/0 or a fractional power of it is no small error (log-magnitude spectra, norms)
  // (followed back through an epsilon or a scale: log(|x| + eps) needs x exact near 0 too)
  const isConst = (t: string): boolean => !t || !!g.values.get(t)?.constant;
  g.nodes.forEach((n) => {
    const k = SINGULAR_AT_ZERO[n.opType];
    if (k === undefined || (n.domain !== '' && n.domain !== 'ai.onnx') || !n.inputs[k]) return;
    const todo = [n.inputs[k]];
    for (let hops = 0; todo.length && hops < 16; hops++) {
      const t = todo.pop()!;
      sel.delete(t);
      const p = producers.get(t);
      const pn = p === undefined ? undefined : g.nodes[p];
      if (pn && PASS_SMALL_VALUES.has(pn.opType)) todo.push(...pn.inputs.filter((x) => !isConst(x)));
    }
  });
  return sel;
}

/**
 * Rewrites the main graph of `model` in place. `ranges` holds the calibrated range of every
 * tensor tensorsToCalibrate() named.
 */
export async function rewriteQdq(model: Model, plan: QuantPlan, info: Map<string, TensorInfo>, ranges: Ranges, opts: QdqOptions, nested: NestedQdq[] = []): Promise<QdqResult> {
  const ids = new Map<Graph, number>();
  const stored = new Map<string, string[]>();
  const id = (g: Graph): number => { if (!ids.has(g)) ids.set(g, ids.size); return ids.get(g)!; };
  const res = await rewriteGraphQdq(model, mainGraph(model), plan, info, ranges, opts, { stored, id, home: () => undefined });
  for (const n of nested) {
    const r = await withOuterConstants(n.nested.graph, n.nested.scopes, () => rewriteGraphQdq(model, n.nested.graph, n.plan, n.info, ranges, opts, { stored, id, home: (name) => constantHome(n.nested.scopes, name) }));
    for (const [op, k] of Object.entries(r.quantizedByOp)) res.quantizedByOp[op] = (res.quantizedByOp[op] ?? 0) + k;
    res.quantizedNodes.push(...r.quantizedNodes);
    for (const lf of r.leftFloat) res.leftFloat.push({ ...lf, graph: n.nested.label });
    res.activations.push(...r.activations);
    res.weights.push(...r.weights);
    res.warnings.push(...r.warnings);
    res.usedMicrosoftDomain ||= r.usedMicrosoftDomain;
  }
  // the float originals nothing reads any more, in any graph (uses inside bodies count)
  for (const g of [mainGraph(model), ...nested.map((n) => n.nested.graph)]) {
    dropUnusedInitializers(model, g);
    pruneValues(g);
  }
  return res;
}

/** A body to rewrite, with its plan and tensor types (its ranges are in the shared map). */
export interface NestedQdq { nested: NestedGraph; plan: QuantPlan; info: Map<string, TensorInfo> }

/**
 * The plan with the patterns onnxruntime cannot take made exact: a Transpose whose output an If /
 * Loop body reads must not read a DequantizeLinear (onnxruntime's transpose optimizer aborts the
 * process on DQ -> Transpose there, at every optimisation level but 'disabled'; README, known
 * issues), so it is skipped: the tensors it touches stay float.
 */
function guardPlan(g: Graph, plan: QuantPlan): QuantPlan {
  const bodyReads = new Set<string>();
  for (const n of g.nodes) for (const s of n.subgraphs) namesReadIn(s, bodyReads);
  if (!bodyReads.size) return plan;
  const decisions = plan.decisions.map((d, i) => {
    const n = g.nodes[i];
    if (n.opType !== 'Transpose' || d.precision === 'skip' || !n.outputs.some((o) => bodyReads.has(o))) return d;
    return { ...d, precision: 'skip' as const, reason: 'its output is read inside an If / Loop body, where onnxruntime cannot take DequantizeLinear -> Transpose (kept exact)' };
  });
  return { ...plan, decisions };
}

/** Quantized weights stored so far (by owning graph and weight), and where an outer constant lives. */
interface StoredWeights { stored: Map<string, string[]>; id: (g: Graph) => number; home: (name: string) => Graph | undefined }

async function rewriteGraphQdq(model: Model, g: Graph, plan0: QuantPlan, info: Map<string, TensorInfo>, ranges: Ranges, opts: QdqOptions, shared: StoredWeights): Promise<QdqResult> {
  const plan = guardPlan(g, plan0);
  const engine = opts.engine ?? inThreadEngine;
  if (plan.decisions.length !== g.nodes.length) throw new ModelError('corrupt', 'The precision plan does not match the model (node count differs).');
  const opset = defaultOpset(model);
  if (opset < 10) throw new ModelError('unsupported', `The model uses opset ${opset}; QuantizeLinear / DequantizeLinear need opset 10 or later. Convert the model to a newer opset first.`);
  const std16 = opset >= 21;
  let usedMs = false;
  const qdqDomain = (t: string): string => {
    if ((is16(t) || t === 'int4' || t === 'uint4') && !std16) { usedMs = true; return 'com.microsoft'; }
    return '';
  };
  if (opts.perChannel && opset < 13) throw new ModelError('unsupported', `Per-channel weights need opset 13 (the model has ${opset}).`);
  const act16: ActivationType = opts.activationType16 ?? (opts.activationType === 'uint8' || opts.activationType === 'uint16' ? 'uint16' : 'int16');
  const w16 = opts.weightType16 ?? 'int16';
  const warnings: string[] = [];
  const taken = allNames(model);
  const prec = plan.decisions.map((d) => d.precision);
  const quantized = (i: number): boolean => prec[i] === 'int8' || prec[i] === 'int16';

  const sel = selectActivations(g, plan, info);
  const producers = new Map<string, number>();
  g.nodes.forEach((n, i) => { for (const o of n.outputs) if (o) producers.set(o, i); });

  // --- activation parameters, in graph order so shared parameters are known before use
  const params = new Map<string, TensorQuant>();
  const wideType: ActivationType = is16(opts.activationType) ? opts.activationType : act16;
  const typeOf = (t: string): ActivationType => (sel.get(t) ? wideType : opts.activationType);
  const fromRange = (t: string): TensorQuant | undefined => {
    const r = ranges[t];
    if (!r) { warnings.push(`No calibrated range for '${t}'; it stays float.`); return undefined; }
    const type = typeOf(t);
    const p = computeScaleZeroPoint(r.min, r.max, type, { symmetric: !!opts.symmetricActivations });
    return { tensor: t, type, scale: p.scale, zeroPoint: p.zeroPoint };
  };
  // tensors from outside this graph (inputs, or in a body the outer tensors it reads) first
  const order: string[] = [...sel.keys()].filter((t) => !producers.has(t));
  for (const n of g.nodes) for (const o of n.outputs) if (sel.has(o)) order.push(o);
  const sourceOf = paramsSource(g, plan, sel);
  for (const t of order) {
    const from = sourceOf(t);
    const src = from !== undefined ? params.get(from) : undefined;
    if (src) params.set(t, { ...src, tensor: t });
    else { const q = fromRange(t); if (q) params.set(t, q); }
  }

  // --- weights and biases
  const weightNodes: Node[] = [];
  const weights: WeightQuant[] = [];
  const rename = new Map<number, Map<number, string>>(); // node index -> input index -> new name
  const setInput = (i: number, k: number, name: string): void => {
    const m = rename.get(i) ?? new Map<number, string>();
    m.set(k, name);
    rename.set(i, m);
  };
  const weightCache = new Map<string, { out: string; scales: Float32Array; axis: number | null }>();
  const quantizeWeight = async (i: number, k: number, type: WeightType, axis: number | null): Promise<{ scales: Float32Array; axis: number | null } | undefined> => {
    const n = g.nodes[i];
    const name = n.inputs[k];
    const c = g.values.get(name)?.constant;
    if (!c || c.dtype !== 'float32') return undefined;
    const key = `${name}|${type}|${axis}`;
    const hit = weightCache.get(key);
    if (hit) { setInput(i, k, hit.out); return hit; }
    const data = floatValues(c);
    const signed = type !== 'uint8';
    const sym = opts.symmetricWeights ?? signed;
    const ropt = { symmetric: sym, reduceRange: !!opts.reduceRange };
    // the two passes over the weight (channel ranges, then quantize) run through the engine, so
    // big tensors go to worker threads; the same kernels as math.quantizePerChannel
    if (axis === null || c.shape.length === 0) axis = null;
    const lay = axis === null ? { channels: 1, inner: data.length } : axisLayout(c.shape, axis);
    const mm = await engine.run('channelMinMax', [data, lay.channels, lay.inner]);
    const scales = new Float32Array(lay.channels);
    const zps = new Int32Array(lay.channels);
    for (let ch = 0; ch < lay.channels; ch++) {
      const p = computeScaleZeroPoint(Number.isFinite(mm.min[ch]) ? mm.min[ch] : 0, Number.isFinite(mm.max[ch]) ? mm.max[ch] : 0, type, ropt);
      scales[ch] = p.scale; zps[ch] = p.zeroPoint;
    }
    // a weight of an enclosing scope is stored quantized there, once for every body that reads it
    const home = shared.home(name) ?? g;
    const homeKey = `${shared.id(home)}|${key}`;
    let dqIn = shared.stored.get(homeKey);
    if (!dqIn) {
      const { qmin, qmax } = saturationRange(type);
      const q = await engine.run('quantize', [data, Float64Array.from(scales), Array.from(zps), lay.channels, lay.inner, qmin, qmax, type]) as QuantizedArray;
      // short suffixes: on small models the names are a large part of the file
      const qName = freshName(home, `${name}_q`, taken);
      const sName = freshName(home, `${name}_s`, taken);
      addInitializer(home, qName, type as DType, c.shape.slice(), quantizedToBytes(q, type as QuantType));
      const pshape = axis === null ? [] : [scales.length];
      addInitializer(home, sName, 'float32', pshape, f32Bytes(scales));
      dqIn = [qName, sName];
      // an all-zero zero point of a signed type is the default: leave it out
      if (zps.some((z) => z !== 0) || type === 'uint8') {
        const zName = freshName(home, `${name}_zp`, taken);
        addInitializer(home, zName, type as DType, pshape, zeroPointBytes(zps, type as DType));
        dqIn.push(zName);
      }
      shared.stored.set(homeKey, dqIn);
    }
    const out = freshName(g, `${name}_dq`, taken);
    addValue(g, out, null, null);
    weightNodes.push(makeNode('DequantizeLinear', freshName(g, `${name}_DQ`, taken), dqIn, [out], qdqDomain(type), axis === null ? {} : { axis }));
    weightCache.set(key, { out, scales, axis });
    weights.push({ tensor: name, node: n.name, type, axis, scales: Array.from(scales) });
    setInput(i, k, out);
    return { scales, axis };
  };

  const quantizedByOp: Record<string, number> = {};
  const quantizedNodes: string[] = [];
  const leftFloat: QdqResult['leftFloat'] = [];
  const biasAdd = new Map<number, string>(); // node index -> float bias applied by an Add after it
  for (let i = 0; i < g.nodes.length; i++) {
    const n = g.nodes[i];
    const d = plan.decisions[i];
    if (!quantized(i)) {
      leftFloat.push({ node: n.name, opType: n.opType, reason: d.reason ?? `marked ${d.precision}` });
      continue;
    }
    const spec = OP_SPECS[n.opType];
    const wide = prec[i] === 'int16';
    let touched = false;
    let wq: { scales: Float32Array; axis: number | null } | undefined;
    if (spec.weight && n.inputs[spec.weight.index]) {
      const wName = n.inputs[spec.weight.index];
      const c = g.values.get(wName)?.constant;
      if (c) {
        const axis = opts.perChannel ? spec.weight.axis(n, c.shape.length) : null;
        wq = await quantizeWeight(i, spec.weight.index, wide ? w16 : opts.weightType, axis);
        if (wq) touched = true;
      }
    }
    // constant operands of Add / Mul / Concat / Gather: per-tensor weights
    for (const k of specInputs(n, spec)) {
      const name = n.inputs[k];
      if (!name || k === spec.weight?.index) continue;
      const c = g.values.get(name)?.constant;
      if (c && c.dtype === 'float32' && c.shape.length > 0 && c.shape.reduce((a, b) => a * b, 1) > 1) {
        if (await quantizeWeight(i, k, wide ? w16 : opts.weightType === 'int4' ? 'int8' : opts.weightType, null)) touched = true;
      }
    }
    // bias: int32 with scale = input scale x weight scale
    if (spec.bias !== undefined && wq && n.inputs[spec.bias]) {
      const bName = n.inputs[spec.bias];
      const c = g.values.get(bName)?.constant;
      const inP = params.get(n.inputs[0]);
      // [N], or [1, N] as Gemm biases often are
      if (c && c.dtype === 'float32' && (c.shape.length === 1 || (c.shape.length === 2 && c.shape[0] === 1)) && inP) {
        const bias = floatValues(c);
        const perCh = wq.scales.length > 1 && wq.scales.length === bias.length;
        const qb = quantizeBias(bias, inP.scale, perCh ? wq.scales : [wq.scales[0]]);
        if (qb.saturated) {
          // a float bias beside DQ'd input and weight is quantized by onnxruntime itself (see
          // README, known issues) without a range check, which wraps it: the bias goes to an Add
          const rank = n.opType === 'Gemm' ? 1 : Math.max(1, (g.values.get(n.inputs[1])?.constant?.shape.length ?? 3) - 1);
          const addB = freshName(g, `${bName}_add`, taken);
          addInitializer(g, addB, 'float32', rank === 1 ? c.shape.slice() : [bias.length, ...new Array<number>(rank - 1).fill(1)], f32Bytes(bias));
          biasAdd.set(i, addB);
          warnings.push(`Bias '${bName}' of '${n.name}' does not fit int32 at scale input x weight; it stays float, added after the ${n.opType}.`);
        } else {
          const qName = freshName(g, `${bName}_q`, taken);
          const sName = freshName(g, `${bName}_s`, taken);
          const out = freshName(g, `${bName}_dq`, taken);
          const pshape = perCh ? [qb.scales.length] : [];
          const bAxis = c.shape.length - 1;
          addInitializer(g, qName, 'int32', c.shape.slice(), quantizedToBytes(qb.data, 'int32'));
          addInitializer(g, sName, 'float32', pshape, f32Bytes(qb.scales));
          addValue(g, out, null, null);
          weightNodes.push(makeNode('DequantizeLinear', freshName(g, `${bName}_DQ`, taken), [qName, sName], [out], '', perCh ? { axis: bAxis } : {}));
          weights.push({ tensor: bName, node: n.name, type: 'int32', axis: perCh ? bAxis : null, scales: Array.from(qb.scales) });
          setInput(i, spec.bias, out);
        }
      }
    }
    for (const t of [...n.inputs, ...n.outputs]) if (params.has(t)) touched = true;
    if (!touched && !(FUSABLE_ACTIVATIONS.has(n.opType))) {
      leftFloat.push({ node: n.name, opType: n.opType, reason: 'none of its inputs or outputs could be quantized (non-float or no calibrated range)' });
      continue;
    }
    quantizedByOp[n.opType] = (quantizedByOp[n.opType] ?? 0) + 1;
    quantizedNodes.push(n.name);
  }

  // --- Q/DQ pairs on activations
  const dqName = new Map<string, string>();
  const qName = new Map<string, string>();
  const paramNames = new Map<string, [string, string]>(); // "type|scale|zp" -> initializers, shared
  const pairFor = (t: string): Node[] => {
    const p = params.get(t)!;
    const key = `${p.type}|${p.scale}|${p.zeroPoint}`;
    let names = paramNames.get(key);
    if (!names) {
      names = [freshName(g, `${t}_s`, taken), freshName(g, `${t}_zp`, taken)];
      addInitializer(g, names[0], 'float32', [], f32Bytes([p.scale]));
      addInitializer(g, names[1], p.type, [], zeroPointBytes([p.zeroPoint], p.type));
      paramNames.set(key, names);
    }
    const [sName, zName] = names;
    const qOut = freshName(g, `${t}_q`, taken);
    const dqOut = freshName(g, `${t}_dq`, taken);
    // no value_info for the new tensors: types follow from the ops, and it keeps files small
    addValue(g, qOut, null, null);
    addValue(g, dqOut, null, null);
    dqName.set(t, dqOut);
    qName.set(t, qOut);
    const dom = qdqDomain(p.type);
    return [
      makeNode('QuantizeLinear', freshName(g, `${t}_Q`, taken), [t, sName, zName], [qOut], dom),
      makeNode('DequantizeLinear', freshName(g, `${t}_DQ`, taken), [qOut, sName, zName], [dqOut], dom),
    ];
  };
  const readers = new Set<string>();
  for (const n of g.nodes) for (const x of n.inputs) if (x) readers.add(x);
  const origIn0 = g.nodes.map((n) => n.inputs[0] ?? '');
  const nodes: Node[] = [...weightNodes];
  for (const t of order) if (!producers.has(t) && params.has(t)) nodes.push(...pairFor(t));
  g.nodes.forEach((n, i) => {
    const own = rename.get(i);
    if (prec[i] !== 'skip') {
      n.inputs = n.inputs.map((x, k) => own?.get(k) ?? (x && params.has(x) ? (dqName.get(x) ?? x) : x));
    } else if (own) {
      n.inputs = n.inputs.map((x, k) => own.get(k) ?? x);
    }
    const in0 = origIn0[i];
    const p0 = params.get(in0);
    const pOut = params.get(n.outputs[0]);
    if (quantized(i) && OP_SPECS[n.opType].shareInputParams && INT_DATA_OPS.has(n.opType) && (n.opType !== 'MaxPool' || opset >= 12)
      && n.outputs.filter(Boolean).length === 1 && p0 && pOut && qName.has(in0) && p0.type === pOut.type && p0.scale === pOut.scale && p0.zeroPoint === pOut.zeroPoint
      && !(is16(p0.type) && n.opType === 'MaxPool')) { // MaxPool has 8-bit integer kernels only
      // Data movement / max on the integers themselves: Q(op(DQ(x_q))) with shared parameters is
      // op(x_q) exactly, so the op reads x_q and one DQ follows, under the tensor's own name.
      const out = n.outputs[0];
      const oq = freshName(g, `${out}_q`, taken);
      addValue(g, oq, null, null);
      n.inputs[0] = qName.get(in0)!;
      n.outputs[0] = oq;
      nodes.push(n);
      const [sName, zName] = paramNames.get(`${pOut.type}|${pOut.scale}|${pOut.zeroPoint}`)!;
      nodes.push(makeNode('DequantizeLinear', freshName(g, `${out}_DQ`, taken), [oq, sName, zName], [out], qdqDomain(pOut.type)));
      qName.set(out, oq);
      return;
    }
    nodes.push(n);
    const addB = biasAdd.get(i);
    if (addB) {
      const y = n.outputs[0];
      const raw = freshName(g, `${y}_nobias`, taken);
      addValue(g, raw, null, null);
      n.inputs = n.inputs.slice(0, 2);
      n.outputs = [raw, ...n.outputs.slice(1)];
      nodes.push(makeNode('Add', freshName(g, `${n.name}_bias_Add`, taken), [raw, addB], [y]));
    }
    // a tensor only the graph output reads needs no Q/DQ (nothing would read the DQ)
    for (const o of n.outputs) if (o && params.has(o) && readers.has(o)) nodes.push(...pairFor(o));
  });
  // DQs nobody reads (their consumers now read the integers) go
  const read = new Set<string>(g.outputs);
  for (const n of nodes) for (const x of n.inputs) if (x) read.add(x);
  g.nodes = nodes.filter((n) => !(n.nameSynthesised && n.opType === 'DequantizeLinear' && !read.has(n.outputs[0])));
  if (usedMs) ensureOpset(model, 'com.microsoft', 1);
  relink(g);
  return {
    quantizedByOp, quantizedNodes, leftFloat, warnings, usedMicrosoftDomain: usedMs,
    activations: [...params.values()], weights,
  };
}
