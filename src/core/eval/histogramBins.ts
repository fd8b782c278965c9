/**
 * The numbers behind a layer's histograms: equal-width bins over a domain that holds both the
 * values and the quantizer's representable range (so the clipping edges fall inside the chart),
 * the quantization grid with the levels a chart can draw, and the share of values a grid clips.
 * Plain data only: the results panel draws these as they are.
 */
import { SaturationAccumulator, typeRange } from './layersStats';

/** Bins a histogram has unless asked otherwise: fine enough to show shape, coarse enough that int8 grid lines stay readable. */
export const DEFAULT_HISTOGRAM_BINS = 128;

/**
 * Counts of values in equal bins: bin i covers [start + i * width, start + (i + 1) * width); the
 * last bin also takes its right edge.
 */
export interface HistogramBins {
  start: number;
  width: number;
  counts: number[];
  /** Finite values counted. */
  values: number;
  /** NaN and infinities, left out of the bins. */
  nonFinite: number;
  /** Extremes of the finite values (NaN when there are none). */
  min: number;
  max: number;
}

/** A quantizer's grid: real = scale * (q - zeroPoint), q in [qmin, qmax]. */
export interface QuantGrid {
  /** Stored integer type (int8, uint8, int16, int4, int32 for biases, ...). */
  dtype: string;
  qmin: number;
  qmax: number;
  /** null: one scale for the whole tensor; else the axis with one scale per channel. */
  axis: number | null;
  scales: number[];
  zeroPoints: number[];
  /** The real interval represented, [scale (qmin - zp), scale (qmax - zp)]; per channel, the union over channels. */
  low: number;
  high: number;
  /** Per channel: each channel's own interval (absent per tensor). */
  channelLow?: number[];
  channelHigh?: number[];
  /** The grid step (the scale); per channel, the largest scale. */
  step: number;
  /** The smallest step (equal to `step` per tensor). */
  stepMin: number;
  /**
   * Grid levels inside the histogram's domain, when the step is wider than a bin and the grid is
   * per tensor (one grid to draw); empty otherwise.
   */
  lines: number[];
}

/** Values a grid clips: their rounded level falls outside [qmin, qmax]. */
export interface ClipShare {
  share: number;
  below: number;
  above: number;
  values: number;
}

/** Integer range of a stored type; int32 (biases) included. */
export function gridTypeRange(dtype: string): { qmin: number; qmax: number } | undefined {
  return dtype === 'int32' ? { qmin: -2147483648, qmax: 2147483647 } : typeRange(dtype);
}

/** The grid of stored parameters (missing zero points are 0); undefined for a type with no integer range. */
export function quantGrid(dtype: string, scales: ArrayLike<number>, zeroPoints: ArrayLike<number> | undefined, axis: number | null): QuantGrid | undefined {
  const r = gridTypeRange(dtype);
  if (!r || !scales.length) return undefined;
  const s = Array.from(scales);
  const z = s.map((_, c) => Number(zeroPoints?.[c] ?? 0));
  const lows = s.map((x, c) => x * (r.qmin - z[c]));
  const highs = s.map((x, c) => x * (r.qmax - z[c]));
  const perChannel = s.length > 1 || axis !== null;
  return {
    dtype, ...r, axis: perChannel ? axis ?? 0 : null, scales: s, zeroPoints: z,
    low: Math.min(...lows), high: Math.max(...highs),
    ...(perChannel ? { channelLow: lows, channelHigh: highs } : {}),
    step: Math.max(...s), stepMin: Math.min(...s), lines: [],
  };
}

/**
 * Bin edges for values in [min, max] and, when given, a grid's interval: the union of both,
 * split into `bins` equal bins. A single value gets a small interval around it.
 */
export function histogramDomain(min: number, max: number, grid: { low: number; high: number } | undefined, bins = DEFAULT_HISTOGRAM_BINS): { start: number; width: number } {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`A histogram needs a whole number of bins (got ${bins}).`);
  let lo = Math.min(Number.isFinite(min) ? min : Infinity, grid && Number.isFinite(grid.low) ? grid.low : Infinity);
  let hi = Math.max(Number.isFinite(max) ? max : -Infinity, grid && Number.isFinite(grid.high) ? grid.high : -Infinity);
  if (!(lo <= hi)) { lo = 0; hi = 1; }
  if (hi === lo) {
    const half = Math.max(Math.abs(lo), 1) * 1e-3;
    lo -= half;
    hi += half;
  }
  return { start: lo, width: (hi - lo) / bins };
}

