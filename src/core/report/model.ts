/**
 * The results model: one plain, JSON-able record of what a report shows (models, evaluation,
 * per-layer metrics, where each number came from). Reports, imports and, later, the results panel
 * all read and write this one shape, so an imported CSV and a QuantLens run look the same to them.
 */

export const RESULTS_KIND = 'quantlens.results';

/** Where a set of numbers came from. */
export interface ResultSource {
  /** e.g. 'quantlens layers', 'onnxruntime qdq_loss_debug', 'TFLite QuantizationDebugger'. */
  tool: string;
  /** ISO 8601: when the tool ran, or when QuantLens read its file. */
  date: string;
  file?: string;
  /** The metric keys this source gave. */
  metrics: string[];
}

/** A metric of the model (accuracy, F1, MSE, ...) in both models, float minus quantized with its interval. */
export interface MetricDelta {
  metric: string;
  float: number;
  quantized: number;
  delta: number;
  /** Paired bootstrap interval of the delta. */
  ci?: { low: number; high: number; level: number };
}

export interface ModelRun {
  role: 'float' | 'quantized' | 'model';
  name: string;
  sizeBytes?: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  throughput?: { batch: number; samplesPerSecond: number };
  memoryBytes?: number;
  /** top1, top5, macroF1 (classification) or mse, mae (regression). */
  metrics: Record<string, number>;
}

export interface EvaluationSummary {
  data: string;
  samples: number;
  task: string;
  output: string;
  models: ModelRun[];
  deltas: MetricDelta[];
  /** Float against quantized outputs. */
  agreement?: { top1: number; ci?: { low: number; high: number; level: number }; sqnrDb: number; cosineMean: number; maxAbsError: number };
}

export interface LayerRecord {
  /** The node's name in the model (what the graph shows). */
  node: string;
  opType?: string;
  /** The tensor the numbers were measured on, when known. */
  tensor?: string;
  /** Keys of METRICS, or any other name an import brought. */
  metrics: Record<string, number>;
  notes?: string[];
}

/** A curve of points (an autotune Pareto front, a robustness sweep). */
export interface ResultCurve {
  title: string;
  x: string;
  y: string;
  points: { x: number; y: number; label?: string }[];
}

/** A name another tool measured that is not a node (or tensor) of the model. */
export interface UnmatchedName {
  source: string;
  name: string;
  reason: string;
}

export interface ResultsReport {
  kind: typeof RESULTS_KIND;
  version: 1;
  title?: string;
  models: { float?: string; quantized?: string; model?: string };
  sources: ResultSource[];
  evaluation?: EvaluationSummary;
  layers: LayerRecord[];
  curves: ResultCurve[];
  unmatched: UnmatchedName[];
  warnings: string[];
}

export interface MetricInfo {
  label: string;
  unit?: string;
  /** Which end is bad: 'low' for SQNR and cosine, 'high' for errors, saturation and sensitivity. */
  worse: 'low' | 'high';
}

export const METRICS: Record<string, MetricInfo> = {
  sensitivity: { label: 'sensitivity (recovery when kept float)', worse: 'high' },
  sensitivityOnlyThis: { label: 'metric with only this layer quantized', worse: 'low' },
  sqnrDb: { label: 'SQNR', unit: 'dB', worse: 'low' },
  mse: { label: 'MSE', worse: 'high' },
  cosine: { label: 'cosine', worse: 'low' },
  maxAbsError: { label: 'max abs error', worse: 'high' },
  saturation: { label: 'saturation rate', worse: 'high' },
  weightSqnrDb: { label: 'weight SQNR', unit: 'dB', worse: 'low' },
  qdqSqnrDb: { label: 'SQNR within the QDQ model', unit: 'dB', worse: 'low' },
  meanError: { label: 'mean error', worse: 'high' },
  stddev: { label: 'error stddev', worse: 'high' },
  rmseOverScale: { label: 'RMSE / scale (0.289 ideal)', worse: 'high' },
};

export function metricInfo(key: string): MetricInfo {
  return METRICS[key] ?? { label: key, worse: 'high' };
}

export const metricLabel = (key: string): string => {
  const m = metricInfo(key);
  return m.unit ? `${m.label} (${m.unit})` : m.label;
};

/** Every metric key some layer has, in METRICS order, then the others by name. */
export function layerMetricKeys(r: Pick<ResultsReport, 'layers'>): string[] {
  const seen = new Set<string>();
  for (const l of r.layers) for (const k of Object.keys(l.metrics)) seen.add(k);
  const known = Object.keys(METRICS).filter((k) => seen.has(k));
  return [...known, ...[...seen].filter((k) => !METRICS[k]).sort()];
}

/** The metric a report ranks layers by when none is asked for: sensitivity, else SQNR, else the first. */
export function defaultMetric(r: Pick<ResultsReport, 'layers'>): string | undefined {
  const keys = layerMetricKeys(r);
  return ['sensitivity', 'sqnrDb', 'rmseOverScale'].find((k) => keys.includes(k)) ?? keys[0];
}

/** Layers that have `metric`, worst first (an Infinity SQNR, identical values, sorts last; an Infinity error first). */
export function worstLayers(r: Pick<ResultsReport, 'layers'>, metric: string, top = Infinity): LayerRecord[] {
  const sign = metricInfo(metric).worse === 'high' ? -1 : 1;
  const has = r.layers.filter((l) => typeof l.metrics[metric] === 'number' && !Number.isNaN(l.metrics[metric]));
  // a stable sort keeps graph order among ties
  return has.sort((a, b) => sign * a.metrics[metric] - sign * b.metrics[metric] || 0).slice(0, top);
}

export function emptyReport(): ResultsReport {
  return { kind: RESULTS_KIND, version: 1, models: {}, sources: [], layers: [], curves: [], unmatched: [], warnings: [] };
}
