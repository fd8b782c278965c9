/**
 * Calibrators: they consume batches of float tensors (activations captured while running
 * calibration data through the model) and produce a float range per tensor, from which
 * math.computeScaleZeroPoint derives scale and zero point.
 *
 *  - minmax:     the observed min and max; optionally an exponential moving average of the
 *                per-batch extremes (onnxruntime's moving_average / averaging_constant).
 *  - percentile: clips the tails of the histogram at a percentile (default 99.999, symmetric on
 *                |x| by default, as onnxruntime). Interpolated inside the bin.
 *  - entropy:    the threshold whose clipped, 128-level quantized histogram has the smallest KL
 *                divergence from the original (TensorRT's method).
 *  - mse:        the clipping range with the smallest expected quantize-dequantize squared
 *                error for the target type, on the histogram.
 *
 * Memory is bounded: minmax keeps two numbers per tensor, the others one fixed-size histogram
 * per tensor (see histogram.ts). Batches are not kept. The histogram and search work can run
 * in worker threads through a StatsEngine (workers.ts).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { Histogram } from './histogram';
import { isQuantType, qRange, saturationRange, type QuantType } from './math';
import { inThreadEngine, type StatsEngine } from './workers';
import { entropyKernel, mseSearchKernel } from './kernels';

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];

export interface CalibrationOptions {
  method: CalibrationMethod;
  /**
   * Symmetric ranges [-T, T]. minmax: default false; percentile: default true (onnxruntime);
   * mse: the target quantization is symmetric (default false); entropy: always symmetric.
   */
  symmetric?: boolean;
  /** minmax: exponential moving average of per-batch min / max instead of global extremes. */
  movingAverage?: boolean;
  /** minmax: smoothing factor of the moving average, in [0, 1]. Default 0.01 (onnxruntime). */
  averagingConstant?: number;
  /** percentile: in (0, 100]. Default 99.999. */
  percentile?: number;
  /** Histogram bins per tensor. Default 2048. */
  numBins?: number;
  /** entropy: levels of the candidate quantization. Default 128 (int8 magnitudes). */
  numQuantizedBins?: number;
  /** entropy: 1 tries every threshold; n > 1 every n-th, then refines; 0 (default) picks n for ~256 tries. */
  entropyStride?: number;
  /** mse: target type and mode of the quantization whose error is minimised. Default int8. */
  quantType?: QuantType;
  /** mse: onnxruntime's reduce_range for the target type. */
  reduceRange?: boolean;
  /** mse: candidates per search pass (a coarse grid, then as many again around the best). Default 64. */
  mseSteps?: number;
  /** Where kernels run. Default: this thread. */
  engine?: StatsEngine;
}

/** Options as recorded in the result (engine dropped, defaults filled in). */
export type ResolvedCalibrationOptions = Omit<CalibrationOptions, 'engine' | 'symmetric'> & { symmetric: boolean };

export interface TensorRange {
  /** The calibrated range to quantize with. */
  min: number;
  max: number;
  /** The observed extremes (min <= dataMin or clipping happened when min > dataMin). */
  dataMin: number;
  dataMax: number;
  /**
   * Finite values seen. When onnxruntime reduces a tensor to its extremes (MinMax calibration),
   * those two per run are what is seen.
   */
  count: number;
  /** NaN / Infinity values seen and ignored. */
  nonFinite: number;
  /** Batches seen. */
  batches: number;
  /** entropy: KL divergence at the chosen threshold; mse: expected squared error. */
  score?: number;
  /** Histogram of the tensor when requested (occupied bins only). */
  histogram?: { start: number; width: number; counts: number[] };
}

export interface CalibrationResult {
  version: 1;
  method: CalibrationMethod;
  options: ResolvedCalibrationOptions;
  tensors: Record<string, TensorRange>;
}

/** A float tensor of one batch: its data (and optionally its shape, which is not needed). */
export type FloatBatch = Float32Array | Float64Array | { data: Float32Array | Float64Array; shape?: readonly number[] };

