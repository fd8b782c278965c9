/**
 * Evaluation of a model, or of a float model against its quantized version, on a data set: both
 * run in onnxruntime in this process, interleaved unit by unit (their order alternating), so
 * machine noise falls on both alike. Outputs are reduced to per-sample values as they arrive
 * (prediction, label rank, errors), never kept whole; the metrics and the bootstrap intervals are
 * computed from those at the end (./metrics.ts, ./bootstrap.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph, type Dim, type Model } from '../model';
import { openModelFile } from '../open';
import { inputSpecsFromModel, openCalibrationData, type CalibrationData, type ImagePreprocess, type InputSpec, type Sample } from '../data';
import { DataError } from '../data/errors';
import { typeText } from '../data/tensor';
import { createSession, type OrtSession, type OrtTensor } from '../runtime/ort';
import { stackSamples } from '../quant/batching';
import { sampleFeeds } from '../quant/preprocess';
import { AbortError } from '../quant/workers';
import type { BootstrapOptions, Interval } from './bootstrap';
import { drawAhead, type DrawsAhead } from './bootstrapAhead';
import { labelCursor, readLabels, type Labels } from './labels';
import { latencyStats, memoryGrowth, memoryMark, MEMORY_METHOD, primeOnnxruntime, timedRun, type LatencyStats } from './measure';
import { argmax, cosine, energy, errorSums, labelRank, mean, sqnrDb } from './metrics';
import { classificationScores, pairedGroups, pairedKey, pairedScores, regressionScores, type ClassificationScores, type Delta, type PerSample } from './scores';

export type { Delta } from './scores';

export interface EvaluateProgress {
  step: number;
  steps: number;
  label: string;
  /** Samples done in this step, and the fraction when the total is known. */
  done?: number;
  fraction?: number;
}

export interface EvaluateOptions {
  /** Data file or folder (any format the calibration loaders read). */
  data: string;
  /** Labels file (IDX, CSV / TSV / JSON list, or file name -> label). */
  labels?: string;
  offset?: number;
  limit?: number;
  /** How 8-bit data becomes float (see LoadOptions.scale). */
  scale?: '0-1' | '0-255';
  image?: ImagePreprocess;
  /** Samples per run for the throughput figure, when the models take batches (default 8). */
  batch?: number;
  /** Batch-1 runs timed per model for latency when the evaluation itself runs batches (default 100). */
  latencyRuns?: number;
  /** The output scored against labels and for top-1 agreement (default: the first). */
  output?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's). */
  threads?: number;
  bootstrap?: BootstrapOptions;
  /** Draw the bootstrap's resamples in a worker while the models run (./bootstrapAhead.ts); default: with at least 4 logical cores. */
  bootstrapWorker?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: EvaluateProgress) => void;
}

export interface ModelEvaluation {
  role: 'float' | 'quantized' | 'model';
  path: string;
  sizeBytes: number;
  classification?: ClassificationScores;
  regression?: { mse: number; mae: number };
  latency: LatencyStats;
  /** Samples per second of run time at `batch` samples per run. */
  throughput: { batch: number; samplesPerSecond: number };
  memory: { bytes: number; method: string };
}

export interface OutputComparison {
  output: string;
  sqnrDb: number;
  maxAbsError: number;
  cosineMean: number;
  cosineMin: number;
}

export interface EvaluationReport {
  data: string;
  labels?: string;
  offset: number;
  samples: number;
  task: 'classification' | 'regression' | 'unlabelled';
  /** The output scored, and its values per sample (classes, for classification). */
  output: { name: string; perSample: number };
  models: ModelEvaluation[];
  comparison?: {
    top1Agreement: number;
    top1AgreementCi: Interval;
    /** Over the scored output. */
    sqnrDb: number;
    maxAbsError: number;
    cosineMean: number;
    cosineMin: number;
    outputs: OutputComparison[];
  };
  deltas?: Delta[];
  /** Samples per run in the evaluation pass. */
  batch: number;
  warnings: string[];
  timing: { totalMs: number; inferenceMs: number };
}

/** Per-model, per-sample values gathered as outputs arrive. */
interface Track {
  pred: number[];
  rank: number[];
  sq: number[];
  abs: number[];
  times: number[];
  runMs: number;
}

