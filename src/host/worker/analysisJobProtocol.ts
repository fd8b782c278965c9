/**
 * Messages between the extension host and an analysis job thread: per-layer sensitivity,
 * float-vs-quantized evaluation, robustness under input shifts, and report export. The thread
 * builds the report model (src/core/report) too, so the host only ever holds plain JSON.
 */
import type { AutotuneResult } from '../../core/eval/autotune';
import type { EvaluationReport } from '../../core/eval/evaluate';
import type { LayerHistograms, LayerHistogramsOptions } from '../../core/eval/histograms';
import type { RobustnessReport } from '../../core/eval/robustness';
import type { LayerSensitivity, SensitivityReport } from '../../core/eval/sensitivity';
import type { Recipe } from '../../core/quant/recipe';
import type { ReportFormat, ResultsReport } from '../../core/report';

interface DataJob {
  data: string;
  labels?: string;
  limit?: number;
}

export type AnalysisJob =
  | ({ type: 'start'; kind: 'sensitivity'; model: string; recipe?: Recipe; baseDir?: string; cacheDir: string } & DataJob)
  | ({ type: 'start'; kind: 'evaluate'; float: string; quantized: string } & DataJob)
  | ({ type: 'start'; kind: 'robustness'; float: string; quantized: string } & DataJob)
  | ({ type: 'start'; kind: 'layers'; float: string; quantized: string } & DataJob)
  | { type: 'start'; kind: 'import'; model: string; file: string }
  | ({ type: 'start'; kind: 'autotune'; model: string; budget: string; cost: 'size' | 'bops'; cacheDir: string } & DataJob)
  | { type: 'start'; kind: 'export'; reports: ResultsReport[]; title: string; format: ReportFormat; file: string; /** HTML: the graph with its overlay, from the open editor. */ graphSvg?: string }
  | { type: 'start'; kind: 'histograms'; model: string; node: string; options: HistogramJobOptions };

/** What of the histogram options crosses to the thread (the signal and callbacks stay behind). */
export type HistogramJobOptions = Omit<LayerHistogramsOptions, 'signal' | 'onProgress'>;

export type SensitivityJob = Extract<AnalysisJob, { kind: 'sensitivity' }>;

export type AnalysisJobFromHost = AnalysisJob | { type: 'cancel' };

/** What each job returns, with the results model built from it. */
export type AnalysisResult =
  | { kind: 'sensitivity'; report: SensitivityReport; results: ResultsReport }
  | { kind: 'evaluate'; report: EvaluationReport; results: ResultsReport; markdown: string }
  | { kind: 'robustness'; report: RobustnessReport; markdown: string }
  | { kind: 'layers'; results: ResultsReport; markdown: string }
  | { kind: 'import'; results: ResultsReport }
  | { kind: 'autotune'; result: AutotuneResult }
  | { kind: 'export'; notes: string[] }
  | { kind: 'histograms'; histograms: LayerHistograms };

export type AnalysisJobToHost =
  | { type: 'progress'; done: number; total: number; label: string }
  | { type: 'layer'; layer: LayerSensitivity }
  | { type: 'done'; result: AnalysisResult }
  | { type: 'error'; message: string; cancelled: boolean };