export interface Calibrator {
  readonly method: CalibrationMethod;
  readonly options: ResolvedCalibrationOptions;
  /**
   * Adds one batch of tensors (name -> data). Calls are serialised internally; await each one
   * (or the last) before compute(). The arrays are not kept. With `transfer`, whole arrays may be
   * moved to a worker thread without a copy: the caller must not read them afterwards.
   */
  collect(batch: Record<string, FloatBatch>, opts?: { signal?: AbortSignal; transfer?: boolean }): Promise<void>;
  /** Ranges for every tensor seen so far (in this thread). */
  compute(opts?: { includeHistograms?: boolean }): CalibrationResult;
  /** Like compute(), with the threshold searches run through the engine (workers). */
  computeAsync(opts?: { includeHistograms?: boolean; signal?: AbortSignal }): Promise<CalibrationResult>;
  /** Tensor names seen, in first-seen order. */
  names(): string[];
  /** The histogram of a tensor (histogram methods only). */
  histogram(name: string): Histogram | undefined;
}

function dataOf(b: FloatBatch): Float32Array | Float64Array {
  if (b instanceof Float32Array || b instanceof Float64Array) return b;
  if (b && (b.data instanceof Float32Array || b.data instanceof Float64Array)) return b.data;
  throw new TypeError('A calibration batch must be a Float32Array or Float64Array (or {data, shape})');
}

function resolve(opts: CalibrationOptions): ResolvedCalibrationOptions {
  const m = opts.method;
  if (!CALIBRATION_METHODS.includes(m)) {
    throw new RangeError(`Unknown calibration method "${String(m)}" (use ${CALIBRATION_METHODS.join(', ')})`);
  }
  const numBins = opts.numBins ?? 2048;
  if (m !== 'minmax' && (!Number.isInteger(numBins) || numBins < 16 || numBins > 1 << 20)) {
    throw new RangeError(`numBins must be an integer in [16, 1048576], got ${numBins}`);
  }
  switch (m) {
    case 'minmax': {
      const c = opts.averagingConstant ?? 0.01;
      if (opts.movingAverage && !(c >= 0 && c <= 1)) throw new RangeError(`averagingConstant must be in [0, 1], got ${c}`);
      return { method: m, symmetric: !!opts.symmetric, movingAverage: !!opts.movingAverage, ...(opts.movingAverage ? { averagingConstant: c } : {}) };
    }
    case 'percentile': {
      const p = opts.percentile ?? 99.999;
      if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
      return { method: m, symmetric: opts.symmetric ?? true, percentile: p, numBins };
    }
    case 'entropy': {
      const nq = opts.numQuantizedBins ?? 128;
      if (!Number.isInteger(nq) || nq < 2) throw new RangeError(`numQuantizedBins must be an integer >= 2, got ${nq}`);
      return { method: m, symmetric: true, numBins, numQuantizedBins: nq, entropyStride: Math.max(0, Math.floor(opts.entropyStride ?? 0)) };
    }
    case 'mse': {
      const t = opts.quantType ?? 'int8';
      if (!isQuantType(t)) throw new RangeError(`Unknown quantization type "${String(t)}"`);
      return {
        method: m, symmetric: !!opts.symmetric, numBins, quantType: t,
        reduceRange: !!opts.reduceRange, mseSteps: Math.max(8, Math.floor(opts.mseSteps ?? 64)),
      };
    }
  }
}

interface MinMaxState {
  min: number;
  max: number;
  dataMin: number;
  dataMax: number;
  count: number;
  nonFinite: number;
  batches: number;
}

interface HistState {
  hist: Histogram;
  batches: number;
}

/** Creates a calibrator for a method. */
export function createCalibrator(options: CalibrationOptions): Calibrator {
  const opts = resolve(options);
  const engine = options.engine ?? inThreadEngine;
  return opts.method === 'minmax' ? new MinMaxCalibrator(opts, engine) : new HistogramCalibrator(opts, engine);
}

abstract class BaseCalibrator implements Calibrator {
  private chain: Promise<void> = Promise.resolve();
  protected readonly order: string[] = [];

  constructor(readonly options: ResolvedCalibrationOptions, protected readonly engine: StatsEngine) {}

  get method(): CalibrationMethod {
    return this.options.method;
  }

  collect(batch: Record<string, FloatBatch>, opts: { signal?: AbortSignal; transfer?: boolean } = {}): Promise<void> {
    // validate now, so a bad call fails at its own await
    const entries = Object.entries(batch).map(([name, b]) => [name, dataOf(b)] as const);
    const run = this.chain.then(() => this.collectEntries(entries, opts.signal, !!opts.transfer));
    this.chain = run.catch(() => undefined);
    return run;
  }

  protected abstract collectEntries(entries: (readonly [string, Float32Array | Float64Array])[], signal?: AbortSignal, transfer?: boolean): Promise<void>;