/** Counts values into fixed bins, chunk by chunk (nothing kept but the counts). */
export class BinCounter {
  private readonly counts: Float64Array;
  private n = 0;
  private bad = 0;
  private lo = Infinity;
  private hi = -Infinity;
  constructor(readonly start: number, readonly width: number, readonly bins = DEFAULT_HISTOGRAM_BINS) {
    if (!(width > 0) || !Number.isFinite(start)) throw new RangeError(`Bins need a finite start and a positive width (got ${start}, ${width}).`);
    this.counts = new Float64Array(bins);
  }

  add(values: ArrayLike<number>): void {
    const { start, width, bins, counts } = this;
    let n = 0, bad = 0, lo = this.lo, hi = this.hi;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) { bad++; continue; }
      n++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      // values on the domain's right edge (or past it by rounding) go to the last bin
      const k = Math.floor((v - start) / width);
      counts[k < 0 ? 0 : k >= bins ? bins - 1 : k]++;
    }
    this.n += n;
    this.bad += bad;
    this.lo = lo;
    this.hi = hi;
  }

  result(): HistogramBins {
    return {
      start: this.start, width: this.width, counts: Array.from(this.counts), values: this.n, nonFinite: this.bad,
      min: this.n ? this.lo : NaN, max: this.n ? this.hi : NaN,
    };
  }
}

/** Extremes of the finite values of some chunks (NaN, NaN when none). */
export function finiteRange(chunks: Iterable<ArrayLike<number>>): { min: number; max: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      const v = c[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? { min: lo, max: hi } : { min: NaN, max: NaN };
}

/** The grid's levels inside [start, start + bins * width] when a step is wider than a bin (per-tensor grids). */
export function gridLines(grid: QuantGrid, start: number, width: number, bins: number): number[] {
  if (grid.axis !== null || !(grid.step > width)) return [];
  const s = grid.step;
  const z = grid.zeroPoints[0];
  const end = start + bins * width;
  const first = Math.max(grid.qmin, Math.ceil(start / s + z));
  const last = Math.min(grid.qmax, Math.floor(end / s + z));
  const out: number[] = [];
  for (let q = first; q <= last; q++) out.push(s * (q - z));
  return out;
}

/**
 * The share of a tensor's values its grid clips (QuantizeLinear's rounding, per channel along the
 * grid's axis of `shape` when it has one).
 */
export function clipShare(values: ArrayLike<number>, shape: readonly number[], grid: QuantGrid): ClipShare {
  const { qmin, qmax } = grid;
  const accs = grid.scales.map((scale, c) => new SaturationAccumulator({ scale, zeroPoint: grid.zeroPoints[c], qmin, qmax }));
  if (accs.length === 1) accs[0].add(values);
  else {
    const axis = grid.axis! < 0 ? grid.axis! + shape.length : grid.axis!;
    if (shape[axis] !== accs.length) throw new RangeError(`${accs.length} scales for axis ${axis} of a tensor shaped [${shape.join(', ')}]`);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const data = Float64Array.from(values);
    for (let off = 0, b = 0; off < data.length; off += inner, b++) accs[b % accs.length].add(data.subarray(off, off + inner));
  }
  const parts = accs.map((a) => a.result());
  const below = parts.reduce((a, p) => a + p.below, 0);
  const above = parts.reduce((a, p) => a + p.above, 0);
  const n = parts.reduce((a, p) => a + p.values, 0);
  return { share: n ? (below + above) / n : NaN, below, above, values: n };
}

/** A grid with the levels drawable over bins starting at `start`, `width` wide. */
export function withLines(grid: QuantGrid, bins: HistogramBins): QuantGrid {
  return { ...grid, lines: gridLines(grid, bins.start, bins.width, bins.counts.length) };
}
