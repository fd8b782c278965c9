/**
 * Per-layer error of a QDQ model against its float model, every layer in one pass: each model
 * runs in one onnxruntime session with the compared tensors as extra graph outputs, both on the
 * same samples, and the statistics are accumulated as outputs arrive (./layersStats.ts), never
 * kept. Layers are matched by node name (QuantLens keeps op names; Q/DQ nodes sit around them).
 * The float side is the float model folded as the quantizer folded it (BatchNorm into Conv, bias
 * Adds into Conv / Gemm), so a fused op has the same name, inputs and weights on both sides.
 * Sessions run at onnxruntime's 'basic' level: each quantizer computes as the ONNX Q/DQ operators
 * define it (no integer-kernel fusion), which is what the exposed tensors show anyway.
 */
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph, type Model, type Node } from '../model';
import { inputSpecsFromModel, openCalibrationData, type ImagePreprocess, type Sample } from '../data';
import { DataError } from '../data/errors';
import { writeOnnx } from '../formats/onnx';
import { readConstantValues } from '../tensor';
import { createSession, runSession, type OrtSession } from '../runtime/ort';
import { foldWithOrt, sampleFeeds, withExtraOutputs } from '../quant/preprocess';
import { AbortError } from '../quant/workers';
import { checkSameInputs, openOnnx } from './evaluate';
import { labelCursor, type Labels } from './labels';
import { activationQuant, qdqView, type QdqView, type QuantLayer } from './layersGraph';
import { dequantize, ErrorAccumulator, representableRange, SaturationAccumulator, type ErrorSummary } from './layersStats';

export interface DataOptions {
  data: string;
  offset?: number;
  limit?: number;
  scale?: '0-1' | '0-255';
  image?: ImagePreprocess;
}

export interface LayersOptions extends DataOptions {
  /** A saturation rate at or above this flags the layer (default 0.01: 1 % of values clipped). */
  saturationWarn?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total?: number }) => void;
}

export interface WeightError {
  input: number;
  /** The float weight (in the folded float model) and its stored integer version. */
  tensor: string;
  stored: string;
  error: ErrorSummary;
}

export interface Saturation {
  rate: number;
  below: number;
  above: number;
  values: number;
  /** The real interval the output quantizer represents. */
  range: { low: number; high: number };
  flagged: boolean;
}

export interface LayerError {
  node: string;
  opType: string;
  floatTensor: string;
  quantizedTensor: string;
  /** True when a Q/DQ pair follows the op (its dequantized output is compared); false when the op's output stays float (fused into the next op) and only its quantized inputs and weights show. */
  outputQuantized: boolean;
  activation: ErrorSummary;
  weights: WeightError[];
  /** Share of the float model's values of this tensor the output quantizer clips. */
  saturation?: Saturation;
  notes: string[];
}

export interface LayersReport {
  float: string;
  quantized: string;
  data: string;
  samples: number;
  layers: LayerError[];
  /** Quantized ops with no counterpart in the float model. */
  unmatched: { node: string; opType: string; reason: string }[];
  summary: {
    layers: number;
    /** Each model output, float against quantized. */
    outputs: { output: string; error: ErrorSummary }[];
    /** The five lowest activation SQNRs. */
    worst: { node: string; sqnrDb: number }[];
    /** Layers whose saturation rate reached saturationWarn. */
    saturated: { node: string; rate: number }[];
    saturationWarn: number;
  };
  warnings: string[];
  timing: { totalMs: number; inferenceMs: number };
}

const FLAG_MESSAGE = 'calibration data does not represent these inputs';

