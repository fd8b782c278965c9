/**
 * Histograms of one layer for the results panel: its float weights with the grid the quantizer
 * stored them on, and its output activations over the calibration samples with the clipping range
 * of its output quantizer, plus the share of values each grid clips (on evaluation data too, when
 * given). The grids are read from the QDQ model the quantizer wrote (for a recipe, it is quantized
 * first: histogramSources.ts), so they are exactly what the quantizer picked. The activations come
 * from the float model as the quantizer pre-processed it, run with the layer's output as an extra
 * graph output (as per-layer error does), one sample at a time: a first pass finds the range, and
 * the values are binned from what it kept (up to keepBytes) or from a second pass.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph, type Model, type Node } from '../model';
import { inputSpecsFromModel, openCalibrationData, type ImagePreprocess } from '../data';
import { DataError } from '../data/errors';
import { writeOnnx } from '../formats/onnx';
import { readConstantValues } from '../tensor';
import { createSession, runSession, type OrtSession, type OrtSessionOptions } from '../runtime/ort';
import { sampleFeeds, withExtraOutputs } from '../quant/preprocess';
import type { CalibrationMethod, CalibrationResult } from '../quant/calibrators';
import type { Recipe } from '../quant/recipe';
import { cacheKey, hashFile, hashPath, ResultCache } from './cache';
import { checkAbort, openPair, type DataOptions } from './layers';
import { activationQuant, isQ, type QdqView, type QuantLayer } from './layersGraph';
import {
  BinCounter, clipShare, DEFAULT_HISTOGRAM_BINS, finiteRange, histogramDomain, quantGrid, withLines,
  type ClipShare, type HistogramBins, type QuantGrid,
} from './histogramBins';
import { analysedNode, quantizedForRecipe, recipeDataPath, type QuantizedSource } from './histogramSources';

export interface LayerHistogramsOptions {
  /** Samples the activation histogram is taken over (default: the recipe's calibration data). */
  data?: string;
  offset?: number;
  /** Samples to run (default: the recipe's calibration limit, else 200, as calibration). */
  limit?: number;
  scale?: '0-1' | '0-255';
  image?: ImagePreprocess;
  /** How to quantize (static QDQ); default static int8 calibrated on `data`. */
  recipe?: Recipe;
  /** Folder the recipe's relative paths resolve against. */
  baseDir?: string;
  /** An existing QDQ model of this float model whose grids are shown (instead of quantizing). */
  quantized?: string;
  /** Other data: the share of its values the activation grid clips. */
  evaluation?: DataOptions;
  /** Bins per histogram (default 128). */
  bins?: number;
  /** Results cache folder (also keeps the recipe's quantized model); none: no cache. */
  cacheDir?: string;
  threads?: number;
  /** Activation bytes kept between the pass that finds their range and the binning (default 64 MiB); beyond, the samples run again. */
  keepBytes?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; label: string }) => void;
}

/** One float weight (initializer) the layer reads, with the grid it is stored on. */
export interface WeightHistogram {
  /** Input index in the op (1: Conv / Gemm weight, 2: bias). */
  input: number;
  tensor: string;
  shape: number[];
  histogram: HistogramBins;
  /** Absent when the weight stays float. */
  grid?: QuantGrid;
  /** Share of the weight's values the grid clips. */
  clipped?: ClipShare;
}

/** The layer's output over the samples, with its output quantizer's grid. */
export interface ActivationHistogram {
  tensor: string;
  samples: number;
  histogram: HistogramBins;
  /** Absent when the output is not quantized on its own (fused into the next op, a model output, or the layer stays float). */
  grid?: QuantGrid;
  /** The range the calibrator found for the quantized tensor, before it became a grid (recipe runs). */
  calibrated?: { method: CalibrationMethod; tensor: string; min: number; max: number };
  /** Share of these samples' values the grid clips. */
  saturation?: ClipShare;
  /** The same on the evaluation data, when given. */
  evaluation?: ClipShare & { data: string; samples: number };
}

export interface LayerHistograms {
  /** The node asked for, and the node of the pre-processed model its tensors come from. */
  node: string;
  analysedNode: string;
  opType: string;
  /** Whether the quantized model quantizes this op (reads DQ'd inputs or is followed by Q / DQ). */
  quantized: boolean;
  /** Where the grids come from: the recipe's quantization, or the QDQ model given. */
  gridSource: 'recipe' | 'quantized-model';
  model: string;
  data: string;
  weights: WeightHistogram[];
  activation: ActivationHistogram;
  notes: string[];
  cached: boolean;
  timing: { totalMs: number; quantizeMs: number; inferenceMs: number };
}