/** Per-output running sums for the float-vs-quantized comparison. */
interface OutputSums {
  name: string;
  signal: number;
  noise: number;
  maxAbs: number;
  cos: number[];
}

const fixedDim = (d: Dim | undefined): d is number => typeof d === 'number';

/** One message naming every input that differs between the float and the quantized model. */
export function checkSameInputs(a: InputSpec[], b: InputSpec[], quantizedPath: string): void {
  const byName = new Map(b.map((i) => [i.name, i]));
  const problems: string[] = [];
  for (const i of a) {
    const j = byName.get(i.name);
    if (!j) { problems.push(`input "${i.name}" is missing`); continue; }
    const shapesFit = !i.shape || !j.shape || (i.shape.length === j.shape.length && i.shape.every((d, k) => !fixedDim(d) || !fixedDim(j.shape![k]) || d === j.shape![k]));
    if (i.dtype !== j.dtype || !shapesFit) problems.push(`input "${i.name}" is ${typeText(j.dtype, j.shape)}, the float model's is ${typeText(i.dtype, i.shape)}`);
  }
  for (const j of b) if (!a.some((i) => i.name === j.name)) problems.push(`it has an extra input "${j.name}"`);
  if (problems.length) {
    throw new ModelError('unsupported', `The quantized model ${quantizedPath} does not take the float model's inputs: ${problems.join('; ')}.`);
  }
}

export async function openOnnx(file: string): Promise<Model> {
  const m = await openModelFile(file);
  if (m.format !== 'onnx') throw new ModelError('unsupported', `Evaluation runs ONNX models in onnxruntime; '${path.basename(file)}' is ${m.format}.`);
  return m;
}

/** The samples the data will give, as far as the labels tell (each sample has one). */
function expectedCount(labels: Labels, data: CalibrationData, offset: number, limit: number | undefined): number {
  const available = (labels.list ? labels.list.length : data.files.length) - offset;
  return limit === undefined ? available : Math.min(Math.max(0, Math.floor(limit)), available);
}

/** Logical cores from which the bootstrap's draws run in a worker beside the models. */
const AHEAD_MIN_CORES = 4;

/** Bytes of input samples read ahead of the runs at a time. */
const READ_BYTES = 64 * 2 ** 20;

/** True when every input's first dim is free, so samples can be stacked along it. */
const takesBatches = (inputs: InputSpec[]): boolean => inputs.every((i) => !!i.shape && i.shape.length > 0 && !fixedDim(i.shape[0]));

