/**
 * Robustness under distribution shift: a float model and its quantized version run on the data
 * shifted by each kind and level (./shifts.ts), in this process, one sample at a time. Per shift
 * kind and level: each model's metric (top-1 accuracy, or MSE), the delta, top-1 agreement and
 * SQNR between them; a level is flagged fragile when the quantized model loses more there than
 * the float one does, by more than a threshold. Level 0 is the unshifted data (the baseline).
 */
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph } from '../model';
import { inputSpecsFromModel, openCalibrationData, type Sample, type SampleTensor } from '../data';
import { DataError } from '../data/errors';
import { createSession, type OrtSession } from '../runtime/ort';
import { sampleFeeds } from '../quant/preprocess';
import { AbortError } from '../quant/workers';
import { checkSameInputs, openOnnx, type EvaluateOptions } from './evaluate';
import { labelCursor, readLabels } from './labels';
import { timedRun } from './measure';
import { argmax, energy, errorSums, sqnrDb } from './metrics';
import {
  addNoise, blurImage, brightness, DEFAULT_LEVELS, gaussianKernel, imageLayout, noiseSeed, scaleValues, SHIFT_KINDS, ShiftSpecError,
  type ImageLayout, type ShiftKind, type ShiftSpec,
} from './shifts';

export interface RobustnessOptions extends Pick<EvaluateOptions, 'data' | 'labels' | 'offset' | 'limit' | 'scale' | 'image' | 'output' | 'threads' | 'signal'> {
  /** Kinds and levels (default: every kind at DEFAULT_LEVELS; blur only for image inputs). */
  shifts?: ShiftSpec[];
  /** Noise seed (default 1). */
  seed?: number;
  /** Flag a level when the quantized drop exceeds the float drop by more than this (default 0.01: one accuracy point; relative to the float baseline's MSE for regression; agreement without labels). */
  threshold?: number;
  /** Layout of 4-D inputs for blur (default: from the image pre-processing, else from the shape). */
  layout?: ImageLayout;
  onProgress?: (p: { step: number; steps: number; label: string; done?: number }) => void;
}

export interface RobustnessRow {
  kind: ShiftKind | 'none';
  level: number;
  /** The metric (top-1 accuracy, or MSE) of each model; absent without labels. */
  float?: number;
  quantized?: number;
  /** Float minus quantized. */
  delta?: number;
  /** Worsening from the baseline (positive = worse), per model. */
  floatDrop?: number;
  quantizedDrop?: number;
  top1Agreement: number;
  sqnrDb: number;
  fragile: boolean;
}

export interface RobustnessReport {
  float: string;
  quantized: string;
  data: string;
  labels?: string;
  offset: number;
  samples: number;
  task: 'classification' | 'regression' | 'unlabelled';
  metric?: 'top1' | 'mse';
  output: string;
  /** Population std of each shifted input's values over the data (noise and brightness levels are in these units). */
  dataStd: Record<string, number>;
  seed: number;
  threshold: number;
  rows: RobustnessRow[];
  warnings: string[];
}

interface Condition { kind: ShiftKind | 'none'; level: number }

/** Running sums of one condition. */
interface Tally { correct: [number, number]; sq: [number, number]; agree: number; signal: number; noise: number }

function shiftTensor(t: SampleTensor, c: Condition, std: number, seed: number, layout: ImageLayout | undefined): SampleTensor {
  const x = t.data as Float32Array;
  switch (c.kind) {
    case 'none': return t;
    case 'noise': return { ...t, data: addNoise(x, c.level * std, seed) };
    case 'brightness': return { ...t, data: brightness(x, c.level * std) };
    case 'scale': return { ...t, data: scaleValues(x, 1 + c.level) };
    case 'blur': return { ...t, data: blurImage(x, t.shape, layout ?? imageLayout(t.shape)!, gaussianKernel(c.level)) };
  }
}