const DEFAULT_SAMPLES = 200;
const KEEP_BYTES = 64 << 20;

/** Histograms of `nodeName`'s weights and activations in the float model at `modelPath`. */
export async function layerHistograms(modelPath: string, nodeName: string, opts: LayerHistogramsOptions): Promise<LayerHistograms> {
  const t0 = performance.now();
  const signal = opts.signal;
  const bins = opts.bins ?? DEFAULT_HISTOGRAM_BINS;
  if (!Number.isInteger(bins) || bins < 2 || bins > 4096) throw new ModelError('unsupported', `Histograms take 2 to 4096 bins (got ${bins}).`);
  const calData = opts.recipe ? recipeDataPath(opts.recipe, opts.baseDir) : undefined;
  const dataPath = opts.data ?? calData;
  if (!dataPath) throw new ModelError('unsupported', 'Layer histograms need data: give a data file or folder, or a recipe with calibration data.');
  const fromRecipe = !opts.data && !!calData;
  const data: DataOptions = {
    data: path.resolve(dataPath),
    offset: opts.offset ?? (fromRecipe ? opts.recipe?.calibration?.offset : undefined),
    limit: opts.limit ?? opts.recipe?.calibration?.limit ?? DEFAULT_SAMPLES,
    scale: opts.scale ?? (fromRecipe ? opts.recipe?.calibration?.scale : undefined),
    image: opts.image ?? (fromRecipe ? opts.recipe?.calibration?.image : undefined),
  };
  const recipe: Recipe = opts.recipe ?? { version: 1, mode: 'static', calibration: { data: data.data, offset: data.offset, limit: data.limit, scale: data.scale, image: data.image } };

  for (const [what, p] of [['data', data.data], ['model', modelPath], ['quantized model', opts.quantized], ['evaluation data', opts.evaluation?.data]] as const) {
    if (p !== undefined && !fs.existsSync(p)) throw new DataError('io', `The ${what} '${p}' does not exist.`, { file: p });
  }
  const cache = opts.cacheDir ? new ResultCache(opts.cacheDir) : undefined;
  const key = cache ? await keyOf(modelPath, nodeName, recipe, data, opts, bins) : '';
  const hit = cache?.get<LayerHistograms>('layer-histograms', key);
  if (hit) return { ...hit, cached: true };

  opts.onProgress?.({ done: 0, total: 0, label: opts.quantized ? 'reading the quantized model' : 'quantizing as the recipe says' });
  const source: QuantizedSource = opts.quantized
    ? { path: opts.quantized, dispose: () => undefined, quantizeMs: 0 }
    : await quantizedForRecipe(modelPath, recipe, { baseDir: opts.baseDir, cacheDir: opts.cacheDir, signal });
  try {
    checkAbort(signal, 'The histogram run');
    const { float, reference, view } = await openPair(modelPath, source.path);
    const { node, note } = analysedNode(float, reference, nodeName);
    const notes = note ? [note] : [];
    const layer = view.layers.find((l) => l.node === node.name && l.opType === node.opType);
    if (!layer) notes.push(`'${node.name}' stays float in this quantization: no grid to show.`);
    const weights = await weightHistograms(reference, node, view, layer, bins);

    const tensor = node.outputs[0];
    const grid = layer?.outputQuant ? await outputGrid(view, layer.outputQuant) : undefined;
    if (layer && !grid) notes.push(`The output of '${node.name}' is not quantized on its own (fused into the next op, or a model output): its values reach the next quantizer through that op.`);
    const so: OrtSessionOptions = { graphOptimizationLevel: 'basic', ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}) };
    const session = await createSession(writeOnnx(withExtraOutputs(reference, [tensor])), so, `the float model ${path.basename(modelPath)} (with '${tensor}' as an output)`);
    let inferenceMs = 0;
    let activation: ActivationHistogram;
    try {
      const pass = (d: DataOptions, label: string, each: (v: Float32Array) => void): Promise<number> =>
        runOver(session, float, d, tensor, signal, (ms) => { inferenceMs += ms; }, each, (done) => opts.onProgress?.({ done, total: d.limit ?? 0, label }));
      // first pass: the range (and the clipped share); the values are kept when they fit, else read again
      const kept: Float32Array[] = [];
      const keep = opts.keepBytes ?? KEEP_BYTES;
      let keptBytes = 0;
      let lo = Infinity;
      let hi = -Infinity;
      const sat = grid ? clipCounter(grid) : undefined;
      const samples = await pass(data, 'running the calibration samples', (v) => {
        const r = finiteRange([v]);
        if (r.min < lo) lo = r.min;
        if (r.max > hi) hi = r.max;
        sat?.add(v);
        keptBytes += v.byteLength;
        if (keptBytes <= keep) kept.push(v);
      });
      const counter = new BinCounter(...domainOf(lo, hi, grid, bins), bins);
      if (keptBytes <= keep) for (const v of kept) counter.add(v);
      else await pass(data, 'binning the activations', (v) => counter.add(v));
      const histogram = counter.result();
      activation = { tensor, samples, histogram };
      if (grid) {
        activation.grid = withLines(grid, histogram);
        activation.saturation = sat!.result();
        const calibrated = calibratedRange(view, layer!.outputQuant!, source.ranges);
        if (calibrated) activation.calibrated = calibrated;
        if (opts.evaluation) {
          const ev = clipCounter(grid);
          const n = await pass({ limit: DEFAULT_SAMPLES, ...opts.evaluation }, 'running the evaluation samples', (v) => ev.add(v));
          activation.evaluation = { ...ev.result(), data: path.resolve(opts.evaluation.data), samples: n };
        }
      } else if (opts.evaluation) notes.push('No output grid, so no saturation on the evaluation data.');
    } finally {
      await session.release().catch(() => undefined);
    }
    const result: LayerHistograms = {
      node: nodeName, analysedNode: node.name, opType: node.opType, quantized: !!layer, gridSource: opts.quantized ? 'quantized-model' : 'recipe',
      model: path.resolve(modelPath), data: data.data, weights, activation, notes, cached: false,
      timing: { totalMs: performance.now() - t0, quantizeMs: source.quantizeMs, inferenceMs },
    };
    checkAbort(signal, 'The histogram run');
    cache?.put('layer-histograms', key, result);
    return result;
  } finally {
    source.dispose();
  }
}

