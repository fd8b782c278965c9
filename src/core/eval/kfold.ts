/**
 * k-fold cross-validation of the whole calibrate-then-evaluate loop: the samples are split into k
 * contiguous folds; for each fold the float model is quantized (static, the quantizer's API)
 * calibrating on the other k-1 folds only, and float and quantized are evaluated on the held-out
 * fold (./evaluate.ts). A model calibrated and judged on the same samples flatters itself; the
 * spread over folds shows how much the result depends on which samples calibrated it.
 *
 * Calibration samples are written, as loaded (decoded and pre-processed), to a temporary folder
 * with the quantized models; the folder is removed at the end, on error and on cancel too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { encodeNpy, inputSpecsFromModel, openCalibrationData, type Sample } from '../data';
import { DataError } from '../data/errors';
import { quantizeModel } from '../quant/quantize';
import type { Recipe } from '../quant/recipe';
import { AbortError } from '../quant/workers';
import { evaluateModels, openOnnx, type Delta, type EvaluateOptions, type EvaluationReport } from './evaluate';

/** The evaluation's options (applied to every fold), and the folds. */
export interface KFoldOptions extends Omit<EvaluateOptions, 'onProgress'> {
  /** Number of folds, 2..samples. */
  folds: number;
  /** How each fold is quantized (static mode; its calibration data and offset are replaced by the fold's). */
  recipe?: Recipe;
  /** Where the temporary folder is made (default: the system's temp folder). */
  workDir?: string;
  /** Copy each fold's quantized model here as fold-<i>.onnx (kept after the run). */
  keepModels?: string;
  onProgress?: (p: KFoldProgress) => void;
}

export interface KFoldProgress {
  /** 1-based fold, 0 while the data is read. */
  fold: number;
  folds: number;
  stage: 'reading' | 'quantizing' | 'evaluating';
  label: string;
}

export interface FoldResult {
  fold: number;
  /** Sample indices (in the data, offset included) evaluated: [from, to). */
  evaluated: [number, number];
  /** Sample indices the quantizer calibrated on, as [from, to) ranges. */
  calibrated: [number, number][];
  /** Calibration samples as the quantizer reports them. */
  calibrationSamples: number;
  float: Record<string, number>;
  quantized: Record<string, number>;
  comparison: { top1Agreement: number; sqnrDb: number; cosineMean: number };
  deltas: Delta[];
  warnings: string[];
}

export interface Spread {
  mean: number;
  /** Sample standard deviation over the folds (n - 1). */
  std: number;
  min: number;
  max: number;
}

export interface KFoldRow {
  metric: string;
  float?: Spread;
  quantized?: Spread;
  /** Float minus quantized, per fold. */
  delta?: Spread;
  /** Comparison metrics (agreement, SQNR, cosine) have one value per fold. */
  value?: Spread;
}

export interface KFoldReport {
  data: string;
  labels?: string;
  offset: number;
  samples: number;
  folds: number;
  task: EvaluationReport['task'];
  output: string;
  recipe: Recipe;
  perFold: FoldResult[];
  summary: KFoldRow[];
  warnings: string[];
  timing: { totalMs: number };
}

/** Fold i of k over n samples: [floor(i n / k), floor((i + 1) n / k)). */
export function foldRanges(n: number, k: number): [number, number][] {
  return Array.from({ length: k }, (_, i) => [Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)] as [number, number]);
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min: Math.min(...values), max: Math.max(...values) };
}

