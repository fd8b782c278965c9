/** Number formatting and escaping shared by the writers. Model strings are data: always escaped. */

/** Four significant digits; Infinity / NaN spelled out. */
export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e7)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

export const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? fmt(v) : `${(100 * v).toFixed(2)} %`);
export const bytes = (b: number | undefined): string => (b === undefined ? '' : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

/** Accuracy-like metrics are shares (shown in %); the rest plain numbers. */
export const SHARE_METRICS = new Set(['top1', 'top5', 'saturation', 'top1Agreement']);
export const metricValue = (metric: string, v: number | undefined): string => (SHARE_METRICS.has(metric) ? pct(v) : fmt(v));

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * Text safe in a GitHub Markdown table cell: HTML-significant characters as entities, Markdown
 * punctuation backslash-escaped, the cell separator escaped, line breaks as spaces.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]~|])/g, '\\$1');
}

/** JSON with Infinity / NaN as strings (as the CLI's --json writes them). */
export const jsonWithNonFinite = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 2) + '\n';
