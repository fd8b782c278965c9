/**
 * `quantlens robustness <float> <quantized> --data <path>`: float against quantized under input
 * shifts (noise, brightness, scale, blur) at several levels, flagging the levels where quantization
 * makes the model more fragile than its float baseline.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import type { RobustnessReport } from '../core/eval/robustness';
import { DEFAULT_LEVELS, parseShiftLevels, SHIFT_KINDS, SHIFT_UNITS, ShiftSpecError } from '../core/eval/shifts';
import { CliUsageError, countFlag, jsonText } from './layers';

export const ROBUSTNESS_HELP = `Usage: quantlens robustness <float> <quantized> --data <path> [options]

Runs a float model and its quantized version on the data shifted by each kind and level, and
reports per level each model's metric (top-1 accuracy with class labels, MSE with targets), the
delta, top-1 agreement and SQNR between the two. A level is flagged fragile when the quantized
model loses more there than the float one, by more than --threshold. Level 0 is the unshifted data.

Shift kinds and what a level means (defaults in brackets):
${SHIFT_KINDS.map((k) => `  ${k.padEnd(11)} ${SHIFT_UNITS[k]} [${DEFAULT_LEVELS[k].join(', ')}]`).join('\n')}

  --data <path>             Data file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --labels <path>           Labels: IDX, a CSV / JSON list, or file name -> label (TSV / CSV / JSON)
  --levels <spec>           Kinds and levels, e.g. noise=0.1,0.2 (repeatable; a kind alone takes its
                            defaults; a bare list applies to every kind). Default: every kind
  --limit <n>               Samples to use (default: all)
  --offset <n>              Samples to skip first
  --scale 0-255|0-1         8-bit data (IDX, npy, raw): pixel values (default) or divided by 255
  --seed <n>                Noise seed (default 1)
  --threshold <x>           Flag a level when the quantized drop exceeds the float drop by more than
                            x (default 0.01: one accuracy point; relative to the float MSE)
  --layout NCHW|NHWC        Layout of image inputs for blur (default: from the shape)
  --output <name>           The output scored (default: the first)
  --threads <n>             onnxruntime intra-op threads (default: onnxruntime's)
  --json                    Print the report as JSON
  -h, --help                Print this help

Example (the sample images, noise and blur only):
  quantlens robustness samples/mnist-12.onnx mnist-int8.onnx --data samples/mnist-200-images-idx3-ubyte.gz --labels samples/mnist-200-labels-idx1-ubyte.gz --levels noise=0.1,0.3 --levels blur=1`;

export async function robustnessCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      data: str, labels: str, levels: { type: 'string', multiple: true }, limit: str, offset: str, scale: str, seed: str, threshold: str, layout: str, output: str, threads: str,
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(ROBUSTNESS_HELP + '\n'); return 0; }
  if (positionals.length !== 2) throw new CliUsageError('robustness takes a float model and its quantized version.');
  if (!values.data) throw new CliUsageError('robustness needs --data <file|folder>.');
  if (values.scale !== undefined && values.scale !== '0-1' && values.scale !== '0-255') throw new CliUsageError(`--scale must be 0-1 or 0-255 (got '${values.scale}').`);
  if (values.layout !== undefined && values.layout !== 'NCHW' && values.layout !== 'NHWC') throw new CliUsageError(`--layout must be NCHW or NHWC (got '${values.layout}').`);
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(threshold >= 0)) throw new CliUsageError(`--threshold needs a number of at least 0 (got '${values.threshold}').`);
  let shifts;
  try {
    shifts = values.levels === undefined ? undefined : parseShiftLevels(values.levels.join(' '));
  } catch (e) {
    if (e instanceof ShiftSpecError) throw new CliUsageError(e.message);
    throw e;
  }
  const { robustness } = await import('../core/eval/robustness');
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const report = await robustness(positionals[0], positionals[1], {
      data: values.data, labels: values.labels, shifts, limit: countFlag(values.limit, '--limit', 1), offset: countFlag(values.offset, '--offset', 0),
      scale: values.scale as '0-1' | '0-255' | undefined, seed: countFlag(values.seed, '--seed', 0), threshold, layout: values.layout as 'NCHW' | 'NHWC' | undefined,
      output: values.output, threads: countFlag(values.threads, '--threads', 1), signal: ac.signal,
    });
    process.stdout.write(values.json ? jsonText(report) : formatRobustness(report));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'The robustness run was cancelled.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

export function formatRobustness(r: RobustnessReport): string {
  const f = (v: number | undefined): string => (v === undefined ? '-' : r.metric === 'top1' ? `${(100 * v).toFixed(2)} %` : Number(v.toPrecision(4)).toString());
  const name = r.metric === 'top1' ? 'top-1' : r.metric === 'mse' ? 'MSE' : '';
  const lines = [`${r.samples} samples of ${path.basename(r.data)}${r.labels ? `, labels ${path.basename(r.labels)}` : ', no labels'}; ` +
    `data std ${Object.entries(r.dataStd).map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`).join(', ')}; noise seed ${r.seed}`];
  const rows: string[][] = [['shift', 'level', ...(r.metric ? [`float ${name}`, `quant ${name}`, 'float - quant', 'float drop', 'quant drop'] : []), 'agreement', 'SQNR', '']];
  for (const x of r.rows) {
    rows.push([x.kind, String(x.level), ...(r.metric ? [f(x.float), f(x.quantized), f(x.delta), f(x.floatDrop), f(x.quantizedDrop)] : []),
      `${(100 * x.top1Agreement).toFixed(2)} %`, `${x.sqnrDb.toFixed(2)} dB`, x.fragile ? 'FRAGILE' : '']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) lines.push(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  const fragile = r.rows.filter((x) => x.fragile);
  lines.push(fragile.length
    ? `FRAGILE: at ${fragile.map((x) => `${x.kind} ${x.level}`).join(', ')} the quantized model loses more than the float one by over ${r.threshold}${r.metric === 'mse' ? ' x the float MSE' : ''}.`
    : `No level where the quantized model loses more than the float one by over ${r.threshold}.`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
