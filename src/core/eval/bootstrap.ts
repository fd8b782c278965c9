/**
 * Paired bootstrap confidence intervals (percentile method). A resample draws n sample indices
 * with replacement and is passed to the statistic as counts per sample (weights), so a paired
 * statistic (a float-minus-quantized delta) sees the float and the quantized result of the same
 * samples. Seeded: the same data, resample count and seed give the same interval.
 */
import { mulberry32 } from '../random';

export interface Interval {
  low: number;
  high: number;
  /** Coverage asked for, e.g. 0.95. */
  level: number;
  resamples: number;
  seed: number;
}

export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Two-sided coverage (default 0.95). */
  level?: number;
  /** PRNG seed (default 1). */
  seed?: number;
}

/** The p-quantile (0..1) of ascending `sorted`, interpolating linearly between order statistics (R type 7, numpy's default). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Fills `counts` (length n) with how often each index is drawn in n uniform draws. */
export function resampleCounts(rnd: () => number, counts: Uint32Array): Uint32Array {
  const n = counts.length;
  counts.fill(0);
  for (let j = 0; j < n; j++) counts[Math.floor(rnd() * n)]++;
  return counts;
}

/**
 * The bootstrap distribution of `statistic` over n samples: one value per resample, ascending
 * (resamples where the statistic is NaN are left out).
 */
export function bootstrapDistribution(n: number, statistic: (weights: Uint32Array) => number, opts: BootstrapOptions = {}): Float64Array {
  const resamples = opts.resamples ?? 2000;
  const rnd = mulberry32(opts.seed ?? 1);
  const counts = new Uint32Array(n);
  const out = new Float64Array(resamples);
  let m = 0;
  for (let b = 0; b < resamples; b++) {
    const v = statistic(resampleCounts(rnd, counts));
    if (v === v) out[m++] = v;
  }
  return out.subarray(0, m).sort();
}

/** Percentile bootstrap interval of `statistic` at `level` (default 95 %). */
export function bootstrapInterval(n: number, statistic: (weights: Uint32Array) => number, opts: BootstrapOptions = {}): Interval {
  const level = opts.level ?? 0.95;
  const dist = n > 0 ? bootstrapDistribution(n, statistic, opts) : new Float64Array(0);
  const a = (1 - level) / 2;
  return { low: quantile(dist, a), high: quantile(dist, 1 - a), level, resamples: opts.resamples ?? 2000, seed: opts.seed ?? 1 };
}

/**
 * Paired interval of `metric(float) - metric(quantized)`: both are computed on the same resample.
 * `metric(which, weights)` computes the metric of model 0 (float) or 1 (quantized).
 */
export function pairedDeltaInterval(n: number, metric: (which: 0 | 1, weights: Uint32Array) => number, opts: BootstrapOptions = {}): Interval {
  return bootstrapInterval(n, (wts) => metric(0, wts) - metric(1, wts), opts);
}