/** Evaluates `floatPath` alone, or against `quantizedPath`, on `opts.data`. */
export async function evaluateModels(floatPath: string, quantizedPath: string | undefined, opts: EvaluateOptions): Promise<EvaluationReport> {
  const t0 = performance.now();
  const steps = ['Reading the models', 'Opening onnxruntime sessions', 'Running the models', 'Timing batch-1 latency', 'Computing metrics'];
  let step = 0;
  const signal = opts.signal;
  const check = (): void => { if (signal?.aborted) throw new AbortError('The evaluation was cancelled'); };
  const next = (): void => { check(); step++; opts.onProgress?.({ step, steps: steps.length, label: steps[step - 1] }); };
  const warnings: string[] = [];

  next();
  const paths = [path.resolve(floatPath), ...(quantizedPath ? [path.resolve(quantizedPath)] : [])];
  const models = await Promise.all(paths.map(openOnnx));
  const inputs = inputSpecsFromModel(models[0]);
  if (models[1]) checkSameInputs(inputs, inputSpecsFromModel(models[1]), paths[1]);
  const outNames = models.map((m) => mainGraph(m).outputs);
  const scored = opts.output ?? outNames[0][0];
  if (!outNames[0].includes(scored)) throw new ModelError('unsupported', `The model has no output "${scored}"; its outputs are ${outNames[0].map((n) => `"${n}"`).join(', ')}.`);
  /** For each float output, the quantized model's output compared with it (same name, else same position). */
  let pairs: [string, string][] = [];
  if (models[1]) {
    const q = outNames[1];
    if (outNames[0].every((n) => q.includes(n))) pairs = outNames[0].map((n) => [n, n]);
    else if (q.length === outNames[0].length) {
      pairs = outNames[0].map((n, i) => [n, q[i]]);
      warnings.push(`The quantized model's outputs are named differently (${q.join(', ')}); they are compared by position.`);
    } else throw new ModelError('unsupported', `The quantized model ${paths[1]} has outputs ${q.join(', ')}, the float model ${outNames[0].join(', ')}: they cannot be compared.`);
  }
  const scoredQ = pairs.find((p) => p[0] === scored)?.[1] ?? scored;

  const data: CalibrationData = await openCalibrationData(opts.data, { inputs, offset: opts.offset, limit: opts.limit, scale: opts.scale, image: opts.image });
  const labels = opts.labels ? await readLabels(opts.labels) : undefined;
  const offset = Math.max(0, Math.floor(opts.offset ?? 0));
  const cursor = labels ? labelCursor(labels, data, offset) : undefined;

  const iter = data[Symbol.asyncIterator]();
  const sessions: OrtSession[] = [];
  let ahead: DrawsAhead | undefined;
  try {
    const first = await iter.next();
    if (first.done) throw new DataError('no-data', `${data.source} gives no samples${offset ? ` after offset ${offset}` : ''}.`);
    check();

    // the evaluation pass runs `batch` samples at a time when both models take batches
    const wanted = Math.max(1, Math.floor(opts.batch ?? 8));
    let batch = wanted > 1 && models.every((m) => takesBatches(inputSpecsFromModel(m))) ? wanted : 1;
    let pending: Sample[] = [first.value];
    let head = 0;
    let exhausted = false;
    const bytesOf = (x: Sample): number => Object.values(x).reduce((b, t) => b + t.data.byteLength, 0);
    /**
     * The next n samples. Samples are read in bulk, up to READ_BYTES at a time, so reading does not
     * interleave with the runs: a read step between two runs costs turns of the event loop and the
     * decoder's thread beside onnxruntime's (MNIST: ~25 % more time than reading first).
     */
    const take = async (n: number): Promise<Sample[]> => {
      if (pending.length - head < n && !exhausted) {
        pending = pending.slice(head);
        head = 0;
        let bytes = pending.reduce((b, x) => b + bytesOf(x), 0);
        while ((pending.length < n || bytes < READ_BYTES) && !exhausted) {
          const r = await iter.next();
          if (r.done) exhausted = true;
          else { pending.push(r.value); bytes += bytesOf(r.value); }
          if (pending.length % 256 === 0) check();
        }
      }
      const unit = pending.slice(head, head + n);
      head += unit.length;
      return unit;
    };

    next();
    const sessionOptions = { ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}), extra: { session: { 'intra_op.allow_spinning': '0' } } };
    const memory: number[] = [];
    await primeOnnxruntime();
    const warmUnit = batch > 1 ? await take(batch) : [];
    head -= warmUnit.length; // back in line: they are evaluated too
    if (batch > 1 && warmUnit.length < 2) batch = 1;
    for (let m = 0; m < paths.length; m++) {
      const before = memoryMark();
      const s = await createSession(paths[m], sessionOptions, path.basename(paths[m]));
      sessions.push(s);
      await timedRun(s, sampleFeeds(first.value), path.basename(paths[m]));
      if (batch > 1) {
        const { out } = await timedRun(s, sampleFeeds(stackSamples(warmUnit)), path.basename(paths[m]));
        // a model whose outputs do not follow the batch is run one sample at a time
        if (Object.values(out).some((t) => t.dims[0] !== warmUnit.length)) {
          warnings.push(`${path.basename(paths[m])} does not keep samples apart along the first axis; evaluated one sample per run.`);
          batch = 1;
        }
      }
      memory.push(memoryGrowth(before, memoryMark()));
      check();
    }

    next();
    // the bootstrap's draws, made in a worker while the models run (labelled data: the count is
    // known), where a core is to spare: on two cores the worker slows the runs more than it saves
    if (labels && paths.length === 2 && (opts.bootstrapWorker ?? os.availableParallelism() >= AHEAD_MIN_CORES)) ahead = drawAhead(expectedCount(labels, data, offset, opts.limit), opts.bootstrap);
    const tracks: Track[] = paths.map(() => ({ pred: [], rank: [], sq: [], abs: [], times: [], runMs: 0 }));
    const sums: OutputSums[] = pairs.map(([name]) => ({ name, signal: 0, noise: 0, maxAbs: 0, cos: [] }));
    const classLabels: number[] = [];
    const targetWidth = { value: -1 };
    let task = (labels ? 'classification' : 'unlabelled') as EvaluationReport['task'];
    let perSample = -1;
    const latencyKeep = Math.max(0, Math.floor(opts.latencyRuns ?? 100));
    const keptForLatency: Sample[] = [];
    let samples = 0;
    const names = paths.map((p) => path.basename(p));

    const consume = (outs: Record<string, OrtTensor>[], unit: number, sampleLabels: number[][] | undefined): void => {
      const main = outs[0][scored];
      const per = main.data.length / unit;
      if (perSample < 0) {
        perSample = per;
        if (labels) {
          const l0 = sampleLabels![0];
          const integral = l0.length === 1 && Number.isInteger(l0[0]);
          task = integral && per > 1 ? 'classification' : 'regression';
          // regression intervals are drawn per sample, in this thread
          if (task === 'regression') { ahead?.close(); ahead = undefined; }
          if (task === 'regression' && l0.length !== per) {
            throw new DataError('shape-mismatch', `Labels ${labels.source} give ${l0.length} value(s) per sample but output "${scored}" gives ${per}; class labels are single integers, regression targets one value per output element`, { file: labels.source });
          }
          targetWidth.value = l0.length;
        }
      }
      for (let k = 0; k < unit; k++) {
        const label = sampleLabels?.[k];
        if (task === 'classification') {
          const c = label![0];
          if (label!.length !== 1 || !Number.isInteger(c) || c < 0 || c >= per) {
            throw new DataError('shape-mismatch', `Label ${JSON.stringify(label)} of sample ${offset + samples + k} is not a class of output "${scored}" (0..${per - 1})`, { file: labels!.source });
          }
          classLabels.push(c);
        } else if (task === 'regression' && label!.length !== targetWidth.value) {
          throw new DataError('shape-mismatch', `Labels of sample ${offset + samples + k} have ${label!.length} values, earlier ones ${targetWidth.value}`, { file: labels!.source });
        }
        outs.forEach((o, m) => {
          const y = o[m === 0 ? scored : scoredQ].data as Float32Array;
          const from = k * per;
          const t = tracks[m];
          t.pred.push(argmax(y, from, per));
          if (task === 'classification') t.rank.push(labelRank(y, label![0], from, per));
          else if (task === 'regression') {
            const e = errorSums(y.subarray(from, from + per), label!);
            t.sq.push(e.sq);
            t.abs.push(e.abs);
          }
        });
        // the sample's bootstrap group, for the draws made meanwhile (./bootstrapAhead.ts)
        if (ahead && task === 'classification' && outs.length === 2) {
          const [f, q] = tracks;
          const last = f.pred.length - 1;
          ahead.add(pairedKey(label![0], f.pred[last], q.pred[last], f.rank[last], q.rank[last]));
        }
      }
      if (outs.length < 2) return;
      pairs.forEach(([fName, qName], j) => {
        const f = outs[0][fName].data as Float32Array;
        const q = outs[1][qName].data as Float32Array;
        if (f.length !== q.length) {
          throw new ModelError('unsupported', `Output "${fName}" has ${f.length / unit} values per sample in the float model but ${q.length / unit} in the quantized one.`);
        }
        const s = sums[j];
        const n = f.length / unit;
        for (let k = 0; k < unit; k++) {
          const a = f.subarray(k * n, (k + 1) * n);
          const b = q.subarray(k * n, (k + 1) * n);
          const e = errorSums(a, b);
          s.signal += energy(a);
          s.noise += e.sq;
          if (!(e.max <= s.maxAbs)) s.maxAbs = e.max;
          s.cos.push(cosine(a, b));
        }
      });
    };

    for (let u = 0; ; u++) {
      check();
      const unit = await take(batch);
      if (!unit.length) break;
      const sampleLabels = cursor ? unit.map(() => cursor.next()) : undefined;
      if (batch > 1 && keptForLatency.length < latencyKeep) keptForLatency.push(...unit.slice(0, latencyKeep - keptForLatency.length));
      const feeds = sampleFeeds(stackSamples(unit));
      const outs: Record<string, OrtTensor>[] = [];
      // alternate which model runs first, so neither always runs on a warmer cache
      const order = u % 2 === 0 ? paths.map((_, m) => m) : paths.map((_, m) => paths.length - 1 - m);
      for (const m of order) {
        const { out, ms } = await timedRun(sessions[m], feeds, names[m]);
        outs[m] = out;
        tracks[m].runMs += ms;
        if (batch === 1) tracks[m].times.push(ms);
      }
      consume(outs, unit.length, sampleLabels);
      samples += unit.length;
      opts.onProgress?.({ step, steps: steps.length, label: steps[step - 1], done: samples, fraction: opts.limit ? Math.min(1, samples / opts.limit) : undefined });
    }
    // with a limit reached, the data may hold more samples than were read
    cursor?.finish(samples, exhausted && (opts.limit === undefined || samples < opts.limit));

    next();
    if (batch > 1) {
      // latency at batch 1 on the first samples, interleaved as above
      for (let i = 0; i < keptForLatency.length; i++) {
        check();
        const feeds = sampleFeeds(keptForLatency[i]);
        const order = i % 2 === 0 ? paths.map((_, m) => m) : paths.map((_, m) => paths.length - 1 - m);
        for (const m of order) tracks[m].times.push((await timedRun(sessions[m], feeds, names[m])).ms);
      }
    }

    next();
    const roles: ModelEvaluation['role'][] = paths.length === 2 ? ['float', 'quantized'] : ['model'];
    const classes = perSample;
    const labelArray = Int32Array.from(classLabels);
    const per: PerSample[] = tracks.map((t) => ({
      pred: Int32Array.from(t.pred), rank: Int32Array.from(t.rank), sq: Float64Array.from(t.sq), abs: Float64Array.from(t.abs),
    }));
    const report: ModelEvaluation[] = paths.map((p, m) => ({
      role: roles[m],
      path: p,
      sizeBytes: fs.statSync(p).size,
      ...(task === 'classification' ? { classification: classificationScores(labelArray, per[m], classes) } : {}),
      ...(task === 'regression' ? { regression: regressionScores(per[m], targetWidth.value) } : {}),
      latency: latencyStats(tracks[m].times),
      throughput: { batch, samplesPerSecond: tracks[m].runMs > 0 ? (1000 * samples) / tracks[m].runMs : NaN },
      memory: { bytes: memory[m], method: MEMORY_METHOD },
    }));
    const result: EvaluationReport = {
      data: data.source, ...(labels ? { labels: labels.source } : {}), offset, samples, task, output: { name: scored, perSample },
      models: report, batch, warnings: [...warnings, ...data.warnings], timing: { totalMs: 0, inferenceMs: tracks.reduce((a, t) => a + t.runMs, 0) },
    };
    if (paths.length === 2) {
      const outputs = sums.map((o) => ({ output: o.name, sqnrDb: sqnrDb(o.signal, o.noise), maxAbsError: o.maxAbs, cosineMean: mean(o.cos), cosineMin: o.cos.reduce((a, b) => Math.min(a, b), Infinity) }));
      const sc = outputs.find((o) => o.output === scored)!;
      const streamed = task === 'classification' && ahead?.n === samples && !opts.bootstrap?.drawn;
      const groups = streamed ? ahead!.groups() : pairedGroups(task, per[0], per[1], labelArray);
      const drawn = streamed ? await ahead!.counts().catch(() => undefined) : undefined;
      check();
      const paired = pairedScores(task, per[0], per[1], { labels: labelArray, classes, width: targetWidth.value, bootstrap: { ...opts.bootstrap, drawn }, groups });
      result.comparison = {
        top1Agreement: paired.top1Agreement, top1AgreementCi: paired.top1AgreementCi,
        sqnrDb: sc.sqnrDb, maxAbsError: sc.maxAbsError, cosineMean: sc.cosineMean, cosineMin: sc.cosineMin, outputs,
      };
      if (task !== 'unlabelled') result.deltas = paired.deltas;
    }
    result.timing.totalMs = performance.now() - t0;
    return result;
  } finally {
    ahead?.close();
    await iter.return?.();
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}
