/**
 * `quantlens autotune <model> --data <path> --budget <expr> --out <recipe.json>`: searches the
 * cheapest per-layer precision plan meeting the budget, checks it on held-out samples and writes
 * it as a recipe.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import type { AutotuneResult } from '../core/eval/autotune';
import { formatValue, unitOf, type BudgetMetric, type BudgetValues } from '../core/eval/budget';
import { CliUsageError, countFlag, jsonText, table } from './layers';

export const AUTOTUNE_HELP = `Usage: quantlens autotune <model> --data <path> --budget <expr> --out <recipe.json> [options]

Automatic mixed precision: finds the per-layer precision plan (int8 / int16 / fp16 / float) with
the lowest cost that meets the budget. Layers are ranked by sensitivity; every step of the search
quantizes the model with a plan and measures it against the float model (the most sensitive
layers promoted, their number bisected, then promoted layers tried back down while the budget
holds). The cheapest passing plan is kept; if none passes, the closest one, said so. The last
samples are held out: the chosen plan is measured on them at the end. The plan is written as a
recipe for 'quantlens quantize --recipe'.

  --data <path>             Data file or folder (npy, npz, pb, IDX, JSON, CSV, images)
  --budget <expr>           accuracy-drop <= P (top-1 points, needs --labels), sqnr >= dB (output
                            SQNR against float), agreement >= % (top-1 agreement); join with "and"
  --out <recipe.json>       Where to write the chosen plan's recipe
  --labels <path>           Labels: IDX, a CSV / JSON list, or file name -> label
  --cost size|bops          Weight bytes (default), or bit-operations (MACs x weight bits x activation bits)
  --limit <n>               Samples to use, tuning and held-out together (default 64)
  --offset <n>              Samples to skip first
  --holdout <n|fraction>    Held-out samples: a count, or a fraction such as 0.25 (default 0.25)
  --scale 0-255|0-1         8-bit data (IDX, npy, raw): pixel values (default) or divided by 255
  --max-steps <n>           Plans to measure at most (default 64)
  --cache <dir>             Sensitivity results cache (default ~/.cache/quantlens)
  --no-cache                Neither read nor write the cache
  --threads <n>             onnxruntime intra-op threads (default: onnxruntime's)
  --json                    The whole result (every measured point, the plan, the held-out check) as JSON
  -h, --help                Print this help

Example:
  quantlens autotune samples/mnist-12.onnx --data samples/mnist-200-images-idx3-ubyte.gz --labels samples/mnist-200-labels-idx1-ubyte.gz --budget 'accuracy-drop <= 0.5 and sqnr >= 45' --out mnist-amp.json`;

/** A count (1 or more) or a fraction in (0, 1). */
function holdoutFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (n >= 1 && !Number.isInteger(n))) throw new CliUsageError(`--holdout needs a count of at least 1 or a fraction in (0, 1) (got '${v}').`);
  return n;
}

