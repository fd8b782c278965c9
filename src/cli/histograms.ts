/**
 * `quantlens histograms <model> --node <name> --data <path>`: one layer's weight and activation
 * histograms with the quantizer's grid and the share of values it clips (what the results panel
 * draws), as text or JSON.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import type { LayerHistograms } from '../core/eval/histograms';
import type { ClipShare, HistogramBins, QuantGrid } from '../core/eval/histogramBins';
import { CliUsageError, countFlag, jsonText } from './layers';

export const HISTOGRAMS_HELP = `Usage: quantlens histograms <model> --node <name> --data <path> [options]

Histograms of one layer of a float model: its weights and its output activations over the data,
with the quantization grid (scales, zero points, the representable range the quantizer clips to)
and the share of values the grid clips. The grid is the one the quantizer picks for the recipe
(static int8 calibrated on --data by default), or the one a QDQ model given with --quantized holds.
Results are cached by the content of the models, the data and the options.

  --node <name>             The layer (a node name of the model)
  --data <path>             Data file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --recipe <file>           Quantization recipe (static mode); default: int8, calibrated on --data
  --quantized <file>        A QDQ model of this model: show its grids instead of quantizing
  --evaluation <path>       Other data: the share of its activations the grid clips
  --limit <n>               Samples to run (default: the recipe's calibration limit, else 200)
  --offset <n>              Samples to skip first
  --scale 0-255|0-1         8-bit data (IDX, npy, raw): pixel values (default) or divided by 255
  --bins <n>                Bins per histogram (default 128)
  --cache <dir>             Results cache (default ~/.cache/quantlens)
  --no-cache                Neither read nor write the cache
  --json                    The histograms as JSON (bin counts, grids, shares)
  -h, --help                Print this help

Example:
  quantlens histograms samples/mnist-12.onnx --node ReLU32 --data samples/mnist-200-images-idx3-ubyte.gz --limit 50`;

export async function histogramsCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      node: str, data: str, recipe: str, quantized: str, evaluation: str, limit: str, offset: str, scale: str, bins: str, cache: str,
      'no-cache': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(HISTOGRAMS_HELP + '\n'); return 0; }
  if (positionals.length !== 1) throw new CliUsageError('histograms takes one (float) model.');
  if (!values.node) throw new CliUsageError('histograms needs --node <name>.');
  if (!values.data && !values.recipe) throw new CliUsageError('histograms needs --data <file|folder> (or a recipe with calibration data).');
  if (values.recipe && values.quantized) throw new CliUsageError('Give --recipe or --quantized, not both.');
  if (values.scale !== undefined && values.scale !== '0-1' && values.scale !== '0-255') throw new CliUsageError(`--scale must be 0-1 or 0-255 (got '${values.scale}').`);
  const { layerHistograms } = await import('../core/eval/histograms');
  const { defaultCacheDir } = await import('../core/eval/cache');
  const recipe = values.recipe ? (await import('../core/quant/recipe')).loadRecipe(path.resolve(values.recipe)) : undefined;
  const scale = values.scale as '0-1' | '0-255' | undefined;
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const r = await layerHistograms(positionals[0], values.node, {
      data: values.data, recipe, baseDir: values.recipe ? path.dirname(path.resolve(values.recipe)) : undefined, quantized: values.quantized,
      evaluation: values.evaluation ? { data: values.evaluation, scale } : undefined,
      limit: countFlag(values.limit, '--limit', 1), offset: countFlag(values.offset, '--offset', 0), scale, bins: countFlag(values.bins, '--bins', 2),
      cacheDir: values['no-cache'] ? undefined : (values.cache ?? defaultCacheDir()), signal: ac.signal,
    });
    process.stdout.write(values.json ? jsonText(r) : formatHistograms(r));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'The histogram run was cancelled.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

const g4 = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x));
const pct = (c: ClipShare): string => `${g4(100 * c.share)} % (${c.below + c.above} of ${c.values})`;
const BARS = '▁▂▃▄▅▆▇█';

/** The bins as one line of block characters (neighbouring bins summed to at most 64 characters). */
export function sparkline(h: HistogramBins): string {
  const per = Math.ceil(h.counts.length / 64);
  const sums: number[] = [];
  for (let i = 0; i < h.counts.length; i += per) sums.push(h.counts.slice(i, i + per).reduce((a, b) => a + b, 0));
  const top = Math.max(...sums);
  return sums.map((s) => (s === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((s / top) * (BARS.length - 1) + 0.5))])).join('');
}

function gridText(g: QuantGrid): string {
  const params = g.axis === null ? `scale ${g4(g.step)}, zero point ${g.zeroPoints[0]}` : `per channel (axis ${g.axis}, ${g.scales.length} channels), scales ${g4(g.stepMin)} .. ${g4(g.step)}`;
  return `${g.dtype} ${params}; representable [${g4(g.low)}, ${g4(g.high)}]${g.lines.length ? `; ${g.lines.length} grid levels in view` : ''}`;
}

function histText(h: HistogramBins): string[] {
  return [`  ${h.values} values in [${g4(h.min)}, ${g4(h.max)}]${h.nonFinite ? `, ${h.nonFinite} NaN / infinite left out` : ''}; ${h.counts.length} bins of ${g4(h.width)} from ${g4(h.start)}`, `  |${sparkline(h)}|`];
}

export function formatHistograms(r: LayerHistograms): string {
  const a = r.activation;
  const lines = [`${path.basename(r.model)}: ${r.node}${r.analysedNode !== r.node ? ` (as ${r.analysedNode})` : ''}, ${r.opType}; grids from ${r.gridSource === 'recipe' ? 'the recipe\'s quantization' : 'the quantized model'}${r.cached ? ' (from the cache)' : ''}`];
  lines.push(`activation ${a.tensor} over ${a.samples} samples of ${path.basename(r.data)}`, ...histText(a.histogram));
  if (a.grid) lines.push(`  grid: ${gridText(a.grid)}`);
  if (a.calibrated) lines.push(`  calibrated (${a.calibrated.method}) on ${a.calibrated.tensor}: [${g4(a.calibrated.min)}, ${g4(a.calibrated.max)}]`);
  if (a.saturation) lines.push(`  clipped: ${pct(a.saturation)}`);
  if (a.evaluation) lines.push(`  clipped on ${path.basename(a.evaluation.data)} (${a.evaluation.samples} samples): ${pct(a.evaluation)}`);
  for (const w of r.weights) {
    lines.push(`weight ${w.tensor} (input ${w.input}, [${w.shape.join(', ')}])`, ...histText(w.histogram));
    if (w.grid) lines.push(`  grid: ${gridText(w.grid)}`);
    if (w.clipped) lines.push(`  clipped: ${pct(w.clipped)}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
