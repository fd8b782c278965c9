/**
 * Builders of the results model from the core's own results (evaluate, layers, sensitivity), the
 * merge of several into one report, and the reading of a results file back: either a results
 * model or what `quantlens evaluate|layers|sensitivity --json` printed.
 */
import * as path from 'node:path';
import { ModelError } from '../errors';
import type { EvaluationReport } from '../eval/evaluate';
import type { LayersReport } from '../eval/layers';
import type { SensitivityReport } from '../eval/sensitivity';
import { emptyReport, RESULTS_KIND, type LayerRecord, type ResultsReport, type ResultSource } from './model';

/** A results file that cannot be read: the message names the file and the problem. */
export class ResultsFileError extends ModelError {
  constructor(file: string, problem: string) {
    super('corrupt', `${file}: ${problem}`);
    this.name = 'ResultsFileError';
  }
}

/**
 * The CLI writes non-finite numbers as the strings "Infinity" / "-Infinity" / "NaN" (JSON has
 * none): read them back as numbers. Only where a number is expected, so a node named "NaN" stays a name.
 */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  return NaN;
}

const base = (p: string | undefined): string | undefined => (p ? path.basename(p) : undefined);
const nowIso = (): string => new Date().toISOString();

export interface BuildOptions {
  /** ISO date of the run (default: now). */
  date?: string;
  file?: string;
}

function source(tool: string, layers: LayerRecord[], o: BuildOptions, extra: string[] = []): ResultSource {
  const metrics = new Set(extra);
  for (const l of layers) for (const k of Object.keys(l.metrics)) metrics.add(k);
  return { tool, date: o.date ?? nowIso(), ...(o.file ? { file: o.file } : {}), metrics: [...metrics] };
}

export function fromEvaluation(r: EvaluationReport, o: BuildOptions = {}): ResultsReport {
  const out = emptyReport();
  const float = r.models.find((m) => m.role === 'float') ?? r.models[0];
  const quant = r.models.find((m) => m.role === 'quantized');
  out.models = quant ? { float: base(float.path), quantized: base(quant.path) } : { model: base(float.path) };
  out.evaluation = {
    data: base(r.data) ?? '', samples: r.samples, task: r.task, output: r.output.name,
    models: r.models.map((m) => ({
      role: m.role, name: base(m.path) ?? m.path, sizeBytes: m.sizeBytes,
      latencyP50Ms: num(m.latency.p50Ms), latencyP95Ms: num(m.latency.p95Ms), throughput: { batch: m.throughput.batch, samplesPerSecond: num(m.throughput.samplesPerSecond) },
      memoryBytes: m.memory.bytes,
      metrics: {
        ...(m.classification ? { top1: num(m.classification.top1), ...(m.classification.top5 !== undefined ? { top5: num(m.classification.top5) } : {}), macroF1: num(m.classification.macroF1) } : {}),
        ...(m.regression ? { mse: num(m.regression.mse), mae: num(m.regression.mae) } : {}),
      },
    })),
    deltas: (r.deltas ?? []).map((d) => ({ metric: d.metric, float: num(d.float), quantized: num(d.quantized), delta: num(d.delta), ci: { low: num(d.ci.low), high: num(d.ci.high), level: d.ci.level } })),
    ...(r.comparison ? {
      agreement: {
        top1: num(r.comparison.top1Agreement), ci: { low: num(r.comparison.top1AgreementCi.low), high: num(r.comparison.top1AgreementCi.high), level: r.comparison.top1AgreementCi.level },
        sqnrDb: num(r.comparison.sqnrDb), cosineMean: num(r.comparison.cosineMean), maxAbsError: num(r.comparison.maxAbsError),
      },
    } : {}),
  };
  out.sources.push(source('quantlens evaluate', [], o, out.evaluation.deltas.map((d) => d.metric)));
  out.warnings.push(...r.warnings);
  return out;
}

export function fromLayers(r: LayersReport, o: BuildOptions = {}): ResultsReport {
  const out = emptyReport();
  out.models = { float: base(r.float), quantized: base(r.quantized) };
  out.layers = r.layers.map((l) => {
    const metrics: Record<string, number> = { sqnrDb: num(l.activation.sqnrDb), mse: num(l.activation.mse), cosine: num(l.activation.cosine), maxAbsError: num(l.activation.maxAbsError) };
    if (l.saturation) metrics.saturation = num(l.saturation.rate);
    if (l.weights[0]) metrics.weightSqnrDb = num(l.weights[0].error.sqnrDb);
    return { node: l.node, opType: l.opType, tensor: l.floatTensor, metrics, ...(l.notes.length ? { notes: [...l.notes] } : {}) };
  });
  out.sources.push(source('quantlens layers', out.layers, o));
  out.warnings.push(...r.warnings);
  return out;
}

