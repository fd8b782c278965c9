/**
 * Evaluation metrics as small pure functions over per-sample values. Every function that
 * aggregates samples takes optional `weights` (how many times each sample counts), so the
 * bootstrap in ./bootstrap.ts resamples by weighting the same functions instead of copying data.
 *
 * Conventions: class scores are one vector per sample; ties go to the lower class index (argmax
 * takes the first maximum, and top-k ranks a tied class with a lower index above the label).
 * A confusion matrix is row-major `classes x classes`, rows the true class, columns the predicted.
 */

export type Weights = ArrayLike<number> | undefined;

const w = (weights: Weights, i: number): number => (weights ? weights[i] : 1);

/** Index of the largest value in `v[from .. from+len)` (the first one on ties), relative to `from`. */
export function argmax(v: ArrayLike<number>, from = 0, len = v.length - from): number {
  let best = 0;
  let bv = v[from];
  for (let k = 1; k < len; k++) {
    const x = v[from + k];
    if (x > bv || (bv !== bv && x === x)) { bv = x; best = k; } // a NaN never wins over a number
  }
  return best;
}

/**
 * The label's rank among the scores (0 = first): classes scoring above it, plus tied classes with
 * a lower index. Top-k is correct when the rank is below k. A NaN label score ranks last.
 */
export function labelRank(v: ArrayLike<number>, label: number, from = 0, len = v.length - from): number {
  const s = v[from + label];
  if (s !== s) return len - 1;
  let rank = 0;
  for (let k = 0; k < len; k++) {
    const x = v[from + k];
    if (x > s || (x === s && k < label)) rank++;
  }
  return rank;
}

/** The weighted mean of `values` (1 / 0 for correct / wrong gives accuracy). NaN when nothing counts. */
export function mean(values: ArrayLike<number>, weights?: Weights): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const wi = w(weights, i);
    s += wi * values[i];
    n += wi;
  }
  return n ? s / n : NaN;
}

/** Share of samples whose rank (see labelRank) is below `k`: top-k accuracy. */
export function topK(ranks: ArrayLike<number>, k: number, weights?: Weights): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ranks.length; i++) {
    const wi = w(weights, i);
    if (ranks[i] < k) s += wi;
    n += wi;
  }
  return n ? s / n : NaN;
}

/** Share of samples where `a[i] === b[i]`: top-1 agreement of two models' predictions. */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>, weights?: Weights): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const wi = w(weights, i);
    if (a[i] === b[i]) s += wi;
    n += wi;
  }
  return n ? s / n : NaN;
}

/** Confusion matrix (rows: true class, columns: predicted), flat row-major. */
export function confusionMatrix(labels: ArrayLike<number>, preds: ArrayLike<number>, classes: number, weights?: Weights): Float64Array {
  const m = new Float64Array(classes * classes);
  for (let i = 0; i < labels.length; i++) m[labels[i] * classes + preds[i]] += w(weights, i);
  return m;
}

export interface ClassCounts {
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
}

/** Per class: true positives, false positives, false negatives (one pass over the samples). */
export function classCounts(labels: ArrayLike<number>, preds: ArrayLike<number>, classes: number, weights?: Weights): ClassCounts {
  const tp = new Float64Array(classes);
  const fp = new Float64Array(classes);
  const fn = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const wi = w(weights, i);
    if (labels[i] === preds[i]) tp[labels[i]] += wi;
    else { fn[labels[i]] += wi; fp[preds[i]] += wi; }
  }
  return { tp, fp, fn };
}

/** Recall of each class (TP / (TP + FN)); null for a class with no true samples. */
export function perClassRecall({ tp, fn }: ClassCounts): (number | null)[] {
  return Array.from(tp, (x, c) => (x + fn[c] > 0 ? x / (x + fn[c]) : null));
}

/**
 * Macro F1: the unweighted mean over classes of F1 = 2TP / (2TP + FP + FN), over the classes that
 * occur as a label or a prediction (scikit-learn's `f1_score(average='macro')`). NaN when none does.
 */
export function macroF1({ tp, fp, fn }: ClassCounts): number {
  let s = 0;
  let n = 0;
  for (let c = 0; c < tp.length; c++) {
    const d = 2 * tp[c] + fp[c] + fn[c];
    if (d > 0) { s += (2 * tp[c]) / d; n++; }
  }
  return n ? s / n : NaN;
}

/** Sum of squared and of absolute differences and the largest absolute one, between two vectors. */
export function errorSums(a: ArrayLike<number>, b: ArrayLike<number>): { sq: number; abs: number; max: number } {
  let sq = 0;
  let abs = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    const ad = Math.abs(d);
    sq += d * d;
    abs += ad;
    if (ad > max) max = ad;
  }
  // a NaN difference makes the sums NaN; the largest error says so too
  return { sq, abs, max: sq !== sq ? NaN : max };
}

/** Mean squared error between two vectors. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a.length ? errorSums(a, b).sq / a.length : NaN;
}

/** Mean absolute error between two vectors. */
export function mae(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a.length ? errorSums(a, b).abs / a.length : NaN;
}

/** Cosine similarity; two zero vectors are identical (1), one zero vector against another is 0. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa === 0 && bb === 0) return 1;
  if (aa === 0 || bb === 0) return 0;
  return ab / Math.sqrt(aa * bb);
}

/**
 * Signal-to-quantization-noise ratio in dB: 10 log10(sum x^2 / sum (x - y)^2) over every value
 * (onnxruntime's qdq_loss_debug computes the same over the concatenated tensors). Infinity when
 * the two agree exactly.
 */
export function sqnrDb(signalEnergy: number, noiseEnergy: number): number {
  if (noiseEnergy === 0) return signalEnergy === 0 ? NaN : Infinity;
  return 10 * Math.log10(signalEnergy / noiseEnergy);
}

/** Sum of squares of a vector (the signal energy for sqnrDb). */
export function energy(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}
