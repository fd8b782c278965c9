/** A robustness check as Markdown: one row per shift kind and level, fragile levels marked. */
import * as path from 'node:path';
import type { RobustnessReport } from '../../eval/robustness';
import { escapeMarkdown, fmt } from './format';

const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(100 * v).toFixed(1)} %`);

export function robustnessMarkdown(r: RobustnessReport): string {
  const metric = r.metric === 'mse' ? (v: number | undefined) => fmt(v) : pct;
  const lines = [
    `## Robustness: ${escapeMarkdown(path.basename(r.float))} against ${escapeMarkdown(path.basename(r.quantized))}`,
    '',
    `${r.samples} samples of ${escapeMarkdown(path.basename(r.data))}; ${r.metric === 'mse' ? 'MSE' : r.metric === 'top1' ? 'top-1 accuracy' : 'no labels: agreement only'}; a level is fragile when the quantized model loses more than ${pct(r.threshold)} beyond the float model's own loss.`,
    '',
    '| shift | level | float | quantized | top-1 agreement | SQNR (dB) | |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of r.rows) {
    lines.push(`| ${row.kind} | ${row.level} | ${metric(row.float)} | ${metric(row.quantized)} | ${pct(row.top1Agreement)} | ${Number.isFinite(row.sqnrDb) ? row.sqnrDb.toFixed(2) : '∞'} | ${row.fragile ? '**fragile**' : ''} |`);
  }
  if (r.warnings.length) lines.push('', ...r.warnings.map((w) => `- ${escapeMarkdown(w)}`));
  return `${lines.join('\n')}\n`;
}
