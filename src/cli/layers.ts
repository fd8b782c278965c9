/**
 * `quantlens layers <float> <quantized> --data <path>`: per-layer error of a QDQ model against its
 * float model, every layer in one run, with the saturation of each output quantizer.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import type { LayersReport } from '../core/eval/layers';

export const LAYERS_HELP = `Usage: quantlens layers <float> <quantized> --data <path> [options]

Compares every quantized op of a QDQ model (as 'quantlens quantize' writes) with the same-named op
of its float model, in one run over the data: SQNR, MSE and cosine between the float and the
dequantized activations, the weight quantization error, and the saturation rate (the share of
values the output quantizer clips). A high rate means the calibration data does not represent
these inputs.

  --data <path>             Data file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --limit <n>               Samples to run (default: all)
  --offset <n>              Samples to skip first
  --scale 0-255|0-1         8-bit data (IDX, npy, raw): pixel values (default) or divided by 255
  --saturation-warn <r>     Flag layers clipping at least this share of values (default 0.01)
  --threads <n>             onnxruntime intra-op threads (default: onnxruntime's)
  --json                    One record per layer and a summary, as JSON
  -h, --help                Print this help

Example:
  quantlens layers samples/mnist-12.onnx mnist-int8.onnx --data samples/mnist-200-images-idx3-ubyte.gz --limit 100`;

export class CliUsageError extends Error {
  // main() treats ERR_PARSE_ARGS* codes as usage errors (exit 2)
  readonly code = 'ERR_PARSE_ARGS_EVAL';
}

export function countFlag(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliUsageError(`${flag} needs an integer of at least ${min} (got '${v}').`);
  return n;
}

/** Infinity and NaN are not JSON: written as strings. */
export const jsonText = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 2) + '\n';

export async function layersCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { data: str, limit: str, offset: str, scale: str, 'saturation-warn': str, threads: str, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) { process.stdout.write(LAYERS_HELP + '\n'); return 0; }
  if (positionals.length !== 2) throw new CliUsageError('layers takes a float model and its quantized (QDQ) version.');
  if (!values.data) throw new CliUsageError('layers needs --data <file|folder>.');
  if (values.scale !== undefined && values.scale !== '0-1' && values.scale !== '0-255') throw new CliUsageError(`--scale must be 0-1 or 0-255 (got '${values.scale}').`);
  const warn = values['saturation-warn'] === undefined ? undefined : Number(values['saturation-warn']);
  if (warn !== undefined && !(warn >= 0 && warn <= 1)) throw new CliUsageError(`--saturation-warn needs a share in [0, 1] (got '${values['saturation-warn']}').`);
  const { layerErrors } = await import('../core/eval/layers');
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const report = await layerErrors(positionals[0], positionals[1], {
      data: values.data, limit: countFlag(values.limit, '--limit', 1), offset: countFlag(values.offset, '--offset', 0),
      scale: values.scale as '0-1' | '0-255' | undefined, saturationWarn: warn, threads: countFlag(values.threads, '--threads', 1), signal: ac.signal,
    });
    process.stdout.write(values.json ? jsonText(report) : formatLayers(report));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'The per-layer run was cancelled.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

const db = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const g4 = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x));

/** Rows and columns padded to their widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
}

export function formatLayers(r: LayersReport): string {
  const rows = [['layer', 'op', 'SQNR dB', 'MSE', 'cosine', 'weight SQNR dB', 'saturation']];
  for (const l of r.layers) {
    const w = l.weights[0];
    rows.push([
      l.node, l.opType, `${db(l.activation.sqnrDb)}${l.outputQuantized ? '' : '*'}`, g4(l.activation.mse), l.activation.cosine.toFixed(6),
      w ? db(w.error.sqnrDb) : '-', l.saturation ? `${(100 * l.saturation.rate).toFixed(2)} %${l.saturation.flagged ? ' !' : ''}` : '-',
    ]);
  }
  const lines = [`${r.samples} samples of ${path.basename(r.data)}: ${r.layers.length} layers of ${path.basename(r.quantized)} against ${path.basename(r.float)}`, ...table(rows)];
  lines.push('* output not quantized on its own (fused into the next op, or a model output): the error of its quantized inputs and weights; ! clips at least ' + `${(100 * r.summary.saturationWarn).toFixed(1)} % of values`);
  for (const o of r.summary.outputs) lines.push(`output ${o.output}: SQNR ${db(o.error.sqnrDb)} dB, cosine ${o.error.cosine.toFixed(6)}, max abs error ${g4(o.error.maxAbsError)}`);
  for (const u of r.unmatched) lines.push(`not compared: ${u.node} (${u.opType}): ${u.reason}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