/** The clipped share of an activation grid, added to sample by sample. */
function clipCounter(grid: QuantGrid): { add: (v: Float32Array) => void; result: () => ClipShare } {
  let below = 0, above = 0, values = 0;
  return {
    add: (v) => { const c = clipShare(v, [v.length], grid); below += c.below; above += c.above; values += c.values; },
    result: () => ({ share: values ? (below + above) / values : NaN, below, above, values }),
  };
}

/**
 * Bins over the values, reaching out to the grid's edges when they are near (within the values'
 * span): a bias's int32 grid spans far more than its values and would leave every value in one bin.
 */
function domainOf(lo: number, hi: number, grid: QuantGrid | undefined, bins: number): [number, number] {
  const span = Number.isFinite(hi - lo) ? Math.max(hi - lo, Math.abs(hi), Math.abs(lo)) : Infinity;
  const near = grid && Number.isFinite(span)
    ? { low: grid.low >= lo - span ? grid.low : NaN, high: grid.high <= hi + span ? grid.high : NaN }
    : grid;
  const d = histogramDomain(lo, hi, near, bins);
  return [d.start, d.width];
}

/** The output quantizer's grid (a scalar scale and zero point). */
async function outputGrid(view: QdqView, q: { scale: string; zeroPoint?: string }): Promise<QuantGrid | undefined> {
  const a = await activationQuant(view.model, q);
  if (!a) return undefined;
  const dtype = q.zeroPoint ? mainGraph(view.model).values.get(q.zeroPoint)?.constant?.dtype ?? 'uint8' : 'uint8';
  return quantGrid(dtype, [a.scale], [a.zeroPoint], null);
}

/** The calibrator's range for the tensor a Q with these parameters quantizes (shared parameters: the first such Q's input). */
function calibratedRange(view: QdqView, q: { scale: string }, ranges: CalibrationResult | undefined): ActivationHistogram['calibrated'] {
  if (!ranges) return undefined;
  for (const n of mainGraph(view.model).nodes) {
    const r = isQ(n) && n.inputs[1] === q.scale ? ranges.tensors[n.inputs[0]] : undefined;
    if (r) return { method: ranges.method, tensor: n.inputs[0], min: r.min, max: r.max };
  }
  return undefined;
}