  abstract compute(opts?: { includeHistograms?: boolean }): CalibrationResult;

  async computeAsync(opts: { includeHistograms?: boolean; signal?: AbortSignal } = {}): Promise<CalibrationResult> {
    await this.drain();
    return this.compute(opts);
  }

  /** Resolves when every batch passed to collect() so far has been merged. */
  protected drain(): Promise<void> {
    return this.chain;
  }

  names(): string[] {
    return this.order.slice();
  }

  histogram(_name: string): Histogram | undefined {
    return undefined;
  }

  protected result(tensors: Record<string, TensorRange>): CalibrationResult {
    return { version: 1, method: this.options.method, options: { ...this.options }, tensors };
  }
}

class MinMaxCalibrator extends BaseCalibrator {
  private readonly state = new Map<string, MinMaxState>();

  protected async collectEntries(entries: (readonly [string, Float32Array | Float64Array])[], signal?: AbortSignal): Promise<void> {
    const results = await Promise.all(entries.map(([, d]) => this.engine.run('minMax', [d], { signal })));
    const ma = this.options.movingAverage;
    const c = this.options.averagingConstant ?? 0.01;
    entries.forEach(([name], i) => {
      const r = results[i];
      let s = this.state.get(name);
      if (!s) {
        s = { min: NaN, max: NaN, dataMin: Infinity, dataMax: -Infinity, count: 0, nonFinite: 0, batches: 0 };
        this.state.set(name, s);
        this.order.push(name);
      }
      s.batches++;
      s.nonFinite += r.nonFinite;
      if (r.count === 0) return;
      s.count += r.count;
      s.dataMin = Math.min(s.dataMin, r.min);
      s.dataMax = Math.max(s.dataMax, r.max);
      if (Number.isNaN(s.min)) {
        s.min = r.min;
        s.max = r.max;
      } else if (ma) {
        s.min += c * (r.min - s.min);
        s.max += c * (r.max - s.max);
      } else {
        s.min = Math.min(s.min, r.min);
        s.max = Math.max(s.max, r.max);
      }
    });
  }

  compute(): CalibrationResult {
    const tensors: Record<string, TensorRange> = {};
    for (const name of this.order) {
      const s = this.state.get(name)!;
      let min = Number.isNaN(s.min) ? 0 : s.min;
      let max = Number.isNaN(s.max) ? 0 : s.max;
      if (this.options.symmetric) {
        const a = Math.max(Math.abs(min), Math.abs(max));
        min = -a;
        max = a;
      }
      tensors[name] = {
        min, max,
        dataMin: s.count ? s.dataMin : 0, dataMax: s.count ? s.dataMax : 0,
        count: s.count, nonFinite: s.nonFinite, batches: s.batches,
      };
    }
    return this.result(tensors);
  }
}

class HistogramCalibrator extends BaseCalibrator {
  private readonly state = new Map<string, HistState>();

  protected async collectEntries(entries: (readonly [string, Float32Array | Float64Array])[], signal?: AbortSignal, transfer = false): Promise<void> {
    const numBins = this.options.numBins ?? 2048;
    const states = entries.map(([name]) => {
      let s = this.state.get(name);
      if (!s) {
        s = { hist: new Histogram(numBins), batches: 0 };
        this.state.set(name, s);
        this.order.push(name);
      }
      return s;
    });
    // one kernel call for the whole batch: a pool gets one message, not one per tensor
    const grids = new Float64Array(2 * entries.length);
    states.forEach((st, i) => { const g = st.hist.grid(); grids[2 * i] = g.w0; grids[2 * i + 1] = g.M; });
    const parts = await this.engine.run('histograms', [entries.map(([, d]) => d), grids, numBins], { signal, transferable: transfer });
    parts.forEach((p, i) => {
      states[i].hist.merge(p);
      states[i].batches++;
    });
  }

  override histogram(name: string): Histogram | undefined {
    return this.state.get(name)?.hist;
  }

  compute(opts: { includeHistograms?: boolean } = {}): CalibrationResult {
    const tensors: Record<string, TensorRange> = {};
    for (const name of this.order) tensors[name] = this.rangeOf(this.state.get(name)!, opts.includeHistograms, undefined);
    return this.result(tensors);
  }