export async function robustness(floatPath: string, quantizedPath: string, opts: RobustnessOptions): Promise<RobustnessReport> {
  const steps = ['Reading the models', 'Measuring the data', 'Running the shifted data', 'Computing metrics'];
  let step = 0;
  const signal = opts.signal;
  const check = (): void => { if (signal?.aborted) throw new AbortError('The robustness run was cancelled'); };
  const next = (): void => { check(); step++; opts.onProgress?.({ step, steps: steps.length, label: steps[step - 1] }); };
  const seed = opts.seed ?? 1;
  const threshold = opts.threshold ?? 0.01;
  const warnings: string[] = [];
  for (const s of opts.shifts ?? []) {
    if (!SHIFT_KINDS.includes(s.kind)) throw new ShiftSpecError(`Unknown shift kind '${String(s.kind)}'; the kinds are ${SHIFT_KINDS.join(', ')}.`);
  }

  next();
  const paths = [path.resolve(floatPath), path.resolve(quantizedPath)];
  const models = await Promise.all(paths.map(openOnnx));
  const inputs = inputSpecsFromModel(models[0]);
  checkSameInputs(inputs, inputSpecsFromModel(models[1]), paths[1]);
  const outs = models.map((m) => mainGraph(m).outputs);
  const scored = opts.output ?? outs[0][0];
  if (!outs[0].includes(scored)) throw new ModelError('unsupported', `The model has no output "${scored}"; its outputs are ${outs[0].map((n) => `"${n}"`).join(', ')}.`);
  const scoredQ = outs[1].includes(scored) ? scored : outs[1][outs[0].indexOf(scored)];
  const shifted = inputs.filter((i) => i.dtype === 'float32');
  if (!shifted.length) throw new ModelError('unsupported', `Shifts apply to float32 inputs; the model's inputs are ${inputs.map((i) => `"${i.name}" (${i.dtype})`).join(', ')}.`);
  const images = shifted.filter((i) => i.shape?.length === 4);
  let specs = opts.shifts ?? SHIFT_KINDS.map((kind) => ({ kind, levels: DEFAULT_LEVELS[kind] }));
  if (!images.length && specs.some((s) => s.kind === 'blur')) {
    if (opts.shifts) throw new ModelError('unsupported', `Blur needs a 4-D image input (NCHW or NHWC); the model's float inputs are ${shifted.map((i) => `"${i.name}" [${(i.shape ?? []).join(', ')}]`).join(', ')}.`);
    specs = specs.filter((s) => s.kind !== 'blur');
    warnings.push('No 4-D image input: blur was not run.');
  }
  const conditions: Condition[] = [{ kind: 'none', level: 0 }, ...specs.flatMap((s) => s.levels.map((level) => ({ kind: s.kind, level })))];

  next();
  const load = () => openCalibrationData(opts.data, { inputs, offset: opts.offset, limit: opts.limit, scale: opts.scale, image: opts.image });
  const offset = Math.max(0, Math.floor(opts.offset ?? 0));
  // the data's std per shifted input: noise and brightness levels are relative to it
  const sums = new Map(shifted.map((i) => [i.name, { n: 0, s: 0, ss: 0 }]));
  let count = 0;
  for await (const sample of await load()) {
    check();
    for (const [name, a] of sums) for (const v of sample[name].data as Float32Array) { a.n++; a.s += v; a.ss += v * v; }
    count++;
  }
  if (!count) throw new DataError('no-data', `${opts.data} gives no samples${offset ? ` after offset ${offset}` : ''}.`);
  const dataStd: Record<string, number> = {};
  for (const [name, a] of sums) { const m = a.s / a.n; dataStd[name] = Math.sqrt(Math.max(0, a.ss / a.n - m * m)); }

  next();
  const data = await load();
  const layout = opts.layout ?? data.image?.layout;
  const labels = opts.labels ? await readLabels(opts.labels) : undefined;
  const cursor = labels ? labelCursor(labels, data, offset) : undefined;
  let task: RobustnessReport['task'] = labels ? 'classification' : 'unlabelled';
  let width = 0;
  const tallies: Tally[] = conditions.map(() => ({ correct: [0, 0], sq: [0, 0], agree: 0, signal: 0, noise: 0 }));
  const sessions: OrtSession[] = [];
  let n = 0;
  try {
    for (const p of paths) sessions.push(await createSession(p, { ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}) }, path.basename(p)));
    for await (const sample of data) {
      const label = cursor?.next();
      for (let c = 0; c < conditions.length; c++) {
        check();
        const input: Sample = { ...sample };
        shifted.forEach((spec, j) => { input[spec.name] = shiftTensor(sample[spec.name], conditions[c], dataStd[spec.name], noiseSeed(seed, offset + n, j), layout); });
        const feeds = sampleFeeds(input);
        const y = [(await timedRun(sessions[0], feeds, path.basename(paths[0]))).out[scored].data as Float32Array,
          (await timedRun(sessions[1], feeds, path.basename(paths[1]))).out[scoredQ].data as Float32Array];
        if (n === 0 && c === 0 && label) {
          task = label.length === 1 && Number.isInteger(label[0]) && y[0].length > 1 ? 'classification' : 'regression';
          width = label.length;
          if (task === 'regression' && width !== y[0].length) throw new DataError('shape-mismatch', `Labels ${labels!.source} give ${width} value(s) per sample but output "${scored}" gives ${y[0].length}`, { file: labels!.source });
        }
        const t = tallies[c];
        const pred = y.map((v) => argmax(v));
        for (let m = 0; m < 2; m++) {
          if (task === 'classification') t.correct[m] += +(pred[m] === label![0]);
          else if (task === 'regression') t.sq[m] += errorSums(y[m], label!).sq;
        }
        t.agree += +(pred[0] === pred[1]);
        t.signal += energy(y[0]);
        t.noise += errorSums(y[0], y[1]).sq;
      }
      n++;
      opts.onProgress?.({ step, steps: steps.length, label: steps[step - 1], done: n });
    }
    cursor?.finish(n, opts.limit === undefined || n < opts.limit);
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }

  next();
  const metric = task === 'classification' ? 'top1' : task === 'regression' ? 'mse' : undefined;
  const value = (t: Tally, m: number): number | undefined => (metric === 'top1' ? t.correct[m] / n : metric === 'mse' ? t.sq[m] / (n * width) : undefined);
  const base = tallies[0];
  const rows: RobustnessRow[] = conditions.map((c, i) => {
    const t = tallies[i];
    const row: RobustnessRow = { kind: c.kind, level: c.level, top1Agreement: t.agree / n, sqnrDb: sqnrDb(t.signal, t.noise), fragile: false };
    if (metric) {
      const [f, q, f0, q0] = [value(t, 0)!, value(t, 1)!, value(base, 0)!, value(base, 1)!];
      // a drop is a worsening: accuracy lost, or MSE gained
      const sign = metric === 'top1' ? 1 : -1;
      Object.assign(row, { float: f, quantized: q, delta: f - q, floatDrop: sign * (f0 - f), quantizedDrop: sign * (q0 - q) });
      // the margin keeps a difference of exactly the threshold (0.005 + 0.005 vs 0.01) unflagged
      row.fragile = row.quantizedDrop! - row.floatDrop! > (metric === 'mse' ? threshold * f0 : threshold) + 1e-12;
    } else row.fragile = base.agree / n - row.top1Agreement > threshold + 1e-12;
    return row;
  });
  return {
    float: paths[0], quantized: paths[1], data: data.source, ...(labels ? { labels: labels.source } : {}), offset, samples: n, task,
    ...(metric ? { metric } : {}), output: scored, dataStd, seed, threshold, rows, warnings: [...warnings, ...data.warnings],
  };
}
