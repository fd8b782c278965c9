/**
 * `quantlens quantize <model> --out <file> [options]`. Command-line flags override the recipe's
 * fields, and the recipe actually used is recorded in the output model's metadata.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from '../core/errors';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../core/quant/calibrators';
import {
  ACTIVATION_TYPES, QUANT_MODES, WEIGHT_TYPES, exportOrtConfig, loadRecipe, validateRecipe,
  type QuantMode, type Recipe, type RecipeActivationType, type RecipeWeightType,
} from '../core/quant/recipe';
import { quantizeModel, type QuantizeSummary } from '../core/quant/quantize';
import { splitNotes } from '../core/resultNotes';
import { QUANTIZE_HELP } from './quantizeHelp';

class QuantizeUsageError extends Error {
  // main() treats ERR_PARSE_ARGS* codes as usage errors (exit 2)
  readonly code = 'ERR_PARSE_ARGS_QUANTIZE';
}

function pick<T extends string>(v: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new QuantizeUsageError(`${flag} must be one of ${allowed.join(', ')} (got '${v}').`);
  return v as T;
}

type ImageOptions = NonNullable<NonNullable<Recipe['calibration']>['image']>;

function size(v: string, flag: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(v);
  if (!m) throw new QuantizeUsageError(`${flag} takes WxH, e.g. 224x224 (got '${v}').`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

function numbers(v: string, flag: string): number[] {
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (!xs.length || xs.length > 3 || xs.some((x) => !Number.isFinite(x))) throw new QuantizeUsageError(`${flag} takes one or three numbers separated by commas (got '${v}').`);
  return xs;
}

/** The --image-* flags over the recipe's image pre-processing (undefined when none is given). */
export function imageFlags(values: Record<string, string | boolean | undefined>, base: ImageOptions | undefined): ImageOptions | undefined {
  const get = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] as string : undefined);
  if (!['image-resize', 'image-crop', 'image-scale', 'image-mean', 'image-std', 'image-color', 'image-layout'].some((k) => get(k) !== undefined)) return undefined;
  const o: ImageOptions = { ...(base ?? {}) };
  const resize = get('image-resize');
  if (resize) o.resize = /^\d+$/.test(resize) ? { shorterSide: Number(resize) } : size(resize, '--image-resize');
  const crop = get('image-crop');
  if (crop) o.crop = size(crop, '--image-crop');
  const scale = pick(get('image-scale'), ['0-1', '0-255'] as const, '--image-scale');
  if (scale) o.scale = scale;
  const mean = get('image-mean');
  if (mean) o.mean = numbers(mean, '--image-mean');
  const std = get('image-std');
  if (std) o.std = numbers(std, '--image-std');
  const color = pick(get('image-color'), ['rgb', 'bgr', 'grayscale'] as const, '--image-color');
  if (color) o.color = color;
  const layout = pick(get('image-layout'), ['NCHW', 'NHWC'] as const, '--image-layout');
  if (layout) o.layout = layout;
  return o;
}

