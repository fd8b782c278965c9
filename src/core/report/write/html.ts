/**
 * A self-contained HTML report: static SVG charts inline, tables, no script, and a
 * Content-Security-Policy that forbids every request, so the file opens anywhere, offline.
 */
import { defaultMetric, layerMetricKeys, metricLabel, type ResultsReport } from '../model';
import { curveSpec, evaluationSpec, layerBarsSpec, renderSvg } from './charts';
import { bytes, escapeHtml as h, fmt, metricValue, pct } from './format';
import { summaryTitle, type WriteOptions } from './markdown';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1b1b1b}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:16px 0}figure svg,figure img{max-width:100%;height:auto}
.warn{color:#8a4b00}code{font-size:12px}`;

const tr = (cells: string[], tag = 'td'): string => `<tr>${cells.map((c, i) => `<${tag}${tag === 'td' && i > 0 ? ' class="n"' : ''}>${c}</${tag}>`).join('')}</tr>`;

export interface HtmlOptions extends WriteOptions {
  /** The graph with its overlay as an SVG document (drawn by the editor), embedded as an image. */
  graphSvg?: string;
}

/** The graph's SVG as an <img> data URL: it cannot run script or load anything, whatever names it holds. */
function graphFigure(svg: string, metric: string | undefined): string {
  const alt = metric ? `Graph with the ${metricLabel(metric)} overlay` : 'Graph';
  const src = `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
  return `<h2>Graph</h2><figure class="graph"><img alt="${h(alt)}" src="${src}"></figure>`;
}

export async function writeHtml(r: ResultsReport, o: HtmlOptions = {}): Promise<string> {
  const title = `QuantLens report: ${summaryTitle(r)}`;
  const parts: string[] = [`<h1>${h(title)}</h1>`];
  const charts: { svg: string; caption: string }[] = [];
  const e = r.evaluation;
  if (e) {
    parts.push(`<p>${e.samples} samples of ${h(e.data)}, ${h(e.task)} on output <code>${h(e.output)}</code>.</p>`);
    const metricNames = [...new Set(e.models.flatMap((m) => Object.keys(m.metrics)))];
    const rows = [tr(['', ...e.models.map((m) => `${h(m.role)}: ${h(m.name)}`), ...(e.deltas.length ? ['float − quantized [interval]'] : [])], 'th')];
    const pad = e.deltas.length ? [''] : [];
    for (const k of metricNames) {
      const d = e.deltas.find((x) => x.metric === k);
      rows.push(tr([h(k), ...e.models.map((m) => metricValue(k, m.metrics[k])), ...(e.deltas.length ? [d ? `${metricValue(k, d.delta)} [${metricValue(k, d.ci?.low)}, ${metricValue(k, d.ci?.high)}]` : ''] : [])]));
    }
    rows.push(tr(['latency p50 / p95', ...e.models.map((m) => `${fmt(m.latencyP50Ms)} / ${fmt(m.latencyP95Ms)} ms`), ...pad]));
    rows.push(tr(['throughput', ...e.models.map((m) => (m.throughput ? `${fmt(m.throughput.samplesPerSecond)} samples/s` : '')), ...pad]));
    rows.push(tr(['session memory', ...e.models.map((m) => bytes(m.memoryBytes)), ...pad]));
    rows.push(tr(['file size', ...e.models.map((m) => bytes(m.sizeBytes)), ...pad]));
    parts.push(`<table>${rows.join('')}</table>`);
    if (e.agreement) parts.push(`<p>Top-1 agreement ${pct(e.agreement.top1)}, output SQNR ${fmt(e.agreement.sqnrDb)} dB, cosine ${fmt(e.agreement.cosineMean, 6)}.</p>`);
    const spec = evaluationSpec(e);
    if (spec) charts.push({ svg: await renderSvg(spec), caption: 'Float vs quantized metrics' });
  }
  const metric = o.metric ?? defaultMetric(r);
  if (metric && r.layers.length) {
    const spec = layerBarsSpec(r, metric, o.top ?? 40);
    if (spec) charts.push({ svg: await renderSvg(spec), caption: `Layers by ${metricLabel(metric)}` });
  }
  for (const c of r.curves) {
    const spec = curveSpec(c);
    if (spec) charts.push({ svg: await renderSvg(spec), caption: c.title });
  }
  for (const c of charts) parts.push(`<figure>${c.svg}<figcaption>${h(c.caption)}</figcaption></figure>`);
  // The alt names the metric the image's legend shows (the editor's choice), else the report's.
  if (o.graphSvg) parts.push(graphFigure(o.graphSvg, /<g class="legend" data-metric="(\w+)"/.exec(o.graphSvg)?.[1] ?? metric));
  if (r.layers.length) {
    const keys = layerMetricKeys(r);
    const rows = [tr(['layer', 'op', ...keys.map((k) => h(metricLabel(k)))], 'th'), ...r.layers.map((l) => tr([h(l.node), h(l.opType ?? ''), ...keys.map((k) => metricValue(k, l.metrics[k]))]))];
    parts.push(`<h2>Layers (${r.layers.length})</h2><table>${rows.join('')}</table>`);
  }
  if (r.unmatched.length) {
    parts.push(`<h2>Imported names that match no node (${r.unmatched.length})</h2><table>${tr(['source', 'name', 'reason'], 'th')}${r.unmatched.map((u) => `<tr><td>${h(u.source)}</td><td>${h(u.name)}</td><td>${h(u.reason)}</td></tr>`).join('')}</table>`);
  }
  for (const w of r.warnings) parts.push(`<p class="warn">${h(w)}</p>`);
  parts.push(`<p><small>Sources: ${r.sources.map((s) => `${h(s.tool)}${s.file ? ` (${h(s.file)})` : ''}, ${h(s.date)}`).join('; ')}</small></p>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title><style>${STYLE}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
}
