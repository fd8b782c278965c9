/** CSV (one row per layer), JSON (the results model) and Model Explorer node data. */
import { csvField } from '../imports/csv';
import { defaultMetric, layerMetricKeys, metricInfo, type ResultsReport } from '../model';
import { jsonWithNonFinite } from './format';

export function writeCsv(r: ResultsReport): string {
  const keys = layerMetricKeys(r);
  const lines = [['node', 'op_type', 'tensor', ...keys, 'notes'].map(csvField).join(',')];
  for (const l of r.layers) lines.push([l.node, l.opType ?? '', l.tensor ?? '', ...keys.map((k) => (k in l.metrics ? l.metrics[k] : undefined)), (l.notes ?? []).join('; ')].map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

export const writeJson = (r: ResultsReport): string => jsonWithNonFinite(r);

export interface ModelExplorerOptions {
  metric?: string;
  /** The graph id the data applies to (Model Explorer: the graph's name; default 'main'). */
  graphId?: string;
}

export interface ModelExplorerNodeData {
  [graphId: string]: {
    name: string;
    results: Record<string, { value: number }>;
    gradient: { stop: number; bgColor: string }[];
  };
}

/**
 * One metric as Model Explorer node data, keyed by node name (for TFLite QuantLens names a node by
 * its output tensor, also a key Model Explorer accepts). The gradient runs from the bad end (orange)
 * to the good end (blue), colours that stay apart for colour-blind readers. Non-finite values
 * (an Infinity SQNR: identical outputs) are not JSON numbers; they are left out and listed in `skipped`.
 */
export function writeModelExplorer(r: ResultsReport, o: ModelExplorerOptions = {}): { data: ModelExplorerNodeData; skipped: string[] } {
  const metric = o.metric ?? defaultMetric(r);
  if (!metric) throw new Error('The results have no per-layer metric to write as Model Explorer node data.');
  const results: Record<string, { value: number }> = {};
  const skipped: string[] = [];
  for (const l of r.layers) {
    const v = l.metrics[metric];
    if (v === undefined) continue;
    if (Number.isFinite(v)) results[l.node] = { value: v };
    else skipped.push(l.node);
  }
  const bad = '#d95f02', mid = '#f7f7f7', good = '#1f78b4';
  const lowBad = metricInfo(metric).worse === 'low';
  const gradient = [{ stop: 0, bgColor: lowBad ? bad : good }, { stop: 0.5, bgColor: mid }, { stop: 1, bgColor: lowBad ? good : bad }];
  return { data: { [o.graphId ?? 'main']: { name: metric, results, gradient } }, skipped };
}
