/**
 * The panel's tables: float against quantized (every number the evaluation measured), and the
 * per-layer list, the keyboard's way to the bars (each row's button selects the layer in the graph;
 * Up/Down move between rows).
 */
import type { EvaluationSummary, ModelRun, ResultsLayer, ResultsMetricInfo } from '../../src/protocol';
import { h } from '../dom';
import { metricName } from './specs';

const RATIOS = new Set(['top1', 'top5', 'macroF1']);

function fmtMetric(key: string, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return RATIOS.has(key) ? `${(100 * v).toFixed(2)} %` : v.toPrecision(4);
}

function fmtDelta(key: string, d: number, ci?: { low: number; high: number; level: number }): string {
  const one = (v: number): string => (RATIOS.has(key) ? `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}` : v.toPrecision(3));
  const unit = RATIOS.has(key) ? ' points' : '';
  return ci ? `${one(d)}${unit} [${one(ci.low)}, ${one(ci.high)}] (${Math.round(ci.level * 100)} % CI)` : `${one(d)}${unit}`;
}

function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(3)} ms`);

/** Rows of model facts: label, and how to read it off a model run. */
const FACTS: Array<[string, (m: ModelRun) => string]> = [
  ['size', (m) => bytes(m.sizeBytes)],
  ['latency p50', (m) => ms(m.latencyP50Ms)],
  ['latency p95', (m) => ms(m.latencyP95Ms)],
  ['throughput', (m) => (m.throughput && Number.isFinite(m.throughput.samplesPerSecond) ? `${m.throughput.samplesPerSecond.toFixed(0)} samples/s (batch ${m.throughput.batch})` : '—')],
  ['session memory', (m) => bytes(m.memoryBytes)],
];

export function evaluationTable(e: EvaluationSummary): HTMLTableElement {
  const float = e.models.find((m) => m.role === 'float') ?? e.models[0];
  const quant = e.models.find((m) => m.role === 'quantized');
  const cols = [float, quant].filter((m): m is ModelRun => !!m);
  const rows: HTMLTableRowElement[] = [];
  const deltaOf = new Map(e.deltas.map((d) => [d.metric, d]));
  const metrics = [...new Set(cols.flatMap((m) => Object.keys(m.metrics)))];
  for (const k of metrics) {
    const d = deltaOf.get(k);
    rows.push(h('tr', {}, h('th', { scope: 'row' }, metricName(k)), ...cols.map((m) => h('td', { class: 'ql-num' }, fmtMetric(k, m.metrics[k]))), h('td', { class: 'ql-num' }, d ? fmtDelta(k, d.delta, d.ci) : '')));
  }
  if (e.agreement) {
    const a = e.agreement;
    rows.push(h('tr', {}, h('th', { scope: 'row' }, 'top-1 agreement'), h('td', { colspan: cols.length, class: 'ql-num' }, fmtMetric('top1', a.top1)), h('td', { class: 'ql-num' }, a.ci ? `[${fmtMetric('top1', a.ci.low)}, ${fmtMetric('top1', a.ci.high)}]` : '')));
    rows.push(h('tr', {}, h('th', { scope: 'row' }, 'output SQNR'), h('td', { colspan: cols.length, class: 'ql-num' }, Number.isFinite(a.sqnrDb) ? `${a.sqnrDb.toFixed(2)} dB` : '∞'), h('td', {})));
  }
  for (const [label, get] of FACTS) rows.push(h('tr', {}, h('th', { scope: 'row' }, label), ...cols.map((m) => h('td', { class: 'ql-num' }, get(m))), h('td', {})));
  return h('table', { class: 'ql-table', 'data-testid': 'results-evaluation-table' },
    h('caption', { class: 'ql-muted' }, `${e.samples} samples of ${e.data} (${e.task})`),
    h('thead', {}, h('tr', {}, h('th', {}, ''), ...cols.map((m) => h('th', { scope: 'col' }, `${m.role}: ${m.name}`)), h('th', { scope: 'col' }, 'float − quantized'))),
    h('tbody', {}, ...rows));
}

/** Most rows the layer table lists (the worst first). */
export const MAX_TABLE_ROWS = 500;

/** Worst-first layers as rows; a row's button (Enter, Space or a click) selects the layer. */
export function layerTable(rows: ResultsLayer[], metric: ResultsMetricInfo, selected: ReadonlySet<string>, onSelect: (node: string) => void): HTMLTableElement {
  const body = h('tbody', {});
  rows.slice(0, MAX_TABLE_ROWS).forEach((l, i) => {
    const button = h('button', { type: 'button', class: 'ql-layer-button', 'data-node': l.node, 'aria-pressed': selected.has(l.node) ? 'true' : 'false' }, l.node);
    button.addEventListener('click', () => onSelect(l.node));
    button.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
      const next = (ev.key === 'ArrowDown' ? button.closest('tr')?.nextElementSibling : button.closest('tr')?.previousElementSibling)?.querySelector('button');
      if (next) {
        ev.preventDefault();
        (next as HTMLButtonElement).focus();
      }
    });
    body.append(h('tr', { 'data-node': l.node, class: selected.has(l.node) ? 'ql-selected' : undefined },
      h('td', { class: 'ql-num' }, String(i + 1)), h('td', {}, button), h('td', { class: 'ql-muted' }, l.opType ?? ''),
      h('td', { class: 'ql-num' }, l.metrics[metric.key].toPrecision(4))));
  });
  return h('table', { class: 'ql-table ql-layer-table', 'data-testid': 'results-layer-table', 'aria-label': `Layers by ${metric.label}, worst first` },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'layer'), h('th', { scope: 'col' }, 'op'), h('th', { scope: 'col', class: 'ql-num' }, metric.label))),
    body);
}

/** Marks the rows of `selected` (the table stays; only its state changes). */
export function markSelectedRows(table: Element, selected: ReadonlySet<string>): void {
  for (const tr of table.querySelectorAll<HTMLTableRowElement>('tbody tr')) {
    const on = selected.has(tr.dataset.node ?? '');
    tr.classList.toggle('ql-selected', on);
    tr.querySelector('button')?.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
}
