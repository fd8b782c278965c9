/**
 * `quantlens evaluate <float> --folds k ...`: k-fold cross-validation of the calibrate-then-
 * evaluate loop (src/core/eval/kfold.ts), its recipe from --recipe and the quantize flags, and
 * its table: one row per fold, then the mean and spread of every metric.
 */
import * as path from 'node:path';
import { ModelError } from '../core/errors';
import type { EvaluateOptions } from '../core/eval/evaluate';
import type { KFoldReport, Spread } from '../core/eval/kfold';
import { CALIBRATION_METHODS } from '../core/quant/calibrators';
import { ACTIVATION_TYPES, loadRecipe, validateRecipe, WEIGHT_TYPES, type Recipe } from '../core/quant/recipe';
import { CliUsageError, jsonText } from './layers';

type Values = Record<string, string | boolean | undefined>;

function oneOf(v: string | boolean | undefined, allowed: readonly string[], flag: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (!allowed.includes(v)) throw new CliUsageError(`${flag} must be one of ${allowed.join(', ')} (got '${v}').`);
  return v;
}

/** The recipe each fold is quantized with: --recipe (or static defaults) under the quantize flags. */
export function foldRecipe(values: Values): Recipe {
  const r: Recipe = typeof values.recipe === 'string' ? loadRecipe(path.resolve(values.recipe)) : { version: 1, mode: 'static' };
  const method = oneOf(values.method, CALIBRATION_METHODS, '--method');
  if (method) r.calibration = { ...(r.calibration ?? {}), method: method as never };
  if (values['per-channel']) r.perChannel = true;
  const a = oneOf(values['activation-type'], ACTIVATION_TYPES, '--activation-type');
  if (a) r.activationType = a as Recipe['activationType'];
  const w = oneOf(values['weight-type'], WEIGHT_TYPES, '--weight-type');
  if (w) r.weightType = w as Recipe['weightType'];
  return validateRecipe(r);
}

export async function evaluateFolds(model: string, values: Values, common: Omit<EvaluateOptions, 'onProgress'>, showProgress: boolean): Promise<number> {
  const k = Number(values.folds);
  if (!Number.isInteger(k) || k < 2) throw new CliUsageError(`--folds needs an integer of at least 2 (got '${String(values.folds)}').`);
  const { kfoldEvaluate } = await import('../core/eval/kfold');
  const report = await kfoldEvaluate(model, {
    ...common, folds: k, recipe: foldRecipe(values),
    onProgress: showProgress ? (p) => process.stderr.write(`${p.label}\n`) : undefined,
  });
  if (!report.perFold.length) throw new ModelError('unsupported', 'No fold was evaluated.');
  process.stdout.write(values.json ? jsonText(report) : formatFolds(report));
  return 0;
}

const fmt = (metric: string, v: number): string => (metric === 'sqnrDb' ? `${v.toFixed(2)} dB` : metric.startsWith('top') ? `${(100 * v).toFixed(2)} %` : v.toFixed(4));
const spreadText = (metric: string, s: Spread | undefined): string => (s ? `${fmt(metric, s.mean)} ± ${fmt(metric, s.std)} [${fmt(metric, s.min)}, ${fmt(metric, s.max)}]` : '');

export function formatFolds(r: KFoldReport): string {
  const lines = [`${r.folds}-fold cross-validation on ${r.samples} samples of ${path.basename(r.data)}${r.labels ? `, labels ${path.basename(r.labels)}` : ''}; ` +
    `each fold quantized (${r.recipe.mode}) on the other folds, evaluated on its own`];
  const metrics = Object.keys(r.perFold[0].float);
  const rows: string[][] = [['fold', 'samples', 'calibrated on', ...metrics.flatMap((m) => [`float ${m}`, `quant ${m}`]), 'agreement', 'SQNR']];
  for (const p of r.perFold) {
    rows.push([String(p.fold), `${p.evaluated[0]}..${p.evaluated[1] - 1}`, String(p.calibrationSamples),
      ...metrics.flatMap((m) => [fmt(m, p.float[m]), fmt(m, p.quantized[m])]), fmt('top1', p.comparison.top1Agreement), fmt('sqnrDb', p.comparison.sqnrDb)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) lines.push(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  lines.push('mean ± std [min, max] over the folds:');
  for (const s of r.summary) {
    lines.push(s.value ? `  ${s.metric}: ${spreadText(s.metric, s.value)}`
      : `  ${s.metric}: float ${spreadText(s.metric, s.float)}; quantized ${spreadText(s.metric, s.quantized)}${s.delta ? `; float - quantized ${spreadText(s.metric, s.delta)}` : ''}`);
  }
  const warnings = new Set([...r.warnings, ...r.perFold.flatMap((p) => p.warnings)]);
  for (const w of warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}
