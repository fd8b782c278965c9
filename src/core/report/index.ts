/**
 * Results and reports, VS Code-free: the results model, builders from the core's results, imports
 * of other tools' per-layer numbers, and writers (HTML, Markdown, CSV, JSON, Model Explorer).
 */
import * as fs from 'node:fs';
import type { ResultsReport } from './model';
import { writeHtml, type HtmlOptions } from './write/html';
import { writeMarkdown } from './write/markdown';
import { writeCsv, writeJson, writeModelExplorer } from './write/tables';

export * from './model';
export { fromEvaluation, fromLayers, fromSensitivity, mergeReports, parseResultsJson, ResultsFileError } from './build';
export { detectImportFormat, importResultsFile, importResultsText, IMPORT_FORMATS, nodeIndex, type ImportFormat, type ImportOptions, type NodeIndex } from './imports';
export { writeCsv, writeJson, writeModelExplorer, type ModelExplorerNodeData } from './write/tables';
export { writeMarkdown, type WriteOptions } from './write/markdown';
export { writeHtml, type HtmlOptions } from './write/html';
export { curveSpec, evaluationSpec, layerBarsSpec, renderSvg } from './write/charts';

export type ReportFormat = 'html' | 'md' | 'csv' | 'json' | 'model-explorer';
export const REPORT_FORMATS: ReportFormat[] = ['html', 'md', 'csv', 'json', 'model-explorer'];

export interface RenderOptions extends HtmlOptions {
  /** Model Explorer: the graph id (default 'main'). */
  graphId?: string;
}

/** The report in one format, as text; `notes` says what a format could not carry. */
export async function renderReport(r: ResultsReport, format: ReportFormat, o: RenderOptions = {}): Promise<{ text: string; notes: string[] }> {
  switch (format) {
    case 'html': return { text: await writeHtml(r, o), notes: [] };
    case 'md': return { text: writeMarkdown(r, o), notes: [] };
    case 'csv': return { text: writeCsv(r), notes: [] };
    case 'json': return { text: writeJson(r), notes: [] };
    case 'model-explorer': {
      const { data, skipped } = writeModelExplorer(r, { metric: o.metric, graphId: o.graphId });
      const metric = Object.values(data)[0].name;
      return { text: JSON.stringify(data, null, 2) + '\n', notes: skipped.length ? [`${skipped.length} layer(s) have a non-finite ${metric} (not a JSON number) and are left out: ${skipped.join(', ')}`] : [] };
    }
  }
}

/** Writes the report to `file` (the editor's Export Report… and `quantlens report` both end here). */
export async function exportReport(r: ResultsReport, format: ReportFormat, file: string, o: RenderOptions = {}): Promise<{ notes: string[] }> {
  const { text, notes } = await renderReport(r, format, o);
  await fs.promises.writeFile(file, text, 'utf8');
  return { notes };
}
