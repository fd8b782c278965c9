/**
 * The results panel's charts as Vega-Lite specs, coloured from the VS Code theme. The per-layer bars
 * and the Pareto points carry a `selectedNodes` signal, so a selection in the graph highlights them
 * without redrawing.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { EvaluationSummary, ParetoView, ResultsLayer, ResultsMetricInfo, RobustnessView } from '../../src/protocol';

export interface Theme {
  fg: string;
  muted: string;
  grid: string;
  bar: string;
  alt: string;
  highlight: string;
  font: string;
}

/** Theme colours from VS Code's CSS variables (fallbacks for a page outside VS Code). */
export function readTheme(el: Element = document.body): Theme {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: v('--vscode-foreground', '#333333'),
    muted: v('--vscode-descriptionForeground', '#717171'),
    grid: v('--vscode-editorWidget-border', '#c8c8c8'),
    bar: v('--vscode-charts-blue', '#1f78b4'),
    alt: v('--vscode-charts-orange', '#d95f02'),
    highlight: v('--vscode-charts-yellow', '#e6ab02'),
    font: v('--vscode-font-family', 'sans-serif'),
  };
}

/** The signal holding the selected node names. */
export const SELECTED = 'selectedNodes';
const IS_SELECTED = `indexof(${SELECTED}, datum.layer) >= 0`;

export function chartConfig(t: Theme): NonNullable<TopLevelSpec['config']> {
  const text = { labelColor: t.fg, titleColor: t.fg };
  return {
    background: 'transparent',
    font: t.font,
    view: { stroke: null },
    title: { color: t.fg },
    axis: { ...text, domainColor: t.muted, tickColor: t.muted, gridColor: t.grid, labelLimit: 220 },
    legend: text,
    header: text,
  };
}

/** How many bars the chart draws at most (the table below lists every layer). */
export const MAX_BARS = 60;

/** Layers that have `metric`, worst first; ties keep graph order. */
export function worstFirst(layers: ResultsLayer[], metric: ResultsMetricInfo): ResultsLayer[] {
  const sign = metric.worse === 'high' ? -1 : 1;
  return layers
    .filter((l) => Number.isFinite(l.metrics[metric.key]))
    .map((l, i) => ({ l, i }))
    .sort((a, b) => sign * (a.l.metrics[metric.key] - b.l.metrics[metric.key]) || a.i - b.i)
    .map((x) => x.l);
}

/** Per-layer bars, worst at the top. */
export function layerBarsSpec(rows: ResultsLayer[], metric: ResultsMetricInfo, width: number, t: Theme): TopLevelSpec {
  return {
    config: chartConfig(t),
    width,
    height: { step: 18 },
    params: [{ name: SELECTED, value: [] }],
    data: { values: rows.map((l, i) => ({ rank: i + 1, layer: l.node, op: l.opType ?? '', value: l.metrics[metric.key] })) },
    mark: { type: 'bar', cursor: 'pointer' },
    encoding: {
      y: { field: 'layer', type: 'nominal', sort: null, title: null },
      x: { field: 'value', type: 'quantitative', title: metric.label },
      color: { condition: { test: IS_SELECTED, value: t.highlight }, value: t.bar },
      tooltip: [{ field: 'layer' }, { field: 'op' }, { field: 'value', format: '.4~g' }],
    },
  };
}

const METRIC_NAMES: Record<string, string> = { top1: 'top-1', top5: 'top-5', macroF1: 'macro F1', mse: 'MSE', mae: 'MAE' };
export const metricName = (k: string): string => METRIC_NAMES[k] ?? k;