  override async computeAsync(opts: { includeHistograms?: boolean; signal?: AbortSignal } = {}): Promise<CalibrationResult> {
    await this.drain();
    const entries = await Promise.all(this.order.map(async (name) => {
      const st = this.state.get(name)!;
      const search = await this.searchAsync(st.hist, opts.signal);
      return [name, this.rangeOf(st, opts.includeHistograms, search)] as const;
    }));
    return this.result(Object.fromEntries(entries));
  }

  private searchAsync(h: Histogram, signal?: AbortSignal): Promise<{ min: number; max: number; score?: number } | undefined> {
    const o = this.options;
    if (o.method === 'entropy') {
      if (!h.raw()) return Promise.resolve(undefined);
      const abs = h.absCounts();
      return this.engine.run('entropy', [abs, o.numQuantizedBins!, o.entropyStride!], { signal })
        .then((r) => entropyRange(h, r.bins, r.kl));
    }
    if (o.method === 'mse') {
      const raw = h.raw();
      if (!raw) return Promise.resolve(undefined);
      const a = mseArgs(h, o);
      return this.engine.run('mseSearch', a, { signal }).then((r) => ({ min: r.min, max: r.max, score: r.mse }));
    }
    return Promise.resolve(undefined);
  }

  private rangeOf(st: HistState, withHist: boolean | undefined, pre: { min: number; max: number; score?: number } | undefined): TensorRange {
    const h = st.hist;
    const base = {
      dataMin: h.total ? h.min : 0, dataMax: h.total ? h.max : 0,
      count: h.total, nonFinite: h.nonFinite, batches: st.batches,
    };
    let r: { min: number; max: number; score?: number };
    if (!h.total) r = { min: 0, max: 0 };
    else if (pre) r = pre;
    else r = this.search(h);
    const out: TensorRange = { min: r.min, max: r.max, ...base };
    if (r.score !== undefined) out.score = r.score;
    if (withHist) {
      const j = h.toJSON();
      if (j) out.histogram = { start: j.start, width: j.width, counts: j.counts };
    }
    return out;
  }

  private search(h: Histogram): { min: number; max: number; score?: number } {
    const o = this.options;
    switch (o.method) {
      case 'percentile':
        return percentileRange(h, o.percentile!, o.symmetric);
      case 'entropy': {
        if (!h.raw()) return { min: h.min, max: h.max };
        const r = entropyKernel(h.absCounts(), o.numQuantizedBins!, o.entropyStride!);
        return entropyRange(h, r.bins, r.kl);
      }
      case 'mse': {
        if (!h.raw()) return { min: h.min, max: h.max };
        const r = mseSearchKernel(...mseArgs(h, o));
        return { min: r.min, max: r.max, score: r.mse };
      }
      default:
        return { min: h.min, max: h.max };
    }
  }
}

function mseArgs(h: Histogram, o: ResolvedCalibrationOptions): Parameters<typeof mseSearchKernel> {
  const raw = h.raw()!;
  const t = o.quantType ?? 'int8';
  const q = qRange(t, { symmetric: o.symmetric, reduceRange: o.reduceRange });
  const sat = saturationRange(t);
  return [raw.counts, raw.kOff, raw.width, h.min, h.max, q.qmin, q.qmax, sat.qmin, sat.qmax, o.symmetric, o.mseSteps ?? 64];
}

/** Entropy threshold bins -> range: [-T, T] clipped to the data. */
function entropyRange(h: Histogram, bins: number, kl: number): { min: number; max: number; score: number } {
  const T = bins * h.width;
  return { min: Math.max(-T, h.min), max: Math.min(T, h.max), score: kl };
}

/**
 * Percentile range of a histogram, interpolated linearly inside the bin where the cumulative
 * count crosses the target. Symmetric: T = the percentile of |x|, range [-T, T]; otherwise
 * (100 - p)/2 percent is cut from each tail. Always clipped to the observed [min, max].
 */
export function percentileRange(h: Histogram, percentile: number, symmetric: boolean): { min: number; max: number } {
  if (!h.total) return { min: 0, max: 0 };
  const raw = h.raw();
  if (!raw) return { min: h.min, max: h.max };
  const w = raw.width;
  const clip = (lo: number, hi: number) => ({ min: Math.max(lo, h.min), max: Math.min(hi, h.max) });
  if (symmetric) {
    const abs = h.absCounts();
    const T = quantileOf(abs, 0, w, (h.total * percentile) / 100);
    return clip(-T, T);
  }
  const cut = (h.total * (100 - percentile)) / 200;
  const lo = quantileOf(raw.counts, raw.kOff * w, w, cut);
  const hi = quantileOf(raw.counts, raw.kOff * w, w, h.total - cut);
  return clip(lo, hi);
}

