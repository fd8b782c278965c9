/**
 * `quantlens sensitivity <model> --data <path>`: quantizes the model (the recipe, or static int8
 * defaults), then measures every layer's sensitivity, layer by layer (core/eval/sweep.ts).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import type { SensitivityReport } from '../core/eval/sensitivity';
import { CliUsageError, countFlag, jsonText, table } from './layers';

export const SENSITIVITY_HELP = `Usage: quantlens sensitivity <model> --data <path> [options]

Quantizes the model (static QDQ: the recipe, or int8 calibrated on the data) and measures, for
every layer, the chosen metric when only that layer is quantized and when every layer but it is
(leave-one-out: what keeping it float recovers). The metric is the output's SQNR against the float
model, or top-1 accuracy with labels. The float and the quantized model run once; each layer's
configurations then run only the part of the model below that layer.
Results are cached by the content of the model, the data and the options.

  --data <path>             Data file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --recipe <file>           Quantization recipe (static mode); default: int8, calibrated on --data
  --metric sqnr|top1        Default: top1 with --labels, else sqnr (top1 without labels: agreement with the float model)
  --labels <path>           Labels: IDX, a CSV / JSON list, or file name -> label
  --limit <n>               Samples to measure on (default 64)
  --offset <n>              Samples to skip first
  --scale 0-255|0-1         8-bit data (IDX, npy, raw): pixel values (default) or divided by 255
  --cache <dir>             Results cache (default ~/.cache/quantlens)
  --no-cache                Neither read nor write the cache
  --threads <n>             onnxruntime intra-op threads (default: onnxruntime's)
  --json                    One record per layer and a summary, as JSON
  --progress                Print each layer as it is measured on stderr (default: when stderr is a terminal)
  -h, --help                Print this help

Example:
  quantlens sensitivity samples/mnist-12.onnx --data samples/mnist-200-images-idx3-ubyte.gz --labels samples/mnist-200-labels-idx1-ubyte.gz`;

export async function sensitivityCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      data: str, recipe: str, metric: str, labels: str, limit: str, offset: str, scale: str, cache: str, 'no-cache': { type: 'boolean' }, threads: str,
      json: { type: 'boolean' }, progress: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(SENSITIVITY_HELP + '\n'); return 0; }
  if (positionals.length !== 1) throw new CliUsageError('sensitivity takes one (float) model.');
  if (!values.data) throw new CliUsageError('sensitivity needs --data <file|folder>.');
  if (values.metric !== undefined && values.metric !== 'sqnr' && values.metric !== 'top1') throw new CliUsageError(`--metric must be sqnr or top1 (got '${values.metric}').`);
  if (values.scale !== undefined && values.scale !== '0-1' && values.scale !== '0-255') throw new CliUsageError(`--scale must be 0-1 or 0-255 (got '${values.scale}').`);
  const { sensitivity } = await import('../core/eval/sensitivity');
  const { defaultCacheDir } = await import('../core/eval/cache');
  const recipe = values.recipe ? (await import('../core/quant/recipe')).loadRecipe(path.resolve(values.recipe)) : undefined;
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  const showProgress = values.progress || (process.stderr.isTTY && !values.json);
  try {
    const report = await sensitivity(positionals[0], {
      data: values.data, recipe, baseDir: values.recipe ? path.dirname(path.resolve(values.recipe)) : undefined,
      metric: values.metric as 'sqnr' | 'top1' | undefined, labels: values.labels,
      limit: countFlag(values.limit, '--limit', 1) ?? 64, offset: countFlag(values.offset, '--offset', 0),
      scale: values.scale as '0-1' | '0-255' | undefined, threads: countFlag(values.threads, '--threads', 1),
      cacheDir: values['no-cache'] ? undefined : (values.cache ?? defaultCacheDir()), signal: ac.signal,
      onLayer: showProgress ? (l) => process.stderr.write(`${l.node}: only ${l.onlyThis.toFixed(3)}, all but ${l.allButThis.toFixed(3)}\n`) : undefined,
    });
    process.stdout.write(values.json ? jsonText(report) : formatSensitivity(report));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'The sensitivity run was cancelled.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

export function formatSensitivity(r: SensitivityReport): string {
  const unit = r.metric === 'sqnr' ? 'dB' : '%';
  const v = (x: number): string => (r.metric === 'sqnr' ? (Number.isFinite(x) ? x.toFixed(2) : String(x)) : (100 * x).toFixed(2));
  const rank = new Map(r.ranking.map((n, i) => [n, i + 1]));
  const rows = [['rank', 'layer', 'op', `only this (${unit})`, `all but this (${unit})`, `recovery (${unit})`]];
  for (const l of [...r.layers].sort((a, b) => rank.get(a.node)! - rank.get(b.node)!)) {
    rows.push([String(rank.get(l.node)), l.node, l.opType, v(l.onlyThis), v(l.allButThis), `${l.recovery >= 0 ? '+' : ''}${v(l.recovery)}`]);
  }
  const name = r.metric === 'sqnr' ? `output SQNR of ${r.output} against the float model` : r.metric === 'top1' ? 'top-1 accuracy' : 'top-1 agreement with the float model';
  const lines = [
    `${path.basename(r.model)}: ${r.layers.length} layers, ${r.samples} samples of ${path.basename(r.data)}; ${name}`,
    `float ${v(r.float)}, every layer quantized ${v(r.quantized)}${r.cached ? ' (from the cache)' : ''}`,
    ...table(rows),
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
