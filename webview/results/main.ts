/**
 * The results panel's entry: handshake, then draw the newest state the host sends (float against
 * quantized, per-layer bars, the Pareto curve, robustness curves). A bar, a Pareto point or a table
 * row selects its layer in the graph; the graph's selection highlights the bars.
 */
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import './results.css';
import { PROTOCOL_VERSION, type HostToResultsPanel, type LayerHistogramsMessage, type ResultsLayerSet, type ResultsPanelState, type ResultsPanelToHost } from '../../src/protocol';
import { h } from '../dom';
import { drawChart, type Chart } from './chart';
import { layerDetailSection } from './layerDetail';
import { evaluationSpec, layerBarsSpec, MAX_BARS, paretoSpec, readTheme, robustnessSpec, worstFirst } from './specs';
import { evaluationTable, layerTable, markSelectedRows } from './tables';

interface PanelApi {
  postMessage(m: ResultsPanelToHost): void;
  getState(): { metric?: string } | undefined;
  setState(s: { metric?: string }): void;
}
declare function acquireVsCodeApi(): PanelApi;
const vscode = acquireVsCodeApi();

const app = document.getElementById('app')!;
let current: ResultsPanelState | undefined;
let selected = new Set<string>();
let charts: Chart[] = [];
/** Bumped by every render, so a render overtaken by a newer one stops drawing. */
let drawSeq = 0;
/** The selected layer's histograms (or their progress), drawn in their own slot. */
let detail: LayerHistogramsMessage | undefined;
const detailSlot = h('div', { 'data-testid': 'results-detail-slot' });
let detailCharts: Chart[] = [];
let detailSeq = 0;

const chartWidth = (): number => Math.max(240, Math.min(720, app.clientWidth - 220));

