/**
 * A mergeable histogram with bounded memory, for calibration statistics.
 *
 * Bins sit on a grid anchored at 0: bin k holds [k*w, (k+1)*w) with w = w0 * M, where w0 is set
 * by the first batch and M is an integer. At most `numBins` bins are stored. When a batch
 * reaches beyond them, the grid is made coarser by an integer factor (bin k -> floor(k/f)),
 * which moves whole counts and loses nothing but resolution. Two histograms of the same tensor
 * therefore always merge exactly, whichever thread computed them.
 */
import { histogramKernel } from './kernels';

/** What histogramKernel returns for one batch (also the worker's reply). */
export interface HistogramPart {
  w0: number;
  M: number;
  kOff: number;
  counts: Float64Array | null;
  /** Values that were all exactly 0 before any grid existed. */
  zeros: number;
  min: number;
  max: number;
  total: number;
  nonFinite: number;
}

/** Grid state a worker needs to bin a new batch compatibly. */
export interface HistogramGrid {
  w0: number;
  M: number;
  numBins: number;
}

/** Plain-data form of a histogram (JSON-safe apart from counts, which callers may Array.from). */
export interface HistogramSnapshot {
  /** Left edge of the first bin. */
  start: number;
  width: number;
  counts: Float64Array;
  min: number;
  max: number;
  total: number;
  nonFinite: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export class Histogram {
  readonly numBins: number;
  private w0 = 0;
  private M = 1;
  private kOff = 0;
  private counts: Float64Array | null = null;
  private pendingZeros = 0;
  /** Smallest and largest finite value seen. */
  min = Infinity;
  max = -Infinity;
  /** Finite values counted. */
  total = 0;
  /** NaN / Infinity values seen (not counted in bins). */
  nonFinite = 0;

  constructor(numBins = 2048) {
    if (!Number.isInteger(numBins) || numBins < 16) throw new RangeError(`A histogram needs at least 16 bins, got ${numBins}`);
    this.numBins = numBins;
  }

  /** The grid to pass to histogramKernel (in this thread or a worker) for the next batch. */
  grid(): HistogramGrid {
    return { w0: this.w0, M: this.M, numBins: this.numBins };
  }

  /** Bin width (0 before any non-zero value was seen). */
  get width(): number {
    return this.w0 * this.M;
  }

  /** Adds a batch, computed in this thread. */
  add(data: Float32Array | Float64Array): void {
    const g = this.grid();
    this.merge(histogramKernel(data, g.w0, g.M, g.numBins));
  }

  /** Merges a batch histogram (from histogramKernel, possibly computed in a worker). */
  merge(part: HistogramPart): void {
    this.nonFinite += part.nonFinite;
    if (part.total === 0) return;
    this.total += part.total;
    if (part.min < this.min) this.min = part.min;
    if (part.max > this.max) this.max = part.max;
    if (!part.counts) {
      if (this.counts) this.addAt(0, part.zeros);
      else this.pendingZeros += part.zeros;
      return;
    }
    if (!this.counts) {
      this.w0 = part.w0;
      this.M = part.M;
      this.kOff = part.kOff;
      this.counts = Float64Array.from(part.counts);
      if (this.pendingZeros) { this.addAt(0, this.pendingZeros); this.pendingZeros = 0; }
      return;
    }
    if (part.w0 === this.w0) {
      const L = (this.M / gcd(this.M, part.M)) * part.M;
      if (Number.isSafeInteger(L) && L < 2 ** 40) {
        this.mergeExact(part, L);
        return;
      }
    }
    this.mergeForeign(part);
  }

  /** Merges another whole histogram (for example from another process). */
  mergeHistogram(other: Histogram): void {
    if (!other.counts) {
      this.nonFinite += other.nonFinite;
      if (other.total) this.merge({ ...emptyPart(), zeros: other.total, total: other.total, min: other.min, max: other.max });
      return;
    }
    this.merge({
      w0: other.w0, M: other.M, kOff: other.kOff, counts: other.counts, zeros: 0,
      min: other.min, max: other.max, total: other.total, nonFinite: other.nonFinite,
    });
  }

  /** Occupied bin range [first, last] of a counts array, in its own bin units. */
  private static occupied(counts: Float64Array, kOff: number): [number, number] | null {
    let a = -1;
    let b = -1;
    for (let s = 0; s < counts.length; s++) if (counts[s] !== 0) { if (a < 0) a = s; b = s; }
    return a < 0 ? null : [a + kOff, b + kOff];
  }

  private mergeExact(part: HistogramPart, L: number): void {
    const mine = Histogram.occupied(this.counts!, this.kOff);
    const theirs = Histogram.occupied(part.counts!, part.kOff);
    const fa = L / this.M;
    const fb = L / part.M;
    let lo = Infinity;
    let hi = -Infinity;
    if (mine) { lo = Math.min(lo, Math.floor(mine[0] / fa)); hi = Math.max(hi, Math.floor(mine[1] / fa)); }
    if (theirs) { lo = Math.min(lo, Math.floor(theirs[0] / fb)); hi = Math.max(hi, Math.floor(theirs[1] / fb)); }
    if (!Number.isFinite(lo)) { lo = 0; hi = 0; }
    let j = 1;
    while (Math.floor(hi / j) - Math.floor(lo / j) + 1 > this.numBins) j++;
    const off = Math.floor(lo / j);
    const out = new Float64Array(this.numBins);
    const pour = (counts: Float64Array, kOff: number, f: number) => {
      for (let s = 0; s < counts.length; s++) {
        const c = counts[s];
        if (c === 0) continue;
        const k = Math.floor(Math.floor((s + kOff) / f) / j);
        out[k - off] += c;
      }
    };
    pour(this.counts!, this.kOff, fa);
    pour(part.counts!, part.kOff, fb);
    this.counts = out;
    this.kOff = off;
    this.M = L * j;
  }

  /** Grids that do not share w0 (only when two first batches raced): re-bin by bin centres. */
  private mergeForeign(part: HistogramPart): void {
    const w = part.w0 * part.M;
    const theirs = Histogram.occupied(part.counts!, part.kOff);
    if (!theirs) return;
    const myW = this.width;
    const centre = (k: number) => (k + 0.5) * w;
    this.fit(Math.floor(centre(theirs[0]) / myW), Math.floor(centre(theirs[1]) / myW));
    for (let s = 0; s < part.counts!.length; s++) {
      const c = part.counts![s];
      if (c !== 0) this.addValue(centre(s + part.kOff), c);
    }
  }

  /** Coarsens the grid until bins lo..hi (current units) and the occupied ones fit. */
  private fit(lo: number, hi: number): void {
    const mine = Histogram.occupied(this.counts!, this.kOff);
    if (mine) { lo = Math.min(lo, mine[0]); hi = Math.max(hi, mine[1]); }
    let j = 1;
    while (Math.floor(hi / j) - Math.floor(lo / j) + 1 > this.numBins) j++;
    const off = Math.floor(lo / j);
    if (j === 1 && off >= this.kOff && hi - this.kOff < this.numBins) return;
    const out = new Float64Array(this.numBins);
    for (let s = 0; s < this.counts!.length; s++) {
      const c = this.counts![s];
      if (c !== 0) out[Math.floor((s + this.kOff) / j) - off] += c;
    }
    this.counts = out;
    this.kOff = off;
    this.M *= j;
  }

  private addValue(x: number, c: number): void {
    const k = Math.floor(x / this.width);
    const s = Math.min(this.numBins - 1, Math.max(0, k - this.kOff));
    this.counts![s] += c;
  }

  /** Adds c to bin k (which must be inside the stored range, as bin 0 always is). */
  private addAt(k: number, c: number): void {
    const s = Math.min(this.numBins - 1, Math.max(0, k - this.kOff));
    this.counts![s] += c;
  }

  /** Occupied bins as a snapshot; null when nothing (or only zeros) has been seen. */
  snapshot(): HistogramSnapshot | null {
    if (!this.counts) {
      if (this.total === 0) return null;
      // only zeros: a single bin of width 0
      return { start: 0, width: 0, counts: new Float64Array([this.total]), min: this.min, max: this.max, total: this.total, nonFinite: this.nonFinite };
    }
    const occ = Histogram.occupied(this.counts, this.kOff)!;
    const from = occ[0] - this.kOff;
    const to = occ[1] - this.kOff;
    return {
      start: occ[0] * this.width,
      width: this.width,
      counts: this.counts.slice(from, to + 1),
      min: this.min,
      max: this.max,
      total: this.total,
      nonFinite: this.nonFinite,
    };
  }

  /** Stored counts with the offset of the first slot (bin index kOff), for the search kernels. */
  raw(): { counts: Float64Array; kOff: number; width: number } | null {
    return this.counts ? { counts: this.counts, kOff: this.kOff, width: this.width } : null;
  }

  /**
   * Histogram of |x|: abs bin a holds [a*w, (a+1)*w), folded exactly from signed bins a and -a-1.
   * Bins run from 0 up to the largest occupied one.
   */
  absCounts(): Float64Array {
    if (!this.counts) return new Float64Array(this.total ? [this.total] : []);
    const occ = Histogram.occupied(this.counts, this.kOff)!;
    const K = Math.max(occ[1] + 1, -occ[0]);
    const out = new Float64Array(Math.max(K, 1));
    for (let s = 0; s < this.counts.length; s++) {
      const c = this.counts[s];
      if (c === 0) continue;
      const k = s + this.kOff;
      out[k >= 0 ? k : -k - 1] += c;
    }
    return out;
  }

  /** Plain data for JSON (counts of occupied bins). */
  toJSON(): { start: number; width: number; counts: number[]; min: number; max: number; total: number; nonFinite: number } | null {
    const s = this.snapshot();
    return s ? { ...s, counts: Array.from(s.counts) } : null;
  }
}

function emptyPart(): HistogramPart {
  return { w0: 0, M: 1, kOff: 0, counts: null, zeros: 0, min: NaN, max: NaN, total: 0, nonFinite: 0 };
}
