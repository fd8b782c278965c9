/**
 * What the results panel shows, built from the model's results as the commands produced them
 * (results reports, a streaming sensitivity run, the robustness report, the autotune result).
 * Free of the 'vscode' module: the webview tests build their page data with it from real runs.
 */
import type { AutotuneResult } from '../core/eval/autotune';
import type { RobustnessReport } from '../core/eval/robustness';
import { defaultMetric, layerMetricKeys, metricInfo, metricLabel, type ResultsReport } from '../core/report/model';
import type { LayerResultsMessage, ParetoView, ResultsLayer, ResultsLayerSet, ResultsPanelState, RobustnessView } from '../protocol';

/** The per-layer results the panel draws: a finished report, or a run still streaming. */
export type LayerSource =
  | { kind: 'report'; source: string; report: ResultsReport }
  | { kind: 'stream'; message: LayerResultsMessage };

export interface PanelInputs {
  fileName: string;
  /** The newest evaluation (a results report with `evaluation`). */
  evaluation?: ResultsReport;
  layers?: LayerSource;
  robustness?: RobustnessReport;
  autotune?: AutotuneResult;
  selected: string[];
  /** The graph's name of an analysed node (a fused 'Times212/MatMulAddFusion' is 'Times212'). */
  graphName: (node: string) => string;
}

function layerSet(src: LayerSource, graphName: (n: string) => string): ResultsLayerSet | undefined {
  let layers: ResultsLayer[];
  let source: string;
  let running = false;
  let metric: string | undefined;
  if (src.kind === 'report') {
    layers = src.report.layers.map((l) => ({ node: graphName(l.node), ...(l.opType ? { opType: l.opType } : {}), metrics: { ...l.metrics } }));
    source = src.source;
    metric = defaultMetric(src.report);
  } else {
    layers = src.message.results.map((r) => ({ node: graphName(r.node), metrics: Object.fromEntries(Object.entries(r.values).filter(([, v]) => typeof v === 'number')) as Record<string, number> }));
    source = src.message.source;
    running = !src.message.done;
    metric = src.message.metric;
  }
  const keys = layerMetricKeys({ layers: layers.map((l) => ({ node: l.node, metrics: l.metrics })) });
  if (!keys.length) return undefined;
  return {
    source, running, layers,
    metrics: keys.map((key) => ({ key, label: metricLabel(key), worse: metricInfo(key).worse })),
    metric: metric && keys.includes(metric) ? metric : keys[0],
  };
}

const planKey = (plan: Record<string, string>): string => JSON.stringify(Object.entries(plan).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function paretoView(r: AutotuneResult, graphName: (n: string) => string): ParetoView {
  const chosen = planKey(r.plan);
  return {
    x: `cost (${r.cost})`,
    y: r.primary,
    budget: r.budget,
    points: r.points.map((p) => ({
      x: p.cost, y: Number(p.values[r.primary as keyof typeof p.values]), label: p.label,
      nodes: Object.keys(p.plan).map(graphName), pareto: p.pareto, met: p.met, chosen: planKey(p.plan) === chosen,
    })),
  };
}

function robustnessView(r: RobustnessReport): RobustnessView {
  const labelled = r.metric === 'top1' || r.metric === 'mse';
  const points: RobustnessView['points'] = [];
  const baseline = r.rows.find((row) => row.kind === 'none');
  const kinds = [...new Set(r.rows.map((row) => row.kind).filter((k) => k !== 'none'))];
  for (const row of r.rows) {
    // The unshifted run is level 0 of every kind's curve.
    const rows = row === baseline ? kinds.map((kind) => ({ ...row, kind })) : [row];
    for (const x of rows) {
      if (labelled) {
        if (x.float !== undefined) points.push({ kind: x.kind, level: x.level, model: 'float', value: x.float, fragile: x.fragile });
        if (x.quantized !== undefined) points.push({ kind: x.kind, level: x.level, model: 'quantized', value: x.quantized, fragile: x.fragile });
      } else {
        points.push({ kind: x.kind, level: x.level, model: 'quantized', value: x.top1Agreement, fragile: x.fragile });
      }
    }
  }
  return { metric: r.metric === 'top1' ? 'top-1 accuracy' : r.metric === 'mse' ? 'MSE' : 'top-1 agreement', threshold: r.threshold, samples: r.samples, points };
}

export function panelState(inputs: PanelInputs, revision: number): ResultsPanelState {
  const layers = inputs.layers && layerSet(inputs.layers, inputs.graphName);
  return {
    fileName: inputs.fileName,
    revision,
    ...(inputs.evaluation?.evaluation ? { evaluation: inputs.evaluation.evaluation } : {}),
    ...(layers ? { layers } : {}),
    ...(inputs.autotune ? { pareto: paretoView(inputs.autotune, inputs.graphName) } : {}),
    ...(inputs.robustness ? { robustness: robustnessView(inputs.robustness) } : {}),
    selected: inputs.selected,
  };
}
