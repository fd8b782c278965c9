/**
 * Paired bootstrap confidence intervals (percentile method). A resample draws n sample indices
 * with replacement and is passed to the statistic as counts per sample (weights), so a paired
 * statistic (a float-minus-quantized delta) sees the float and the quantized result of the same
 * samples. Seeded (mulberry32): the same data, resample count and seed give the same interval.
 */

export interface Interval {
  low: number;
  high: number;
  /** Coverage asked for, e.g. 0.95. */
  level: number;
  resamples: number;
  seed: number;
}

export interface BootstrapOptions {
  /**
   * Samples that every statistic treats alike may share a group: `groupOf[i]` is sample i's group
   * and statistics receive weights per group (how many of the resample's draws fell in it). The
   * draws are those of the ungrouped resample, so the intervals are the same, at the cost of
   * the groups instead of the samples.
   */
  groupOf?: Int32Array;
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Two-sided coverage (default 0.95). */
  level?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /**
   * The resamples' counts per group (or per sample), drawn ahead for this seed (resamples x
   * groups, ./bootstrapAhead.ts): used instead of drawing here.
   */
  drawn?: Uint32Array;
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

/** The state of the resampling PRNG: mulberry32 (../random.ts), inlined below for speed. */
export interface DrawState {
  a: number;
}

export const drawState = (seed: number): DrawState => ({ a: seed | 0 });

/**
 * Fills `counts` with how often each index is drawn in n uniform draws of 0..n-1 (n = counts'
 * length, or groupOf's, when the draws are counted per group). The draws are mulberry32's
 * sequence for the seed, computed inline: a closure call per draw cost 2.5x the time.
 */
export function resampleCounts(state: DrawState, counts: Uint32Array, groupOf?: Int32Array): Uint32Array {
  counts.fill(0);
  const n = groupOf ? groupOf.length : counts.length;
  let a = state.a;
  for (let j = 0; j < n; j++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const i = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    counts[groupOf ? groupOf[i] : i]++;
  }
  state.a = a;
  return counts;
}

/**
 * Groups samples whose keys are equal: `groupOf` for BootstrapOptions, and the index of one
 * sample per group (its representative) to build the per-group arrays the statistics read.
 */
export function groupSamples(n: number, key: (i: number) => string): { groupOf: Int32Array; representatives: number[] } {
  const ids = new Map<string, number>();
  const groupOf = new Int32Array(n);
  const representatives: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = key(i);
    let g = ids.get(k);
    if (g === undefined) { g = representatives.length; ids.set(k, g); representatives.push(i); }
    groupOf[i] = g;
  }
  return { groupOf, representatives };
}

/**
 * The bootstrap distributions of several statistics over n samples, all computed on the same
 * resamples (one draw per resample serves them all): one ascending array per statistic (resamples
 * where a statistic is NaN are left out of its array).
 */
export function bootstrapDistributions(n: number, statistics: readonly ((weights: Uint32Array) => number)[], opts: BootstrapOptions = {}): Float64Array[] {
  const resamples = opts.resamples ?? 2000;
  const rnd = drawState(opts.seed ?? 1);
  if (opts.groupOf && opts.groupOf.length !== n) throw new RangeError(`groupOf has ${opts.groupOf.length} samples, not ${n}`);
  const counts = new Uint32Array(opts.groupOf ? opts.groupOf.reduce((a, g) => Math.max(a, g), -1) + 1 : n);
  const out = statistics.map(() => new Float64Array(resamples));
  const m = statistics.map(() => 0);
  const G = counts.length;
  if (opts.drawn && opts.drawn.length !== resamples * G) throw new RangeError(`drawn holds ${opts.drawn.length} counts, not ${resamples} x ${G}`);
  for (let b = 0; b < resamples; b++) {
    const w = opts.drawn ? opts.drawn.subarray(b * G, (b + 1) * G) : resampleCounts(rnd, counts, opts.groupOf);
    statistics.forEach((stat, k) => {
      const v = stat(w);
      if (v === v) out[k][m[k]++] = v;
    });
  }
  return out.map((o, k) => o.subarray(0, m[k]).sort());
}

export function bootstrapDistribution(n: number, statistic: (weights: Uint32Array) => number, opts: BootstrapOptions = {}): Float64Array {
  return bootstrapDistributions(n, [statistic], opts)[0];
}

/** Percentile bootstrap intervals at `level` (default 95 %) of several statistics, on shared resamples. */
export function bootstrapIntervals(n: number, statistics: readonly ((weights: Uint32Array) => number)[], opts: BootstrapOptions = {}): Interval[] {
  const level = opts.level ?? 0.95;
  const dists = n > 0 ? bootstrapDistributions(n, statistics, opts) : statistics.map(() => new Float64Array(0));
  const a = (1 - level) / 2;
  return dists.map((d) => ({ low: quantile(d, a), high: quantile(d, 1 - a), level, resamples: opts.resamples ?? 2000, seed: opts.seed ?? 1 }));
}

/** Percentile bootstrap interval of `statistic` at `level` (default 95 %). */
export function bootstrapInterval(n: number, statistic: (weights: Uint32Array) => number, opts: BootstrapOptions = {}): Interval {
  return bootstrapIntervals(n, [statistic], opts)[0];
}

/** The paired statistic `metric(float) - metric(quantized)`, both on the same resample. */
export function pairedDelta(metric: (which: 0 | 1, weights: Uint32Array) => number): (weights: Uint32Array) => number {
  return (w) => metric(0, w) - metric(1, w);
}

/** Paired interval of `metric(float) - metric(quantized)` (see pairedDelta). */
export function pairedDeltaInterval(n: number, metric: (which: 0 | 1, weights: Uint32Array) => number, opts: BootstrapOptions = {}): Interval {
  return bootstrapInterval(n, pairedDelta(metric), opts);
}

/**
 * The statistic `mean(a, w) - mean(b, w)` of two per-sample (or per-group) arrays over resamples
 * of n draws (weights summing to n), computed over the entries where a and b differ only: for
 * accuracy deltas of a float and a quantized model those are the few samples they disagree on.
 */
export function meanDifference(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): (weights: Uint32Array) => number {
  const idx: number[] = [];
  const diff: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { idx.push(i); diff.push(a[i] - b[i]); }
  return (w) => {
    let s = 0;
    for (let k = 0; k < idx.length; k++) s += w[idx[k]] * diff[k];
    return s / n;
  };
}