/** The value below which `target` of the counts lie (bins of width w starting at `start`). */
function quantileOf(counts: Float64Array, start: number, w: number, target: number): number {
  let cum = 0;
  let last = -1;
  for (let s = 0; s < counts.length; s++) {
    const c = counts[s];
    if (c === 0) continue;
    if (cum + c >= target) {
      const f = c > 0 ? Math.max(0, Math.min(1, (target - cum) / c)) : 1;
      return start + (s + f) * w;
    }
    cum += c;
    last = s;
  }
  return start + (last + 1) * w;
}

// ---------------------------------------------------------------------------------------------
// JSON form of the ranges

export const RANGES_FORMAT_VERSION = 1;

/** The ranges as pretty JSON (`{version, method, options, tensors: {name: {min, max, ...}}}`). */
export function rangesToJson(result: CalibrationResult): string {
  return JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}

function corrupt(source: string, msg: string): ModelError {
  return new ModelError('corrupt', `Calibration ranges ${source}: ${msg}`);
}

/** Parses and checks ranges JSON. Throws ModelError('corrupt') naming the problem. */
export function parseRanges(text: string, source = '(text)'): CalibrationResult {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw corrupt(source, `not valid JSON (${(e as Error).message})`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw corrupt(source, 'the top level must be an object');
  const o = j as Record<string, unknown>;
  if (o.version !== RANGES_FORMAT_VERSION) throw corrupt(source, `unsupported version ${JSON.stringify(o.version)} (expected ${RANGES_FORMAT_VERSION})`);
  if (!CALIBRATION_METHODS.includes(o.method as CalibrationMethod)) throw corrupt(source, `unknown method ${JSON.stringify(o.method)}`);
  if (!o.tensors || typeof o.tensors !== 'object' || Array.isArray(o.tensors)) throw corrupt(source, '"tensors" must be an object of name -> {min, max}');
  const tensors: Record<string, TensorRange> = {};
  for (const [name, v] of Object.entries(o.tensors as Record<string, unknown>)) {
    if (!v || typeof v !== 'object') throw corrupt(source, `tensor "${name}" must be an object with min and max`);
    const t = v as Record<string, unknown>;
    const num = (k: string, required: boolean, dflt: number): number => {
      const x = t[k];
      if (x === undefined && !required) return dflt;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw corrupt(source, `tensor "${name}": "${k}" must be a finite number, got ${JSON.stringify(x)}`);
      return x;
    };
    const min = num('min', true, 0);
    const max = num('max', true, 0);
    if (min > max) throw corrupt(source, `tensor "${name}": min ${min} is above max ${max}`);
    const r: TensorRange = {
      min, max,
      dataMin: num('dataMin', false, min), dataMax: num('dataMax', false, max),
      count: num('count', false, 0), nonFinite: num('nonFinite', false, 0), batches: num('batches', false, 0),
    };
    if (t.score !== undefined) r.score = typeof t.score === 'number' ? t.score : Number(t.score);
    if (t.histogram !== undefined) {
      const hh = t.histogram as Record<string, unknown>;
      if (!hh || typeof hh.start !== 'number' || typeof hh.width !== 'number' || !Array.isArray(hh.counts)) {
        throw corrupt(source, `tensor "${name}": histogram must be {start, width, counts[]}`);
      }
      r.histogram = { start: hh.start, width: hh.width, counts: (hh.counts as unknown[]).map(Number) };
    }
    tensors[name] = r;
  }
  const options = (o.options && typeof o.options === 'object' ? o.options : { method: o.method }) as ResolvedCalibrationOptions;
  return { version: 1, method: o.method as CalibrationMethod, options: { ...options, method: o.method as CalibrationMethod }, tensors };
}

/** Writes ranges JSON atomically (temporary file, then rename). */
export async function saveRanges(file: string, result: CalibrationResult): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fsp.writeFile(tmp, rangesToJson(result), { flag: 'wx' });
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new ModelError('io', `Could not write calibration ranges to ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads ranges JSON written by saveRanges (or by hand). */
export async function loadRanges(file: string): Promise<CalibrationResult> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new ModelError('io', `Could not read calibration ranges ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseRanges(text, file);
}