export function fromSensitivity(r: SensitivityReport, o: BuildOptions = {}): ResultsReport {
  const out = emptyReport();
  out.models = { float: base(r.model) };
  out.layers = r.layers.map((l) => ({ node: l.node, opType: l.opType, metrics: { sensitivity: num(l.recovery), sensitivityOnlyThis: num(l.onlyThis) } }));
  out.sources.push(source(`quantlens sensitivity (${r.metric})`, out.layers, o));
  out.warnings.push(...r.warnings);
  return out;
}

/** One report from several: layers joined by node name (a later source's metric of the same name wins). */
export function mergeReports(reports: ResultsReport[], title?: string): ResultsReport {
  const out = emptyReport();
  if (title) out.title = title;
  const byNode = new Map<string, LayerRecord>();
  for (const r of reports) {
    if (out.title === undefined && r.title !== undefined) out.title = r.title;
    out.models = { ...out.models, ...Object.fromEntries(Object.entries(r.models).filter(([, v]) => v)) };
    out.sources.push(...r.sources);
    if (r.evaluation) out.evaluation = r.evaluation;
    for (const l of r.layers) {
      const have = byNode.get(l.node);
      if (!have) {
        const copy: LayerRecord = { ...l, metrics: { ...l.metrics }, ...(l.notes ? { notes: [...l.notes] } : {}) };
        byNode.set(l.node, copy);
        out.layers.push(copy);
        continue;
      }
      have.opType ??= l.opType;
      have.tensor ??= l.tensor;
      Object.assign(have.metrics, l.metrics);
      if (l.notes?.length) have.notes = [...(have.notes ?? []), ...l.notes];
    }
    out.curves.push(...r.curves);
    out.unmatched.push(...r.unmatched);
    out.warnings.push(...r.warnings);
  }
  return out;
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON.parse with a message naming the file; `parse` lets importers read Python's NaN / Infinity. */
export function parseJsonText(text: string, file: string, parse: (t: string) => unknown = JSON.parse): unknown {
  try {
    return parse(text);
  } catch (e) {
    throw new ResultsFileError(file, `not valid JSON (${(e as Error).message}).`);
  }
}

/** Checks the shape of a results model read from a file, numbers revived. */
function readResultsModel(v: Record<string, unknown>, file: string): ResultsReport {
  if (v.version !== 1) throw new ResultsFileError(file, `results version ${JSON.stringify(v.version)} is not one this QuantLens reads (1).`);
  if (!Array.isArray(v.layers)) throw new ResultsFileError(file, 'the results have no "layers" list.');
  const r = { ...emptyReport(), ...(v as unknown as ResultsReport) };
  r.layers = r.layers.map((l, i) => {
    if (!isObj(l) || typeof l.node !== 'string' || !isObj(l.metrics)) throw new ResultsFileError(file, `layer ${i} needs a "node" name and a "metrics" object.`);
    return { ...l, metrics: Object.fromEntries(Object.entries(l.metrics).map(([k, x]) => [k, num(x)])) };
  });
  return r;
}

/**
 * Reads a results file's JSON text: a results model, or the JSON `quantlens evaluate`, `layers` or
 * `sensitivity` printed. `file` names the file in messages.
 */
export function parseResultsJson(text: string, file: string, o: Omit<BuildOptions, 'file'> = {}): ResultsReport {
  const v = parseJsonText(text, file);
  if (!isObj(v)) throw new ResultsFileError(file, 'expected a JSON object: QuantLens results, or the JSON of quantlens evaluate, layers or sensitivity.');
  const bo = { ...o, file: path.basename(file) };
  if (v.kind === RESULTS_KIND) return readResultsModel(v, file);
  const layers = v.layers;
  if (Array.isArray(layers) && Array.isArray(v.ranking) && layers.every((l) => isObj(l) && typeof l.node === 'string' && 'recovery' in l)) return fromSensitivity(v as unknown as SensitivityReport, bo);
  if (Array.isArray(layers) && isObj(v.summary) && layers.every((l) => isObj(l) && typeof l.node === 'string' && isObj(l.activation) && Array.isArray(l.weights) && Array.isArray(l.notes))) {
    return fromLayers(v as unknown as LayersReport, bo);
  }
  if (Array.isArray(v.models) && typeof v.task === 'string' && v.models.every((m) => isObj(m) && typeof m.path === 'string' && isObj(m.latency) && isObj(m.throughput) && isObj(m.memory))) {
    return fromEvaluation(v as unknown as EvaluationReport, bo);
  }
  throw new ResultsFileError(file, 'not QuantLens results: expected a results model ("kind": "quantlens.results") or the --json output of quantlens evaluate, layers or sensitivity.');
}