export async function quantizeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      recipe: { type: 'string' },
      mode: { type: 'string' },
      calibration: { type: 'string' },
      limit: { type: 'string' },
      method: { type: 'string' },
      'per-channel': { type: 'boolean' },
      'activation-type': { type: 'string' },
      'weight-type': { type: 'string' },
      synthetic: { type: 'string' },
      'image-resize': { type: 'string' },
      'image-crop': { type: 'string' },
      'image-scale': { type: 'string' },
      'image-mean': { type: 'string' },
      'image-std': { type: 'string' },
      'image-color': { type: 'string' },
      'image-layout': { type: 'string' },
      ranges: { type: 'string' },
      'save-recipe': { type: 'string' },
      'export-ort': { type: 'string' },
      json: { type: 'boolean' },
      progress: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(QUANTIZE_HELP + '\n'); return 0; }
  if (positionals.length !== 1) throw new QuantizeUsageError('quantize takes exactly one model path.');
  if (!values.out) throw new QuantizeUsageError('quantize needs --out <file>.');
  const base: Recipe = values.recipe ? loadRecipe(path.resolve(values.recipe)) : { version: 1, mode: 'static' };
  const r: Recipe = JSON.parse(JSON.stringify(base)) as Recipe;
  const mode = pick<QuantMode>(values.mode, QUANT_MODES, '--mode');
  if (mode) r.mode = mode;
  const cal = { ...(r.calibration ?? {}) };
  if (values.calibration) { cal.data = path.resolve(values.calibration); delete cal.synthetic; }
  if (values.synthetic) {
    const n = Number(values.synthetic);
    if (!Number.isInteger(n) || n < 1) throw new QuantizeUsageError(`--synthetic needs a positive sample count (got '${values.synthetic}').`);
    if (values.calibration) throw new QuantizeUsageError('--synthetic and --calibration cannot both be given.');
    cal.synthetic = { count: n };
    delete cal.data;
  }
  if (values.limit) {
    const n = Number(values.limit);
    if (!Number.isInteger(n) || n < 1) throw new QuantizeUsageError(`--limit needs a positive integer (got '${values.limit}').`);
    cal.limit = n;
  }
  const image = imageFlags(values, cal.image);
  if (image) cal.image = image;
  const method = pick<CalibrationMethod>(values.method, CALIBRATION_METHODS, '--method');
  if (method) cal.method = method;
  if (Object.keys(cal).length) r.calibration = cal;
  if (values['per-channel']) r.perChannel = true;
  const at = pick<RecipeActivationType>(values['activation-type'], ACTIVATION_TYPES, '--activation-type');
  if (at) r.activationType = at;
  const wt = pick<RecipeWeightType>(values['weight-type'], WEIGHT_TYPES, '--weight-type');
  if (wt) r.weightType = wt;
  const recipe = validateRecipe(r, 'from the command line');
  if (recipe.mode === 'static' && !recipe.calibration?.data && !recipe.calibration?.synthetic) {
    throw new ModelError('unsupported', 'Static quantization needs calibration data: give --calibration <file|folder> (or --synthetic <n> for a trial run).');
  }

  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const res = await quantizeModel(positionals[0], values.out, {
      recipe,
      baseDir: values.recipe ? path.dirname(path.resolve(values.recipe)) : process.cwd(),
      signal: ac.signal,
      rangesPath: values.ranges,
      // progress lines on a terminal (or on request), so an error stays the only stderr line in scripts
      onProgress: !(values.progress || (process.stderr.isTTY && !values.json)) ? undefined : (p) => { if (p.fraction === undefined) process.stderr.write(`[${p.step}/${p.steps}] ${p.label}\n`); },
    });
    if (values['save-recipe']) fs.writeFileSync(values['save-recipe'], JSON.stringify(recipe, null, 2) + '\n');
    if (values['export-ort']) {
      const ex = exportOrtConfig(recipe);
      fs.writeFileSync(values['export-ort'], values['export-ort'].endsWith('.py') ? ex.python : JSON.stringify(ex.config, null, 2) + '\n');
    }
    process.stdout.write(values.json ? JSON.stringify(res.summary, null, 2) + '\n' : formatSummary(res.summary));
    return 0;
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new ModelError('io', 'Quantization was cancelled; no output was written.');
    throw e;
  } finally {
    process.removeListener('SIGINT', onSig);
  }
}

function formatSummary(s: QuantizeSummary): string {
  const lines = [
    `${s.mode} quantization: ${s.source} -> ${s.output}`,
    `size ${s.sizeBefore} -> ${s.sizeAfter} bytes (${((100 * s.sizeAfter) / s.sizeBefore).toFixed(1)} %), nodes ${s.nodesBefore} -> ${s.nodesAfter}, opset ${s.opset}`,
    `quantized: ${Object.entries(s.quantizedByOp).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
  ];
  lines.push(formatCheck(s.check));
  if (s.calibration) lines.push(`calibration: ${s.calibration.samples} samples, ${s.calibration.method}, ${s.calibration.tensors} tensors${s.calibration.batch > 1 ? `, ${s.calibration.batch} samples per run` : ''}${s.calibration.synthetic ? ' (SYNTHETIC DATA)' : ''}`);
  if (s.leftFloat.length) {
    lines.push(`left float (${s.leftFloat.length}):`);
    for (const f of s.leftFloat.slice(0, 50)) lines.push(`  ${f.graph ? `${f.graph}: ` : ''}${f.node} (${f.opType}): ${f.reason}`);
    if (s.leftFloat.length > 50) lines.push(`  ... and ${s.leftFloat.length - 50} more`);
  }
  const notes = splitNotes(s.warnings);
  for (const n of notes.info) lines.push(`note: ${n}`);
  for (const w of notes.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

/** The measured output check in one line: worst SQNR, top-1 agreement, on what, and whether it is poor. */
export function formatCheck(c: QuantizeSummary['check']): string {
  if (c.skipped) return `check: not run (${c.skipped})`;
  const worst = c.outputs.reduce((a, b) => (b.sqnrDb < a.sqnrDb ? b : a));
  const many = c.outputs.length > 1 ? ` (worst of ${c.outputs.length} outputs: '${worst.output}')` : '';
  const top1 = c.top1Agreement !== undefined ? `, top-1 agreement ${(100 * c.top1Agreement).toFixed(0)} %` : '';
  return `check: output SQNR ${c.sqnrDb.toFixed(1)} dB${many}${top1} against the float model on ${c.samples} ${c.source} sample${c.samples === 1 ? '' : 's'}, ${c.poor ? `POOR (expected at least ${c.thresholdDb} dB)` : `expected at least ${c.thresholdDb} dB`}; ${c.ms.toFixed(0)} ms`;
}