/** Every float initializer the node reads, with the grid of its stored version when the layer has one. */
async function weightHistograms(reference: Model, node: Node, view: QdqView, layer: QuantLayer | undefined, bins: number): Promise<WeightHistogram[]> {
  const g = mainGraph(reference);
  const gq = mainGraph(view.model);
  const out: WeightHistogram[] = [];
  for (let k = 0; k < node.inputs.length; k++) {
    const c = node.inputs[k] ? g.values.get(node.inputs[k])?.constant : undefined;
    if (!c || c.dtype !== 'float32') continue;
    const values = await readConstantValues(c);
    const slot = layer?.slots.find((s) => s.kind === 'weight' && s.index === k);
    const dq = slot && gq.nodes.find((n) => n.outputs[0] === slot.dequantized);
    const stored = slot && gq.values.get(slot.source)?.constant;
    const sc = dq && gq.values.get(dq.inputs[1])?.constant;
    const zc = dq?.inputs[2] ? gq.values.get(dq.inputs[2])?.constant : undefined;
    let grid: QuantGrid | undefined;
    if (dq && stored && sc) {
      const scales = await readConstantValues(sc);
      const axisAttr = dq.attributes.find((a) => a.name === 'axis');
      // DequantizeLinear's axis defaults to 1
      const axis = scales.length > 1 ? (axisAttr?.value.type === 'int' ? Number(axisAttr.value.value) : 1) : null;
      grid = quantGrid(stored.dtype, scales, zc ? await readConstantValues(zc) : undefined, axis);
    }
    const r = finiteRange([values]);
    const counter = new BinCounter(...domainOf(r.min, r.max, grid, bins), bins);
    counter.add(values);
    const histogram = counter.result();
    out.push({
      input: k, tensor: node.inputs[k], shape: c.shape.slice(), histogram,
      ...(grid ? { grid: withLines(grid, histogram), clipped: clipShare(values, c.shape, grid) } : {}),
    });
  }
  return out;
}

/**
 * Runs the data's samples through the session one by one and hands each one's `tensor` to `each`.
 * Returns the number of samples.
 */
async function runOver(
  session: OrtSession, model: Model, d: DataOptions, tensor: string, signal: AbortSignal | undefined,
  timed: (ms: number) => void, each: (v: Float32Array) => void, progress: (done: number) => void,
): Promise<number> {
  const src = await openCalibrationData(d.data, { inputs: inputSpecsFromModel(model), offset: d.offset, limit: d.limit, scale: d.scale, image: d.image });
  let n = 0;
  for await (const s of src) {
    checkAbort(signal, 'The histogram run');
    const t = performance.now();
    const out = await runSession(session, sampleFeeds(s), [tensor], 'the float model');
    timed(performance.now() - t);
    const v = out[tensor];
    if (v.type !== 'float32') throw new ModelError('unsupported', `'${tensor}' is ${v.type}, not float32: only float activations have a histogram.`);
    each(v.data as Float32Array);
    progress(++n);
    // let the caller's event loop turn between samples
    if (n % 8 === 0) await new Promise((r) => setImmediate(r));
  }
  if (!n) throw new DataError('no-data', `${src.source} gives no samples${d.offset ? ` after offset ${d.offset}` : ''}.`);
  return n;
}

/** What the result depends on: the bytes of the models and data, the recipe, the node and the options. */
async function keyOf(modelPath: string, node: string, recipe: Recipe, data: DataOptions, o: LayerHistogramsOptions, bins: number): Promise<string> {
  const cal = o.quantized ? undefined : recipeDataPath(recipe, o.baseDir);
  const ev = o.evaluation;
  return cacheKey({
    v: 1, model: await hashFile(modelPath), node, bins, quantized: o.quantized ? await hashFile(o.quantized) : null,
    recipe: o.quantized ? null : recipe, calibration: cal ? await hashPath(cal) : null,
    data: await hashPath(data.data), offset: data.offset ?? 0, limit: data.limit ?? null, scale: data.scale ?? null, image: data.image ?? null,
    evaluation: ev ? { data: await hashPath(ev.data), offset: ev.offset ?? 0, limit: ev.limit ?? null, scale: ev.scale ?? null, image: ev.image ?? null } : null,
  });
}