export async function autotuneCommand(args: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      data: str, budget: str, out: str, labels: str, cost: str, limit: str, offset: str, holdout: str, scale: str, 'max-steps': str, threads: str,
      cache: str, 'no-cache': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(AUTOTUNE_HELP + '\n'); return 0; }
  if (positionals.length !== 1) throw new CliUsageError('autotune takes one (float) model.');
  if (!values.data) throw new CliUsageError('autotune needs --data <file|folder>.');
  if (!values.budget) throw new CliUsageError("autotune needs --budget <expr>, e.g. --budget 'sqnr >= 30'.");
  if (!values.out) throw new CliUsageError('autotune needs --out <recipe.json>.');
  if (values.cost !== undefined && values.cost !== 'size' && values.cost !== 'bops') throw new CliUsageError(`--cost must be size or bops (got '${values.cost}').`);
  if (values.scale !== undefined && values.scale !== '0-1' && values.scale !== '0-255') throw new CliUsageError(`--scale must be 0-1 or 0-255 (got '${values.scale}').`);
  const { parseBudget } = await import('../core/eval/budget');
  const budget = parseBudget(values.budget);
  const { autotune, writeAutotuneRecipe } = await import('../core/eval/autotune');
  const { defaultCacheDir } = await import('../core/eval/cache');
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  const progress = process.stderr.isTTY && !values.json;
  try {
    const r = await autotune(positionals[0], {
      data: values.data, budget, labels: values.labels, cost: values.cost as 'size' | 'bops' | undefined,
      limit: countFlag(values.limit, '--limit', 2) ?? 64, offset: countFlag(values.offset, '--offset', 0), holdout: holdoutFlag(values.holdout),
      scale: values.scale as '0-1' | '0-255' | undefined, maxMeasurements: countFlag(values['max-steps'], '--max-steps', 1),
      threads: countFlag(values.threads, '--threads', 1), signal: ac.signal,
      cacheDir: values['no-cache'] ? undefined : (values.cache ?? defaultCacheDir()),
      onProgress: progress ? (p) => process.stderr.write(`${p.phase}: ${p.label}\n`) : undefined,
    });
    writeAutotuneRecipe(r, values.out);
    process.stdout.write(values.json ? jsonText({ ...r, recipeFile: path.resolve(values.out) }) : formatAutotune(r, values.out));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'The autotune run was cancelled; no recipe was written.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

const METRICS: BudgetMetric[] = ['sqnr', 'agreement', 'accuracy-drop'];

function valuesText(v: BudgetValues): string {
  return METRICS.filter((m) => v[m] !== undefined).map((m) => `${m} ${formatValue(m, v[m]!)} ${unitOf(m)}`).join(', ');
}

export function formatAutotune(r: AutotuneResult, out: string): string {
  const shown = METRICS.filter((m) => r.points.some((p) => p.values[m] !== undefined));
  const rows = [['step', 'phase', 'above int8', `cost (${r.cost === 'size' ? 'bytes' : 'bit-ops'})`, ...shown.map((m) => `${m} (${unitOf(m)})`), 'budget', 'Pareto', 'plan']];
  for (const p of r.points) {
    rows.push([String(p.step), p.phase, String(p.promoted), String(p.cost), ...shown.map((m) => formatValue(m, p.values[m]!)), p.met ? 'met' : '-', p.pareto ? '*' : '', p.label]);
  }
  const kept = r.layers.filter((l) => l.precision !== 'int8').sort((a, b) => a.rank - b.rank);
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    `${path.basename(r.model)}: budget ${r.budget}; cost ${r.cost}; ${r.tuning.to} tuning samples, ${r.heldOut.samples} held out`,
    `plain int8 (tuning): ${valuesText(r.points[0].values)}`,
    '',
    ...table(rows),
    '',
    r.met ? `Budget met: ${valuesText(r.reached)} (tuning samples).` : `Budget NOT met by any plan measured; the closest plan reached ${valuesText(r.reached)}: ${r.misses.join('; ')}.`,
    `Held-out check (${r.heldOut.samples} samples): ${valuesText(r.heldOut.values)}, budget ${r.heldOut.met ? 'met' : `NOT met (${r.heldOut.misses.join('; ')})`}; plain int8 ${valuesText(r.heldOut.int8)}.`,
    `Layers kept above int8: ${r.keptAboveInt8} of ${r.quantizedOps} quantized ops${kept.length ? `: ${kept.map((l) => `${l.original} ${l.precision} (rank ${l.rank})`).join(', ')}` : ''}.`,
    `Cost: ${r.costs.chosen} (every layer int8 ${r.costs.int8}, every layer float ${r.costs.float}).`,
    `Search time: ${secs(r.timing.totalMs)} (ranking ${secs(r.timing.sensitivityMs)}, ${r.timing.measurements} plans measured in ${secs(r.timing.searchMs)}, held-out check ${secs(r.timing.holdoutMs)}).`,
    `Wrote ${out}`,
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