/** Float and quantized bars per metric; the quantized bar carries the interval of the paired delta. */
export function evaluationSpec(e: EvaluationSummary, t: Theme): TopLevelSpec | undefined {
  const deltas = e.deltas.filter((d) => Number.isFinite(d.float) && Number.isFinite(d.quantized));
  if (!deltas.length) return undefined;
  const values = deltas.flatMap((d) => [
    { metric: metricName(d.metric), model: 'float', value: d.float },
    { metric: metricName(d.metric), model: 'quantized', value: d.quantized, ...(d.ci ? { low: d.float - d.ci.high, high: d.float - d.ci.low } : {}) },
  ]);
  const x = { field: 'model', type: 'nominal', title: null, sort: ['float', 'quantized'] } as const;
  return {
    config: chartConfig(t),
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 110,
      height: 150,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x,
            y: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'model', type: 'nominal', scale: { domain: ['float', 'quantized'], range: [t.bar, t.alt] }, legend: null },
            tooltip: [{ field: 'model' }, { field: 'value', format: '.4~g' }, { field: 'low', format: '.4~g' }, { field: 'high', format: '.4~g' }],
          },
        },
        {
          transform: [{ filter: 'isValid(datum.low)' }],
          mark: { type: 'rule', color: t.fg, strokeWidth: 2 },
          encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
        },
      ],
    },
  };
}

/** Every measured plan (cost against the budget's metric); the Pareto front as a line, the chosen plan ringed. */
export function paretoSpec(p: ParetoView, width: number, t: Theme): TopLevelSpec | undefined {
  const points = p.points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y));
  if (!points.length) return undefined;
  const values = points.map((q) => ({
    x: q.x, y: q.y, label: q.label, layer: q.nodes[0] ?? '', layers: q.nodes.length, nodes: q.nodes,
    front: q.pareto ? 'Pareto front' : 'dominated', chosen: q.chosen, met: q.met ? 'meets the budget' : 'misses it',
  }));
  const x = { field: 'x', type: 'quantitative', title: p.x, scale: { zero: false } } as const;
  const y = { field: 'y', type: 'quantitative', title: p.y, scale: { zero: false } } as const;
  return {
    config: chartConfig(t),
    width,
    height: 220,
    params: [{ name: SELECTED, value: [] }],
    data: { values },
    layer: [
      { transform: [{ filter: "datum.front === 'Pareto front'" }], mark: { type: 'line', color: t.bar }, encoding: { x, y, order: { field: 'x' } } },
      {
        mark: { type: 'point', filled: true, size: 80, cursor: 'pointer' },
        encoding: {
          x, y,
          color: { condition: { test: IS_SELECTED, value: t.highlight }, field: 'front', type: 'nominal', scale: { domain: ['Pareto front', 'dominated'], range: [t.bar, t.muted] }, title: null },
          shape: { field: 'met', type: 'nominal', title: null },
          tooltip: [{ field: 'label' }, { field: 'x', title: p.x }, { field: 'y', title: p.y, format: '.4~g' }, { field: 'layers', title: 'layers above int8' }, { field: 'met', title: 'budget' }],
        },
      },
      { transform: [{ filter: 'datum.chosen' }], mark: { type: 'point', size: 260, strokeWidth: 2, color: t.fg }, encoding: { x, y } },
    ],
  };
}

/** Each model's metric against the shift level, one panel per kind of shift; fragile levels marked. */
export function robustnessSpec(r: RobustnessView, t: Theme): TopLevelSpec | undefined {
  const values = r.points.filter((p) => Number.isFinite(p.value) && Number.isFinite(p.level)).map((p) => ({ ...p, fragile: p.fragile ? 'fragile' : 'ok' }));
  if (!values.length) return undefined;
  return {
    config: chartConfig(t),
    data: { values },
    facet: { column: { field: 'kind', type: 'nominal', title: null } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 150,
      height: 160,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'level', type: 'quantitative', title: 'level' },
        y: { field: 'value', type: 'quantitative', title: r.metric, scale: { zero: false } },
        color: { field: 'model', type: 'nominal', scale: { domain: ['float', 'quantized'], range: [t.bar, t.alt] }, title: null },
        tooltip: [{ field: 'kind' }, { field: 'level' }, { field: 'model' }, { field: 'value', format: '.4~g' }, { field: 'fragile' }],
      },
    },
  };
}
