/** The report as Markdown fit for a pull-request comment: the evaluation summary, then the worst layers. */
import { defaultMetric, layerMetricKeys, metricLabel, worstLayers, type ResultsReport } from '../model';
import { bytes, escapeMarkdown as md, fmt, metricValue, pct } from './format';

export interface WriteOptions {
  /** The metric layers are ranked by (default: sensitivity, else SQNR, else the first). */
  metric?: string;
  /** How many of the worst layers to list (default 10). */
  top?: number;
}

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const table = (head: string[], rows: string[][]): string[] => [row(head), row(head.map(() => '---')), ...rows.map(row)];

export function summaryTitle(r: ResultsReport): string {
  const m = r.models;
  return r.title ?? (m.float && m.quantized ? `${m.float} vs ${m.quantized}` : m.quantized ?? m.float ?? m.model ?? 'results');
}

export function writeMarkdown(r: ResultsReport, o: WriteOptions = {}): string {
  const out: string[] = [`### QuantLens report: ${md(summaryTitle(r))}`, ''];
  const e = r.evaluation;
  if (e) {
    out.push(`${e.samples} samples of ${md(e.data)}, ${md(e.task)} on output ${md(e.output)}.`, '');
    const models = e.models;
    const head = ['', ...models.map((m) => `${md(m.role)}: ${md(m.name)}`), ...(e.deltas.length ? ['float − quantized [CI]'] : [])];
    const rows: string[][] = [];
    const metricNames = [...new Set(models.flatMap((m) => Object.keys(m.metrics)))];
    for (const k of metricNames) {
      const d = e.deltas.find((x) => x.metric === k);
      rows.push([md(k), ...models.map((m) => metricValue(k, m.metrics[k])), ...(e.deltas.length ? [d ? `${metricValue(k, d.delta)} [${metricValue(k, d.ci?.low)}, ${metricValue(k, d.ci?.high)}]` : ''] : [])]);
    }
    const pad = e.deltas.length ? [''] : [];
    rows.push(['latency p50 / p95', ...models.map((m) => `${fmt(m.latencyP50Ms)} / ${fmt(m.latencyP95Ms)} ms`), ...pad]);
    rows.push(['throughput', ...models.map((m) => (m.throughput ? `${fmt(m.throughput.samplesPerSecond)} samples/s (batch ${m.throughput.batch})` : '')), ...pad]);
    rows.push(['session memory', ...models.map((m) => bytes(m.memoryBytes)), ...pad]);
    rows.push(['file size', ...models.map((m) => bytes(m.sizeBytes)), ...pad]);
    out.push(...table(head, rows), '');
    if (e.agreement) out.push(`Top-1 agreement ${pct(e.agreement.top1)}${e.agreement.ci ? ` [${pct(e.agreement.ci.low)}, ${pct(e.agreement.ci.high)}]` : ''}, output SQNR ${fmt(e.agreement.sqnrDb)} dB, cosine ${fmt(e.agreement.cosineMean, 6)}.`, '');
  }
  const metric = o.metric ?? defaultMetric(r);
  if (metric && r.layers.length) {
    const top = o.top ?? 10;
    const worst = worstLayers(r, metric, top);
    const others = layerMetricKeys(r).filter((k) => k !== metric).slice(0, 4);
    out.push(`**Worst ${worst.length} of ${r.layers.length} layers by ${md(metricLabel(metric))}**`, '');
    out.push(...table(['#', 'layer', 'op', md(metricLabel(metric)), ...others.map((k) => md(metricLabel(k)))],
      worst.map((l, i) => [String(i + 1), md(l.node), md(l.opType ?? ''), metricValue(metric, l.metrics[metric]), ...others.map((k) => metricValue(k, l.metrics[k]))])), '');
  }
  if (r.unmatched.length) out.push(`${r.unmatched.length} imported name(s) match no node of the model: ${r.unmatched.slice(0, 5).map((u) => md(u.name)).join(', ')}${r.unmatched.length > 5 ? ', …' : ''}.`, '');
  for (const w of r.warnings) out.push(`> ${md(w)}`, '');
  out.push(`<sub>${r.sources.map((s) => `${md(s.tool)}${s.file ? ` (${md(s.file)})` : ''}, ${md(s.date.slice(0, 10))}`).join('; ')}</sub>`, '');
  return out.join('\n');
}