/** Throws AbortError when the signal fired. */
export function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} was cancelled`);
}

/**
 * The float model as the quantizer saw it: folded by onnxruntime unless the quantized model's
 * recipe turned folding off.
 */
export async function floatAsQuantized(float: Model, quantized: Model): Promise<Model> {
  let fold = true;
  try {
    const r = JSON.parse(quantized.metadata['quantlens.recipe'] ?? '{}') as { preprocess?: { fold?: boolean } };
    fold = r.preprocess?.fold !== false;
  } catch { /* not a QuantLens recipe: fold, as onnxruntime's quantizer pre-processing does */ }
  return fold ? (await foldWithOrt(float)).model : float;
}

/** Reads every sample the options select, with its label when labels are given (one clear message when there are none). */
export async function readSamples(model: Model, o: DataOptions, signal?: AbortSignal, labels?: Labels): Promise<{ samples: Sample[]; labels?: number[][] }> {
  const data = await openCalibrationData(o.data, { inputs: inputSpecsFromModel(model), offset: o.offset, limit: o.limit, scale: o.scale, image: o.image });
  const cursor = labels ? labelCursor(labels, data, Math.max(0, Math.floor(o.offset ?? 0))) : undefined;
  const samples: Sample[] = [];
  const got: number[][] = [];
  for await (const s of data) {
    samples.push(s);
    if (cursor) got.push(cursor.next());
    checkAbort(signal, 'The run');
  }
  if (!samples.length) throw new DataError('no-data', `${data.source} gives no samples${o.offset ? ` after offset ${o.offset}` : ''}.`);
  cursor?.finish(samples.length, o.limit === undefined || samples.length < o.limit);
  return { samples, ...(cursor ? { labels: got } : {}) };
}

/** Both models opened, inputs checked, the float side folded and the QDQ side made canonical. */
export async function openPair(floatPath: string, quantizedPath: string): Promise<{ float: Model; reference: Model; view: QdqView }> {
  const [float, quantized] = await Promise.all([openOnnx(floatPath), openOnnx(quantizedPath)]);
  checkSameInputs(inputSpecsFromModel(float), inputSpecsFromModel(quantized), quantizedPath);
  const view = qdqView(quantized, `The quantized model ${quantizedPath}`);
  return { float, reference: await floatAsQuantized(float, quantized), view };
}

async function floatWeight(ref: Model, n: Node | undefined, index: number): Promise<{ name: string; values: number[] } | undefined> {
  const name = n?.inputs[index];
  const c = name ? mainGraph(ref).values.get(name)?.constant : undefined;
  return c && c.dtype === 'float32' ? { name: name!, values: await readConstantValues(c) } : undefined;
}

/** The weight error of a layer's stored weights, against the float model's. */
async function weightErrors(view: QdqView, ref: Model, layer: QuantLayer, refNode: Node | undefined): Promise<WeightError[]> {
  const g = mainGraph(view.model);
  const out: WeightError[] = [];
  for (const s of layer.slots.filter((x) => x.kind === 'weight')) {
    const f = await floatWeight(ref, refNode, s.index);
    const dq = g.nodes.find((n) => n.outputs[0] === s.dequantized)!;
    const c = g.values.get(s.source)!.constant!;
    const scale = g.values.get(dq.inputs[1])?.constant;
    const zp = dq.inputs[2] ? g.values.get(dq.inputs[2])?.constant : undefined;
    if (!f || !scale) continue;
    const axisAttr = dq.attributes.find((a) => a.name === 'axis');
    const axis = axisAttr && axisAttr.value.type === 'int' ? Number(axisAttr.value.value) : 1;
    const values = dequantize(await readConstantValues(c), c.shape, await readConstantValues(scale), zp ? await readConstantValues(zp) : undefined, axis);
    if (values.length !== f.values.length) continue;
    const acc = new ErrorAccumulator();
    acc.add(f.values, values);
    out.push({ input: s.index, tensor: f.name, stored: s.source, error: acc.result() });
  }
  return out;
}

/** Per-layer error of `quantizedPath` (QDQ) against `floatPath` on the data. */
export async function layerErrors(floatPath: string, quantizedPath: string, opts: LayersOptions): Promise<LayersReport> {
  const t0 = performance.now();
  const signal = opts.signal;
  const warn = opts.saturationWarn ?? 0.01;
  const { float, reference, view } = await openPair(floatPath, quantizedPath);
  const refNodes = new Map(mainGraph(reference).nodes.map((n) => [n.name, n]));
  const unmatched: LayersReport['unmatched'] = [];
  const matched: { layer: QuantLayer; floatTensor: string; refNode: Node }[] = [];
  for (const l of view.layers) {
    const rn = refNodes.get(l.node);
    if (!rn) unmatched.push({ node: l.node, opType: l.opType, reason: 'no node of this name in the float model' });
    else if (rn.opType !== l.opType) unmatched.push({ node: l.node, opType: l.opType, reason: `the float model's node of this name is a ${rn.opType}` });
    else matched.push({ layer: l, floatTensor: rn.outputs[0], refNode: rn });
  }
  if (!matched.length) throw new ModelError('unsupported', `No quantized op of ${quantizedPath} has a node of the same name in ${floatPath}: is it the model it was quantized from?`);
  const qTensor = (l: QuantLayer): string => l.outputDequantized ?? l.output;
  const gf = mainGraph(reference);
  const gq = mainGraph(view.model);
  const outPairs = gf.outputs.map((o, i) => [o, gq.outputs.includes(o) ? o : gq.outputs[i]] as const).filter((p) => p[1]);
  const fNames = [...new Set([...matched.map((m) => m.floatTensor), ...outPairs.map((p) => p[0])])];
  const qNames = [...new Set([...matched.map((m) => qTensor(m.layer)), ...outPairs.map((p) => p[1])])];

  const { samples } = await readSamples(float, opts, signal);
  const acts = matched.map(() => new ErrorAccumulator());
  const outs = outPairs.map(() => new ErrorAccumulator());
  const sats = await Promise.all(matched.map(async (m) => {
    const q = m.layer.outputQuant && await activationQuant(view.model, m.layer.outputQuant);
    return q ? new SaturationAccumulator(q) : undefined;
  }));
  const so = { graphOptimizationLevel: 'basic' as const, ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}) };
  const sessions: OrtSession[] = [];
  let inferenceMs = 0;
  try {
    sessions.push(await createSession(writeOnnx(withExtraOutputs(reference, fNames)), so, `the float model ${path.basename(floatPath)} (with layer outputs)`));
    sessions.push(await createSession(writeOnnx(withExtraOutputs(view.model, qNames)), so, `the quantized model ${path.basename(quantizedPath)} (with layer outputs)`));
    for (let i = 0; i < samples.length; i++) {
      checkAbort(signal, 'The per-layer run');
      const feeds = sampleFeeds(samples[i]);
      const t = performance.now();
      const fo = await runSession(sessions[0], feeds, fNames, 'the float model');
      const qo = await runSession(sessions[1], feeds, qNames, 'the quantized model');
      inferenceMs += performance.now() - t;
      matched.forEach((m, k) => {
        const f = fo[m.floatTensor].data as Float32Array;
        const q = qo[qTensor(m.layer)].data as Float32Array;
        if (f.length !== q.length) throw new ModelError('unsupported', `Layer '${m.layer.node}' gives ${q.length} values in the quantized model but ${f.length} in the float one.`);
        acts[k].add(f, q);
        sats[k]?.add(f);
      });
      outPairs.forEach(([a, b], k) => outs[k].add(fo[a].data as Float32Array, qo[b].data as Float32Array));
      opts.onProgress?.({ done: i + 1, total: samples.length });
      // let the caller's event loop turn between samples
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }

  const layers: LayerError[] = [];
  for (let k = 0; k < matched.length; k++) {
    const { layer, floatTensor, refNode } = matched[k];
    const notes: string[] = [];
    const s = sats[k]?.result();
    const saturation = s && sats[k] ? { ...s, range: representableRange(sats[k]!.quant), flagged: s.rate >= warn } : undefined;
    if (saturation?.flagged) notes.push(`${(100 * saturation.rate).toFixed(2)} % of values fall outside the calibrated range: ${FLAG_MESSAGE}`);
    if (!layer.outputDequantized) notes.push('its output is not quantized on its own (fused into the next op, or a model output): the error shown is that of its quantized inputs and weights');
    layers.push({
      node: layer.node, opType: layer.opType, floatTensor, quantizedTensor: qTensor(layer), outputQuantized: !!layer.outputDequantized,
      activation: acts[k].result(), weights: await weightErrors(view, reference, layer, refNode), ...(saturation ? { saturation } : {}), notes,
    });
  }
  const warnings: string[] = [];
  const saturated = layers.filter((l) => l.saturation?.flagged).map((l) => ({ node: l.node, rate: l.saturation!.rate }));
  if (saturated.length) warnings.push(`${saturated.length} layer(s) clip at least ${(100 * warn).toFixed(1)} % of their values: ${FLAG_MESSAGE}. Calibrate on data like these samples.`);
  if (unmatched.length) warnings.push(`${unmatched.length} quantized op(s) have no counterpart in the float model and are left out.`);
  return {
    float: path.resolve(floatPath), quantized: path.resolve(quantizedPath), data: path.resolve(opts.data), samples: samples.length, layers, unmatched,
    summary: {
      layers: layers.length,
      outputs: outPairs.map(([o], k) => ({ output: o, error: outs[k].result() })),
      worst: [...layers].sort((a, b) => a.activation.sqnrDb - b.activation.sqnrDb).slice(0, 5).map((l) => ({ node: l.node, sqnrDb: l.activation.sqnrDb })),
      saturated, saturationWarn: warn,
    },
    warnings, timing: { totalMs: performance.now() - t0, inferenceMs },
  };
}


