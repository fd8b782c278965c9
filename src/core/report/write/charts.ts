/**
 * The report's charts as Vega-Lite specs (plain JSON, so the webview's results panel can draw the
 * same ones), and their rendering to static SVG in Node: vega's headless View.toSVG() needs no
 * DOM and no canvas, so the HTML report carries finished pictures and no script.
 * vega and vega-lite are ES modules whose Node build of vega-canvas awaits at top level: they are
 * loaded with import() (the bundles alias vega-canvas to its browser build, see esbuild.mjs).
 */
import type { TopLevelSpec } from 'vega-lite';
import { metricInfo, metricLabel, worstLayers, type EvaluationSummary, type ResultCurve, type ResultsReport } from '../model';

const CONFIG = { font: 'sans-serif', background: 'white', view: { stroke: null }, axis: { labelLimit: 240 } };
const BAR = '#1f78b4';
const BAD = '#d95f02';

/** Per-layer bar chart: the `top` worst layers by `metric`, worst at the top. */
export function layerBarsSpec(r: ResultsReport, metric: string, top = 40): TopLevelSpec | undefined {
  const rows = worstLayers(r, metric).filter((l) => Number.isFinite(l.metrics[metric])).slice(0, top);
  if (!rows.length) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${rows.length === r.layers.length ? 'Layers' : `The ${rows.length} worst layers`} by ${metricLabel(metric)}`,
    description: `Per-layer ${metricLabel(metric)}, ${metricInfo(metric).worse === 'low' ? 'lowest' : 'highest'} (worst) first`,
    config: CONFIG,
    width: 420,
    height: { step: 16 },
    data: { values: rows.map((l, i) => ({ rank: i + 1, layer: l.node, op: l.opType ?? '', value: l.metrics[metric] })) },
    mark: { type: 'bar', color: BAR },
    encoding: {
      // already sorted worst first: keep that order
      y: { field: 'layer', type: 'nominal', sort: null, title: null },
      x: { field: 'value', type: 'quantitative', title: metricLabel(metric) },
      tooltip: [{ field: 'layer' }, { field: 'op' }, { field: 'value', format: '.4~g' }],
    },
  };
}

/** Float and quantized metrics side by side, one panel per metric; the quantized bar carries the paired interval. */
export function evaluationSpec(e: EvaluationSummary): TopLevelSpec | undefined {
  if (!e.deltas.length) return undefined;
  const values = e.deltas.flatMap((d) => [
    { metric: d.metric, model: 'float', value: d.float },
    // the interval of float - quantized, placed at the quantized value: float - high .. float - low
    { metric: d.metric, model: 'quantized', value: d.quantized, ...(d.ci ? { low: d.float - d.ci.high, high: d.float - d.ci.low } : {}) },
  ]);
  const level = e.deltas.find((d) => d.ci)?.ci?.level;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Float vs quantized${level ? ` (quantized with the ${Math.round(level * 100)} % paired interval)` : ''}`,
    config: CONFIG,
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 120,
      height: 180,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'model', type: 'nominal', title: null, sort: ['float', 'quantized'] },
            y: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'model', type: 'nominal', scale: { domain: ['float', 'quantized'], range: [BAR, BAD] }, legend: null },
          },
        },
        {
          transform: [{ filter: 'isValid(datum.low)' }],
          mark: { type: 'rule', color: 'black', strokeWidth: 2 },
          encoding: { x: { field: 'model', type: 'nominal', sort: ['float', 'quantized'] }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
        },
      ],
    },
  };
}

/** A curve of points (Pareto front, robustness sweep). */
export function curveSpec(c: ResultCurve): TopLevelSpec | undefined {
  const points = c.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (!points.length) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    config: CONFIG,
    width: 420,
    height: 240,
    data: { values: points.map((p) => ({ x: p.x, y: p.y, label: p.label ?? '' })) },
    mark: { type: 'line', point: true, color: BAR },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: c.x, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: c.y, scale: { zero: false } },
      tooltip: [{ field: 'label' }, { field: 'x' }, { field: 'y' }],
    },
  };
}

/** Compiles a Vega-Lite spec and renders it to an SVG string, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