/** Consecutive indices as [from, to) ranges. */
export function toRanges(indices: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/** One message for a fold count the data cannot take (samples unknown: only the lower bound). */
export function checkFolds(k: number, samples?: number): void {
  if (!Number.isInteger(k) || k < 2) throw new ModelError('unsupported', `k-fold cross-validation needs at least 2 folds (got ${k}).`);
  if (samples !== undefined && k > samples) throw new ModelError('unsupported', `${k} folds need at least ${k} samples; the data gives ${samples}.`);
}

/** A model's metrics of one fold, flattened. */
function modelMetrics(r: EvaluationReport, m: number): Record<string, number> {
  const e = r.models[m];
  const c = e.classification;
  if (c) return { top1: c.top1, ...(c.top5 !== undefined ? { top5: c.top5 } : {}), macroF1: c.macroF1 };
  if (e.regression) return { mse: e.regression.mse, mae: e.regression.mae };
  return {};
}

/** Writes the samples as one folder per sample with input_K.npy per input (any number of inputs). */
function writeSamples(dir: string, samples: readonly Sample[], inputNames: readonly string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const width = String(samples.length).length;
  samples.forEach((s, i) => {
    const d = path.join(dir, String(i).padStart(width, '0'));
    fs.mkdirSync(d);
    inputNames.forEach((name, k) => fs.writeFileSync(path.join(d, `input_${k}.npy`), encodeNpy(s[name])));
  });
}

export async function kfoldEvaluate(floatPath: string, opts: KFoldOptions): Promise<KFoldReport> {
  const t0 = performance.now();
  const k = opts.folds;
  checkFolds(k);
  const recipe: Recipe = opts.recipe ? JSON.parse(JSON.stringify(opts.recipe)) as Recipe : { version: 1, mode: 'static' };
  if (recipe.mode !== 'static') throw new ModelError('unsupported', `k-fold cross-validation calibrates on the other folds, which only static quantization does (the recipe's mode is ${recipe.mode}).`);
  const signal = opts.signal;
  const check = (): void => { if (signal?.aborted) throw new AbortError('The evaluation was cancelled'); };
  const progress = (fold: number, stage: KFoldProgress['stage'], label: string): void => { check(); opts.onProgress?.({ fold, folds: k, stage, label }); };
  const src = path.resolve(floatPath);
  const inputs = inputSpecsFromModel(await openOnnx(src));
  const base = Math.max(0, Math.floor(opts.offset ?? 0));

  progress(0, 'reading', 'Reading the samples');
  const data = await openCalibrationData(opts.data, { inputs, offset: opts.offset, limit: opts.limit, scale: opts.scale, image: opts.image });
  const samples: Sample[] = [];
  for await (const s of data) { check(); samples.push(s); }
  if (!samples.length) throw new DataError('no-data', `${data.source} gives no samples${base ? ` after offset ${base}` : ''}.`);
  checkFolds(k, samples.length);

  if (opts.keepModels) fs.mkdirSync(opts.keepModels, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(opts.workDir ?? os.tmpdir(), 'quantlens-kfold-'));
  const perFold: FoldResult[] = [];
  let last: EvaluationReport | undefined;
  try {
    const ranges = foldRanges(samples.length, k);
    for (let f = 0; f < k; f++) {
      const [from, to] = ranges[f];
      // the other folds, in data order; a recipe limit takes the first of them
      let cal = samples.map((_, i) => i).filter((i) => i < from || i >= to);
      if (recipe.calibration?.limit !== undefined) cal = cal.slice(0, recipe.calibration.limit);
      const calDir = path.join(tmp, `fold-${f + 1}-calibration`);
      writeSamples(calDir, cal.map((i) => samples[i]), inputs.map((i) => i.name));
      const { method, percentile, movingAverage } = recipe.calibration ?? {};
      const foldRecipe: Recipe = {
        ...recipe,
        calibration: { data: calDir, limit: cal.length, ...(method ? { method } : {}), ...(percentile !== undefined ? { percentile } : {}), ...(movingAverage !== undefined ? { movingAverage } : {}) },
      };
      const qPath = path.join(tmp, `fold-${f + 1}.onnx`);
      progress(f + 1, 'quantizing', `Fold ${f + 1}/${k}: quantizing, calibrating on ${cal.length} samples`);
      const q = await quantizeModel(src, qPath, { recipe: foldRecipe, signal });
      fs.rmSync(calDir, { recursive: true, force: true });
      if (opts.keepModels) fs.copyFileSync(qPath, path.join(opts.keepModels, `fold-${f + 1}.onnx`));

      progress(f + 1, 'evaluating', `Fold ${f + 1}/${k}: evaluating on samples ${base + from}..${base + to - 1}`);
      const r = await evaluateModels(src, qPath, {
        data: opts.data, labels: opts.labels, offset: base + from, limit: to - from, scale: opts.scale, image: opts.image,
        batch: opts.batch, latencyRuns: opts.latencyRuns ?? 0, output: opts.output, threads: opts.threads, bootstrap: opts.bootstrap, signal,
      });
      fs.rmSync(qPath, { force: true });
      last = r;
      perFold.push({
        fold: f + 1,
        evaluated: [r.offset, r.offset + r.samples],
        calibrated: toRanges(cal.map((i) => base + i)),
        calibrationSamples: q.summary.calibration?.samples ?? 0,
        float: modelMetrics(r, 0),
        quantized: modelMetrics(r, 1),
        comparison: { top1Agreement: r.comparison!.top1Agreement, sqnrDb: r.comparison!.sqnrDb, cosineMean: r.comparison!.cosineMean },
        deltas: r.deltas ?? [],
        warnings: [...q.summary.warnings.map((w) => `quantize: ${w}`), ...r.warnings],
      });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const summary: KFoldRow[] = Object.keys(perFold[0].float).map((metric) => ({
    metric,
    float: spread(perFold.map((p) => p.float[metric])),
    quantized: spread(perFold.map((p) => p.quantized[metric])),
    ...(perFold[0].deltas.some((d) => d.metric === metric) ? { delta: spread(perFold.map((p) => p.deltas.find((d) => d.metric === metric)!.delta)) } : {}),
  }));
  for (const metric of ['top1Agreement', 'sqnrDb', 'cosineMean'] as const) summary.push({ metric, value: spread(perFold.map((p) => p.comparison[metric])) });
  return {
    data: data.source, ...(last!.labels ? { labels: last!.labels } : {}), offset: base, samples: samples.length, folds: k, task: last!.task,
    output: last!.output.name, recipe, perFold, summary, warnings: [...data.warnings], timing: { totalMs: performance.now() - t0 },
  };
}
