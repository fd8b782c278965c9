/**
 * From per-sample values (each model's prediction, label rank or errors) to the reported scores:
 * each model's classification or regression metrics, and the float-minus-quantized deltas with
 * paired bootstrap intervals, all deltas computed on the same resamples.
 */
import { bootstrapIntervals, groupSamples, meanDifference, pairedDelta, type BootstrapOptions, type Interval } from './bootstrap';
import { agreement, classCounts, confusionMatrix, macroF1, mean, perClassRecall, topK } from './metrics';

/** One model's per-sample values: prediction (argmax), and the label's rank or the errors. */
export interface PerSample {
  pred: Int32Array;
  rank?: Int32Array;
  /** Sums over the target's values of squared / absolute errors. */
  sq?: Float64Array;
  abs?: Float64Array;
}

export interface ClassificationScores {
  top1: number;
  top5?: number;
  macroF1: number;
  /** Indexed by class; null for a class absent from the labels. */
  perClassRecall: (number | null)[];
  /** Non-zero cells as [true class, predicted class, count]. */
  confusion: [number, number, number][];
}

export interface Delta {
  /** The metric's name; the delta is float minus quantized (a positive accuracy delta is a drop). */
  metric: string;
  float: number;
  quantized: number;
  delta: number;
  ci: Interval;
}

export function classificationScores(labels: Int32Array, s: PerSample, classes: number): ClassificationScores {
  const cm = confusionMatrix(labels, s.pred, classes);
  const confusion: [number, number, number][] = [];
  cm.forEach((v, i) => { if (v) confusion.push([Math.floor(i / classes), i % classes, v]); });
  const counts = classCounts(labels, s.pred, classes);
  return {
    top1: topK(s.rank!, 1), ...(classes >= 5 ? { top5: topK(s.rank!, 5) } : {}),
    macroF1: macroF1(counts), perClassRecall: perClassRecall(counts), confusion,
  };
}

export function regressionScores(s: PerSample, width: number): { mse: number; mae: number } {
  return { mse: mean(s.sq!) / width, mae: mean(s.abs!) / width };
}

/** 1 where the label ranks below k (top-k correct), else 0. */
const hits = (rank: Int32Array, k: number): Uint8Array => Uint8Array.from(rank, (r) => (r < k ? 1 : 0));
const scaled = (a: Float64Array, by: number): Float64Array => a.map((x) => x / by);

type Task = 'classification' | 'regression' | 'unlabelled';

export interface SampleGroups {
  /** Classification: each sample's group (see BootstrapOptions.groupOf); otherwise every sample stands alone. */
  groupOf?: Int32Array;
  /** One sample per group. */
  representatives: number[];
}

/**
 * Samples alike in everything the paired statistics read share a group (MNIST: ~40 groups for
 * 9,800 samples), so a resample costs its draws and not a pass over every sample per statistic.
 */
export function pairedGroups(task: Task, f: PerSample, q: PerSample, labels?: Int32Array): SampleGroups {
  const n = f.pred.length;
  return task === 'classification'
    ? groupSamples(n, (i) => pairedKey(labels![i], f.pred[i], q.pred[i], f.rank![i], q.rank![i]))
    : { representatives: Array.from({ length: n }, (_, i) => i) };
}

/** A classified sample's group key: its label, both predictions, and whether each ranks the label in the top 5. */
export const pairedKey = (label: number, fPred: number, qPred: number, fRank: number, qRank: number): string =>
  `${label} ${fPred} ${qPred} ${fRank < 5 ? 1 : 0}${qRank < 5 ? 1 : 0}`;

/**
 * Deltas (float minus quantized) with paired intervals, and the interval of top-1 agreement.
 * `labels`/`classes` for classification, `width` (target values per sample) for regression;
 * `groups` when pairedGroups already ran.
 */
export function pairedScores(
  task: Task, f: PerSample, q: PerSample,
  opts: { labels?: Int32Array; classes: number; width: number; bootstrap?: BootstrapOptions; groups?: SampleGroups },
): { deltas: Delta[]; top1Agreement: number; top1AgreementCi: Interval } {
  const n = f.pred.length;
  const cls = task === 'classification';
  const { groupOf, representatives: rep } = opts.groups ?? pairedGroups(task, f, q, opts.labels);
  const pick = <T extends Int32Array | Float64Array>(a: T): T => (cls ? a.constructor === Int32Array ? Int32Array.from(rep, (i) => a[i]) : Float64Array.from(rep, (i) => a[i]) : a) as T;
  const named: { metric: string; float: number; quantized: number; stat: (w: Uint32Array) => number }[] = [];
  if (cls) {
    const labels = pick(opts.labels!);
    const fg = { pred: pick(f.pred), rank: pick(f.rank!) };
    const qg = { pred: pick(q.pred), rank: pick(q.rank!) };
    for (const k of opts.classes >= 5 ? [1, 5] : [1]) {
      named.push({ metric: `top${k}`, float: mean(hits(f.rank!, k)), quantized: mean(hits(q.rank!, k)), stat: meanDifference(hits(fg.rank, k), hits(qg.rank, k), n) });
    }
    const f1 = (m: 0 | 1, w?: Uint32Array): number => macroF1(w ? classCounts(labels, (m === 0 ? fg : qg).pred, opts.classes, w) : classCounts(opts.labels!, (m === 0 ? f : q).pred, opts.classes));
    named.push({ metric: 'macroF1', float: f1(0), quantized: f1(1), stat: pairedDelta(f1) });
  } else if (task === 'regression') {
    for (const [metric, key] of [['mse', 'sq'], ['mae', 'abs']] as const) {
      const a = scaled(f[key]!, opts.width);
      const b = scaled(q[key]!, opts.width);
      named.push({ metric, float: mean(a), quantized: mean(b), stat: meanDifference(a, b) });
    }
  }
  // agreement = 1 - the share of samples the two disagree on (few: a sparse statistic)
  const differ = Uint8Array.from(rep, (i) => (f.pred[i] !== q.pred[i] ? 1 : 0));
  const disagree = meanDifference(differ, new Uint8Array(differ.length), n);
  const cis = bootstrapIntervals(n, [...named.map((d) => d.stat), (w) => 1 - disagree(w)], { ...opts.bootstrap, groupOf });
  return {
    deltas: named.map((d, i) => ({ metric: d.metric, float: d.float, quantized: d.quantized, delta: d.float - d.quantized, ci: cis[i] })),
    top1Agreement: agreement(f.pred, q.pred),
    top1AgreementCi: cis[named.length],
  };
}
