/**
 * `quantlens evaluate <model> [<quantized>] --data <path> [options]`: one model's metrics, or a
 * float model and its quantized version side by side with the deltas and their intervals.
 * The help text sits at the top so `--help` needs nothing else from this file.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import type { EvaluationReport, ModelEvaluation } from '../core/eval/evaluate';

export const EVALUATE_HELP = `Usage: quantlens evaluate <model> [<quantized>] --data <path> [options]

Runs a model on a data set in onnxruntime and reports its metrics. Given a quantized version too,
runs both in this process, interleaved, and reports both, how far the quantized outputs are from
the float ones (top-1 agreement, SQNR, cosine, largest error) and float-minus-quantized deltas
with paired bootstrap 95 % intervals. With labels: top-1 / top-5 accuracy, macro F1, per-class
recall and confusion matrix (class labels), or MSE / MAE (regression targets). Always: latency
p50 / p95 at batch 1, throughput, the session's memory and the file size.

  --data <path>             Data file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --labels <path>           Labels: IDX, a CSV / JSON list, or file name -> label (TSV / CSV / JSON)
  --limit <n>               Samples to evaluate (default: all)
  --offset <n>              Samples to skip first
  --scale 0-255|0-1         8-bit data (IDX, npy, raw): pixel values (default) or divided by 255
  --batch <n>               Samples per run for throughput, when the models take batches (default 8)
  --latency-runs <n>        Batch-1 runs timed per model when the evaluation runs batches (default 100)
  --output <name>           The output scored (default: the first)
  --threads <n>             onnxruntime intra-op threads (default: onnxruntime's)
  --resamples <n>           Bootstrap resamples (default 2000)
  --seed <n>                Bootstrap seed (default 1)
  --image-resize <WxH|S>    Images: resize to WxH, or the shorter side to S (default: the input's size)
  --image-crop <WxH>        Images: centre crop after resizing
  --image-scale 0-1|0-255   Images: pixel value range before mean/std (default 0-1)
  --image-mean <m[,m,m]>    Images: per-channel mean to subtract, in the scaled units
  --image-std <s[,s,s]>     Images: per-channel std to divide by
  --image-color rgb|bgr|grayscale
  --image-layout NCHW|NHWC
  --folds <k>               k-fold cross-validation of calibrate-then-evaluate: quantize the float model
                            (static) on k-1 folds, evaluate on the held-out one, for each fold; report
                            per-fold metrics and their mean / std / min / max (one model only)
  --recipe <r.json>         With --folds: the quantization recipe (its calibration data is the folds')
  --method, --per-channel, --activation-type, --weight-type
                            With --folds: quantize options, as in 'quantlens quantize'
  --json                    Print the report as JSON
  --progress                Print the steps on stderr (default: when stderr is a terminal)
  -h, --help                Print this help

Example (a quantized MNIST model against the float one, on the 200 labelled sample images):
  quantlens evaluate samples/mnist-12.onnx mnist-int8.onnx --data samples/mnist-200-images-idx3-ubyte.gz --labels samples/mnist-200-labels-idx1-ubyte.gz

Example (4-fold cross-validation of static int8 quantization on the same images):
  quantlens evaluate samples/mnist-12.onnx --folds 4 --data samples/mnist-200-images-idx3-ubyte.gz --labels samples/mnist-200-labels-idx1-ubyte.gz`;

class EvaluateUsageError extends Error {
  // main() treats ERR_PARSE_ARGS* codes as usage errors (exit 2)
  readonly code = 'ERR_PARSE_ARGS_EVALUATE';
}

function count(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new EvaluateUsageError(`${flag} needs an integer of at least ${min} (got '${v}').`);
  return n;
}

export async function evaluateCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: str, labels: str, limit: str, offset: str, scale: str, batch: str, 'latency-runs': str, output: str, threads: str,
      resamples: str, seed: str, 'image-resize': str, 'image-crop': str, 'image-scale': str, 'image-mean': str, 'image-std': str,
      'image-color': str, 'image-layout': str, folds: str, recipe: str, method: str, 'per-channel': { type: 'boolean' }, 'activation-type': str, 'weight-type': str,
      json: { type: 'boolean' }, progress: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(EVALUATE_HELP + '\n'); return 0; }
  if (positionals.length < 1 || positionals.length > 2) throw new EvaluateUsageError('evaluate takes a model, and optionally its quantized version.');
  if (!values.data) throw new EvaluateUsageError('evaluate needs --data <file|folder>.');
  if (values.scale !== undefined && values.scale !== '0-1' && values.scale !== '0-255') throw new EvaluateUsageError(`--scale must be 0-1 or 0-255 (got '${values.scale}').`);
  const { imageFlags } = await import('./quantize');
  const { evaluateModels } = await import('../core/eval/evaluate');
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  const showProgress = values.progress || (process.stderr.isTTY && !values.json);
  try {
    const common = {
      data: values.data,
      labels: values.labels,
      limit: count(values.limit, '--limit', 1),
      offset: count(values.offset, '--offset', 0),
      scale: values.scale as '0-1' | '0-255' | undefined,
      image: imageFlags(values, undefined),
      batch: count(values.batch, '--batch', 1),
      latencyRuns: count(values['latency-runs'], '--latency-runs', 0),
      output: values.output,
      threads: count(values.threads, '--threads', 1),
      bootstrap: { resamples: count(values.resamples, '--resamples', 10), seed: count(values.seed, '--seed', 0) },
      signal: ac.signal,
    };
    if (values.folds !== undefined) {
      if (positionals.length !== 1) throw new EvaluateUsageError('--folds quantizes the float model once per fold: give the float model only.');
      return await (await import('./evaluateFolds')).evaluateFolds(positionals[0], values, common, !!showProgress);
    }
    const report = await evaluateModels(positionals[0], positionals[1], {
      ...common,
      onProgress: showProgress ? (p) => { if (p.done === undefined) process.stderr.write(`[${p.step}/${p.steps}] ${p.label}\n`); } : undefined,
    });
    // Infinity (identical outputs: SQNR) is not JSON; it is written as the string "Infinity"
    process.stdout.write(values.json ? JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n' : formatReport(report));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'The evaluation was cancelled.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(3)} %`);
const num = (x: number, digits = 5): string => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : String(x));
const signed = (x: number, f: (v: number) => string): string => `${x > 0 ? '+' : ''}${f(x)}`;
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The report as a table: one column per model, then the delta with its interval. */
export function formatReport(r: EvaluationReport): string {
  const lines: string[] = [];
  const name = (m: ModelEvaluation): string => path.basename(m.path);
  lines.push(`${r.samples} samples of ${path.basename(r.data)}${r.offset ? ` from ${r.offset}` : ''}${r.labels ? `, labels ${path.basename(r.labels)}` : ', no labels'}; ` +
    `${r.task === 'classification' ? `classification, ${r.output.perSample} classes` : r.task} on output ${r.output.name}`);
  const rows: string[][] = [['', ...r.models.map((m) => `${m.role} (${name(m)})`), ...(r.deltas ? ['float - quantized [95 % CI]'] : [])]];
  const delta = (metric: string, f: (v: number) => string): string[] => {
    const d = r.deltas?.find((x) => x.metric === metric);
    return d ? [`${signed(d.delta, f)} [${signed(d.ci.low, f)}, ${signed(d.ci.high, f)}]`] : r.deltas ? [''] : [];
  };
  const points = (v: number): string => `${(100 * v).toFixed(3)} pts`;
  if (r.task === 'classification') {
    rows.push(['top-1 accuracy', ...r.models.map((m) => pct(m.classification!.top1)), ...delta('top1', points)]);
    if (r.models[0].classification!.top5 !== undefined) rows.push(['top-5 accuracy', ...r.models.map((m) => pct(m.classification!.top5)), ...delta('top5', points)]);
    rows.push(['macro F1', ...r.models.map((m) => num(m.classification!.macroF1)), ...delta('macroF1', (v) => num(v, 3))]);
  } else if (r.task === 'regression') {
    rows.push(['MSE', ...r.models.map((m) => num(m.regression!.mse)), ...delta('mse', (v) => num(v, 3))]);
    rows.push(['MAE', ...r.models.map((m) => num(m.regression!.mae)), ...delta('mae', (v) => num(v, 3))]);
  }
  rows.push(['latency p50 / p95', ...r.models.map((m) => `${m.latency.p50Ms.toFixed(3)} / ${m.latency.p95Ms.toFixed(3)} ms`)]);
  rows.push([`throughput (batch ${r.batch})`, ...r.models.map((m) => `${m.throughput.samplesPerSecond.toFixed(0)} samples/s`)]);
  rows.push(['session memory', ...r.models.map((m) => mb(m.memory.bytes))]);
  rows.push(['file size', ...r.models.map((m) => `${m.sizeBytes.toLocaleString('en-US')} bytes`)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  for (const row of rows) lines.push(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  const c = r.comparison;
  if (c) {
    lines.push(`float vs quantized: top-1 agreement ${pct(c.top1Agreement)} [${pct(c.top1AgreementCi.low)}, ${pct(c.top1AgreementCi.high)}], ` +
      `SQNR ${num(c.sqnrDb, 4)} dB, cosine mean ${num(c.cosineMean, 6)} (min ${num(c.cosineMin, 4)}), max abs error ${num(c.maxAbsError, 4)}`);
    for (const o of c.outputs.filter((x) => x.output !== r.output.name)) {
      lines.push(`  output ${o.output}: SQNR ${num(o.sqnrDb, 4)} dB, cosine mean ${num(o.cosineMean, 6)}, max abs error ${num(o.maxAbsError, 4)}`);
    }
  }
  if (r.task === 'classification' && r.output.perSample <= 20) {
    lines.push('per-class recall:');
    for (let k = 0; k < r.output.perSample; k++) {
      lines.push(`  ${String(k).padStart(2)}  ${r.models.map((m) => pct(m.classification!.perClassRecall[k] ?? undefined).padStart(10)).join('  ')}`);
    }
  }
  lines.push(`memory: ${r.models[0].memory.method}; latency and throughput: onnxruntime run time, ${r.deltas || r.comparison ? 'the models interleaved' : 'one model'}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