/** Draws the selected layer's section into its slot (the rest of the panel stays). */
function renderDetail(): void {
  const seq = ++detailSeq;
  for (const c of detailCharts) c.dispose();
  detailCharts = [];
  if (!detail) return detailSlot.replaceChildren();
  const draws: Array<[HTMLElement, Parameters<typeof drawChart>[1]]> = [];
  detailSlot.replaceChildren(layerDetailSection(detail, chartWidth(), readTheme(), draws));
  void (async () => {
    for (const [box, spec] of draws) {
      try {
        const chart = await drawChart(box, spec);
        if (seq !== detailSeq) return chart.dispose();
        detailCharts.push(chart);
      } catch (err) {
        log('error', `A histogram failed to draw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (seq === detailSeq) detailSlot.dataset.drawn = detail?.node ?? '';
  })();
}

const log = (level: 'warn' | 'error', message: string): void => vscode.postMessage({ type: 'log', level, message });

function selectLayers(nodes: string[]): void {
  if (!nodes.length) return;
  void applySelection(nodes);
  vscode.postMessage({ type: 'selectLayers', nodes });
}

async function applySelection(nodes: readonly string[]): Promise<void> {
  selected = new Set(nodes);
  app.dataset.selected = [...selected].join('\n');
  const table = app.querySelector('[data-testid="results-layer-table"]');
  if (table) markSelectedRows(table, selected);
  await Promise.all(charts.map((c) => c.select(nodes)));
}

function section(title: string, testid: string, ...children: Array<Node | string | undefined>): HTMLElement {
  return h('section', { class: 'ql-results-section', 'data-testid': testid, 'aria-label': title }, h('h2', {}, title), ...children.filter((c) => c !== undefined));
}

function chartBox(testid: string, label: string): HTMLElement {
  return h('div', { class: 'ql-chart', 'data-testid': testid, role: 'figure', 'aria-label': label });
}

/** The metric the bars show: the one picked before (if this result set has it), else the host's choice. */
function barMetric(set: ResultsLayerSet): string {
  const saved = vscode.getState()?.metric;
  return saved && set.metrics.some((m) => m.key === saved) ? saved : set.metric;
}

function layersSection(set: ResultsLayerSet, width: number, draws: Array<() => Promise<Chart | undefined>>): HTMLElement {
  const metric = set.metrics.find((m) => m.key === barMetric(set)) ?? set.metrics[0];
  if (!metric) return section('Layers', 'results-layers', h('p', { class: 'ql-muted' }, 'No per-layer numbers.'));
  const rows = worstFirst(set.layers, metric);
  const picker = h('vscode-single-select', { 'aria-label': 'Metric of the bars', 'data-testid': 'results-metric' },
    ...set.metrics.map((m) => h('vscode-option', { value: m.key, selected: m.key === metric.key }, m.label)));
  picker.addEventListener('change', () => {
    const value = (picker as unknown as { value: string }).value;
    if (value && value !== metric.key) {
      vscode.setState({ ...vscode.getState(), metric: value });
      if (current) render(current);
    }
  });
  const bars = rows.slice(0, MAX_BARS);
  const box = chartBox('results-layers-chart', `Bar chart of ${bars.length} layers by ${metric.label}, worst first`);
  box.dataset.bars = String(bars.length);
  draws.push(() => drawChart(box, layerBarsSpec(bars, metric, width, readTheme()), (d) => typeof d.layer === 'string' && selectLayers([d.layer])));
  const note = `${set.running ? 'Measuring… ' : ''}${rows.length} layers from ${set.source}${rows.length > bars.length ? `; the ${bars.length} worst drawn, all listed below` : ''}.`;
  return section('Layers, worst first', 'results-layers',
    h('div', { class: 'ql-results-toolbar' }, h('label', {}, 'Metric '), picker), h('p', { class: 'ql-muted' }, note), box,
    layerTable(rows, metric, selected, (node) => selectLayers([node])));
}

function render(state: ResultsPanelState): void {
  current = state;
  const seq = ++drawSeq;
  for (const c of charts) c.dispose();
  charts = [];
  selected = new Set(state.selected);
  app.dataset.selected = [...selected].join('\n');
  const theme = readTheme();
  const width = chartWidth();
  const draws: Array<() => Promise<Chart | undefined>> = [];
  const parts: HTMLElement[] = [h('h1', {}, `Results: ${state.fileName}`)];
  const e = state.evaluation;
  if (e) {
    const spec = evaluationSpec(e, theme);
    const box = spec ? chartBox('results-evaluation-chart', 'Float against quantized, with the interval of the difference') : undefined;
    if (spec && box) draws.push(() => drawChart(box, spec));
    parts.push(section('Float vs quantized', 'results-evaluation', evaluationTable(e), box));
  }
  if (state.layers) parts.push(layersSection(state.layers, width, draws));
  // The selected layer's histograms sit under the bars they belong to (or alone, before any results).
  const detailAt = parts.length;
  const p = state.pareto;
  const pSpec = p && paretoSpec(p, width, theme);
  if (p && pSpec) {
    const box = chartBox('results-pareto-chart', `Plans the search measured: ${p.x} against ${p.y}`);
    draws.push(() => drawChart(box, pSpec, (d) => Array.isArray(d.nodes) && selectLayers(d.nodes.filter((n): n is string => typeof n === 'string'))));
    parts.push(section(`Mixed-precision search (${p.budget})`, 'results-pareto', h('p', { class: 'ql-muted' }, 'A point selects the layers its plan keeps above int8; the ringed point is the chosen plan.'), box));
  }
  const r = state.robustness;
  const rSpec = r && robustnessSpec(r, theme);
  if (r && rSpec) {
    const box = chartBox('results-robustness-chart', `${r.metric} of both models under input shifts`);
    draws.push(() => drawChart(box, rSpec));
    const fragile = [...new Set(r.points.filter((x) => x.fragile).map((x) => `${x.kind} ${x.level}`))];
    parts.push(section('Robustness', 'results-robustness',
      h('p', { class: 'ql-muted' }, `${r.samples} samples; ${fragile.length ? `more fragile than float under ${fragile.join(', ')}` : 'no shift makes the quantized model more fragile than the float one'}.`), box));
  }
  if (parts.length === 1) parts.push(h('p', { class: 'ql-muted', 'data-testid': 'results-empty' }, 'No results yet: run Run Sensitivity Analysis, Evaluate Quantized Model…, Check Robustness… or Auto Mixed Precision… on this model.'));
  parts.splice(detailAt, 0, detailSlot);
  app.replaceChildren(...parts);
  void (async () => {
    let marks = 0;
    for (const draw of draws) {
      try {
        const chart = await draw();
        if (seq !== drawSeq) return chart?.dispose();
        if (chart) charts.push(chart);
      } catch (err) {
        log('error', `A results chart failed to draw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await applySelection([...selected]);
    marks = app.querySelectorAll('[data-testid="results-layers-chart"] .mark-rect path').length;
    app.dataset.drawn = String(state.revision);
    vscode.postMessage({ type: 'resultsRendered', revision: state.revision, bars: marks });
  })();
}

window.addEventListener('message', (event: MessageEvent<HostToResultsPanel>) => {
  const msg = event.data;
  switch (msg?.type) {
    case 'resultsState':
      if (!current || msg.state.revision > current.revision) render(msg.state);
      break;
    case 'resultsSelection':
      void applySelection(msg.nodes);
      break;
    case 'layerHistograms':
      detail = msg;
      detailSlot.dataset.drawn = '';
      renderDetail();
      break;
    default:
      break;
  }
});

/** Redraws everything in the current theme and width (the charts' colours and sizes are fixed when drawn). */
function redraw(): void {
  if (current) render(current);
  renderDetail();
}
// VS Code swaps the body's theme class (and the CSS variables) when the colour theme changes.
new MutationObserver(redraw).observe(document.body, { attributes: true, attributeFilter: ['class'] });
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(redraw, 200);
});

vscode.postMessage({ type: 'ready', protocolVersion: PROTOCOL_VERSION });
