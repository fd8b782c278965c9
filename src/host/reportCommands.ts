/**
 * *Evaluate Quantized Model…*, *Check Robustness…* and *Export Report…*: the float model of the
 * active editor against a quantized version of it, on the user's data, in a worker thread with
 * progress and Cancel. The result is a readable report beside the model (and a one-line summary);
 * Export Report writes the model's last results in the format a reader needs.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EvaluationReport } from '../core/eval/evaluate';
import type { RobustnessReport } from '../core/eval/robustness';
import type { ReportFormat, ResultsReport } from '../core/report';
import { LAYER_METRICS, type LayerMetric, type LayerResult, type LayerResultsMessage } from '../protocol';
import { keepReport, reportsOf, runAnalysisJob } from './analysisCommands';
import { CompareLink } from './compareLink';
import type { ModelEditorProvider } from './modelEditorProvider';
import { resultsFeed } from './resultsPanelFeed';
import type { AnalysisJob, AnalysisResult } from './worker/analysisJobProtocol';

export interface CompareArgs {
  quantized?: string;
  data?: string;
  /** A labels file, or '' for none (asked when undefined). */
  labels?: string;
  limit?: number;
}

export interface ExportArgs {
  format?: ReportFormat;
  file?: string;
}

const RESULTS_SCHEME = 'quantlens-results';

/** Read-only Markdown documents holding the last report of each model and kind. */
class ResultsDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? 'QuantLens: this report is no longer available; run the command again.\n';
  }

  async show(model: vscode.Uri, kind: string, markdown: string): Promise<vscode.Uri> {
    const uri = vscode.Uri.from({ scheme: RESULTS_SCHEME, path: `${model.path} (${kind}).md`, query: model.toString() });
    this.texts.set(uri.toString(), markdown);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: true });
    return uri;
  }
}

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(2)} %`);

/** "float top-1 98.90 %, quantized 98.91 %: float − quantized −0.01 points [−0.05, +0.03] (95 % CI) on 9800 samples" */
export function evaluationLine(r: EvaluationReport): string {
  const [f, q] = [r.models.find((m) => m.role === 'float'), r.models.find((m) => m.role === 'quantized')];
  const top1 = r.deltas?.find((d) => d.metric === 'top1');
  if (f?.classification && q?.classification && top1) {
    const pts = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}`;
    return `float top-1 ${pct(f.classification.top1)}, quantized ${pct(q.classification.top1)}: float − quantized ${pts(top1.delta)} points [${pts(top1.ci.low)}, ${pts(top1.ci.high)}] (95 % CI) on ${r.samples} samples`;
  }
  const c = r.comparison;
  return c ? `top-1 agreement ${pct(c.top1Agreement)}, output SQNR ${c.sqnrDb.toFixed(1)} dB on ${r.samples} samples` : `${r.samples} samples`;
}

export function registerReportCommands(context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel): void {
  const docs = new ResultsDocuments();
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(RESULTS_SCHEME, docs),
    vscode.commands.registerCommand('quantlens.evaluateQuantized', (uri?: vscode.Uri, args?: CompareArgs) =>
      compare('evaluate', context, log, docs, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, args ?? {})),
    vscode.commands.registerCommand('quantlens.checkRobustness', (uri?: vscode.Uri, args?: CompareArgs) =>
      compare('robustness', context, log, docs, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, args ?? {})),
    vscode.commands.registerCommand('quantlens.compareModels', (uri?: vscode.Uri, args?: CompareArgs) =>
      compareLayers(context, provider, log, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, args ?? {})),
    vscode.commands.registerCommand('quantlens.importResults', (uri?: vscode.Uri, file?: string) =>
      importResults(context, provider, log, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, file)),
    vscode.commands.registerCommand('quantlens.exportReport', (uri?: vscode.Uri, args?: ExportArgs) =>
      exportCommand(context, provider, log, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, args ?? {})),
  );
}

async function compare(
  kind: 'evaluate' | 'robustness', context: vscode.ExtensionContext, log: vscode.LogOutputChannel, docs: ResultsDocuments,
  model: vscode.Uri | undefined, args: CompareArgs,
): Promise<EvaluationReport | RobustnessReport | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage('QuantLens: evaluating runs the models, which needs a trusted workspace.');
    return undefined;
  }
  if (!model || model.scheme !== 'file' || !model.path.toLowerCase().endsWith('.onnx')) {
    void vscode.window.showErrorMessage('QuantLens: open the float .onnx model to compare a quantized version against it.');
    return undefined;
  }
  const name = path.basename(model.fsPath);
  const quantized = args.quantized ?? (await pickQuantized(model));
  if (!quantized) return undefined;
  const dataKey = `quantlens.lastData:${model.toString()}`;
  const data = args.data ?? (await pickFile(context.workspaceState.get<string>(dataKey), 'Evaluate on this data', true));
  if (!data) return undefined;
  await context.workspaceState.update(dataKey, data);
  const labels = args.labels !== undefined ? args.labels || undefined : await pickLabels(context, model, data);
  if (labels === null) return undefined;
  const job: AnalysisJob = { type: 'start', kind, float: model.fsPath, quantized, data, labels: labels ?? undefined, limit: args.limit };
  try {
    const result: AnalysisResult = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: ${kind === 'evaluate' ? 'evaluating' : 'checking the robustness of'} ${path.basename(quantized)} against ${name}`, cancellable: true },
      (progress, token) => runAnalysisJob(context.extensionPath, job, progress, token),
    );
    if (result.kind === 'evaluate') {
      await docs.show(model, 'evaluation', result.markdown);
      // Kept after the text report opens, so the results panel shows on top of it.
      keepReport(model, 'evaluation', result.results);
      const line = `QuantLens: ${evaluationLine(result.report)}.`;
      log.info(line);
      for (const w of result.report.warnings) log.warn(w);
      void vscode.window.showInformationMessage(line);
      return result.report;
    }
    if (result.kind === 'robustness') {
      await docs.show(model, 'robustness', result.markdown);
      resultsFeed.robustness(model, result.report);
      const fragile = result.report.rows.filter((r) => r.fragile);
      const line = fragile.length
        ? `QuantLens: the quantized model is more fragile than the float one under ${fragile.map((r) => `${r.kind} ${r.level}`).join(', ')}.`
        : `QuantLens: no shift makes the quantized model more fragile than the float one (${result.report.rows.length} conditions).`;
      log.info(line);
      void (fragile.length ? vscode.window.showWarningMessage(line) : vscode.window.showInformationMessage(line));
      return result.report;
    }
    throw new Error('unexpected analysis result');
  } catch (e) {
    const err = e as Error & { cancelled?: boolean };
    if (err.cancelled) void vscode.window.showInformationMessage(`QuantLens: ${err.message}`);
    else void vscode.window.showErrorMessage(`QuantLens: ${err.message}`);
    log.error(`${kind} ${model.fsPath}: ${err.message}`);
    return undefined;
  }
}

/** Other ONNX models beside the float one, newest first, or one picked anywhere. */
async function pickQuantized(model: vscode.Uri): Promise<string | undefined> {
  const dir = vscode.Uri.joinPath(model, '..');
  const entries = await vscode.workspace.fs.readDirectory(dir).then((e) => e, () => [] as [string, vscode.FileType][]);
  const candidates: Array<{ label: string; description?: string; file?: string; mtime: number }> = [];
  for (const [n, t] of entries) {
    if (t !== vscode.FileType.File || !n.toLowerCase().endsWith('.onnx') || n === path.basename(model.fsPath)) continue;
    const uri = vscode.Uri.joinPath(dir, n);
    candidates.push({ label: n, file: uri.fsPath, mtime: (await vscode.workspace.fs.stat(uri)).mtime });
  }
  candidates.sort((a, b) => b.mtime - a.mtime);
  const pick = await vscode.window.showQuickPick([...candidates, { label: 'Browse…', mtime: 0 }], { title: `The quantized version of ${path.basename(model.fsPath)}` });
  if (!pick) return undefined;
  return pick.file ?? pickFile(undefined, 'Compare this model', false, { 'ONNX model': ['onnx'] });
}

async function pickFile(last: string | undefined, openLabel: string, folders: boolean, filters?: Record<string, string[]>): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true, canSelectFolders: folders, canSelectMany: false, openLabel, ...(filters ? { filters } : {}),
    ...(last ? { defaultUri: vscode.Uri.file(last) } : {}),
  });
  return picked?.[0]?.fsPath;
}

/** Labels: none, a file beside the data whose name says "label", or one picked; null = cancelled. */
async function pickLabels(context: vscode.ExtensionContext, model: vscode.Uri, data: string): Promise<string | undefined | null> {
  const key = `quantlens.lastLabels:${model.toString()}`;
  const dir = vscode.Uri.file(path.dirname(data));
  const entries = await vscode.workspace.fs.readDirectory(dir).then((e) => e, () => [] as [string, vscode.FileType][]);
  const nearby = entries.filter(([n, t]) => t === vscode.FileType.File && /label/i.test(n)).map(([n]) => path.join(dir.fsPath, n));
  const last = context.workspaceState.get<string>(key);
  const items = [
    ...[...new Set([...(last ? [last] : []), ...nearby])].map((f) => ({ label: path.basename(f), description: path.dirname(f), file: f as string | undefined })),
    { label: 'No labels', description: 'agreement and SQNR between the two models only', file: '' as string | undefined },
    { label: 'Browse…', file: undefined },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Labels for accuracy and F1' });
  if (!pick) return null;
  const file = pick.file === undefined ? await pickFile(last, 'Use these labels', false) : pick.file;
  if (file === undefined) return null;
  await context.workspaceState.update(key, file || undefined);
  return file || undefined;
}

const FORMATS: Array<{ label: string; format: ReportFormat; ext: string; description: string }> = [
  { label: 'HTML', format: 'html', ext: 'html', description: 'self-contained, charts included: share or attach it' },
  { label: 'Markdown', format: 'md', ext: 'md', description: 'for a pull-request comment' },
  { label: 'CSV', format: 'csv', ext: 'csv', description: 'one row per layer' },
  { label: 'JSON', format: 'json', ext: 'json', description: 'every number, for scripts' },
  { label: 'Model Explorer node data', format: 'model-explorer', ext: 'json', description: 'opens as an overlay in Google\'s Model Explorer' },
];

async function exportCommand(context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel, model: vscode.Uri | undefined, args: ExportArgs): Promise<string | undefined> {
  if (!model) {
    void vscode.window.showInformationMessage('QuantLens: open a model first.');
    return undefined;
  }
  const results = reportsOf(model);
  if (!results.length) {
    void vscode.window.showInformationMessage(`QuantLens: nothing to report on ${path.basename(model.fsPath)} yet: run Evaluate Quantized Model… or Run Sensitivity Analysis first.`);
    return undefined;
  }
  const choice = args.format ? FORMATS.find((f) => f.format === args.format) : await vscode.window.showQuickPick(FORMATS, { title: 'Report format' });
  if (!choice) return undefined;
  const stem = model.fsPath.replace(/\.[^./]+$/, '');
  const file = args.file ?? (await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`${stem}.report.${choice.format === 'model-explorer' ? 'model-explorer.json' : choice.ext}`), saveLabel: 'Export' }))?.fsPath;
  if (!file) return undefined;
  // HTML carries the graph as the editor draws it, overlay colours included, when an editor is open.
  const graph = choice.format === 'html' ? await provider.captureGraph(model) : undefined;
  if (graph && 'error' in graph) log.warn(`Report without the graph image: ${graph.error}`);
  const graphSvg = graph && 'svg' in graph ? graph.svg : undefined;
  const job: AnalysisJob = { type: 'start', kind: 'export', reports: results, title: `QuantLens: ${path.basename(model.fsPath)}`, format: choice.format, file, graphSvg };
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: writing ${path.basename(file)}`, cancellable: true },
      (progress, token) => runAnalysisJob(context.extensionPath, job, progress, token),
    );
    const notes = result.kind === 'export' ? result.notes : [];
    for (const n of notes) log.info(n);
    if (graph && 'error' in graph) notes.push(`No graph image: ${graph.error}.`);
    void vscode.window.showInformationMessage(`QuantLens: wrote ${path.basename(file)}.${notes.length ? ` ${notes.join(' ')}` : ''}`);
    return file;
  } catch (e) {
    void vscode.window.showErrorMessage(`QuantLens: ${(e as Error).message}`);
    return undefined;
  }
}

/** Other tools' names for metrics the graph colours by (TFLite's debugger CSV columns). */
const METRIC_ALIASES: Record<string, LayerMetric> = { mean_squared_error: 'mse', mean_square_error: 'mse' };

/** A results model's layers as overlay data, the metrics the graph knows. */
export function overlayOf(r: ResultsReport, run: string, source: string, metric?: LayerMetric): LayerResultsMessage {
  const results: LayerResult[] = [];
  for (const l of r.layers) {
    const values: LayerResult['values'] = {};
    for (const [k, v] of Object.entries(l.metrics)) {
      const m = (LAYER_METRICS as readonly string[]).includes(k) ? (k as LayerMetric) : METRIC_ALIASES[k];
      if (m && Number.isFinite(v) && values[m] === undefined) values[m] = v;
    }
    if (Object.keys(values).length) results.push({ node: l.node, values });
  }
  const present = LAYER_METRICS.filter((k) => results.some((x) => x.values[k] !== undefined));
  return { type: 'layerResults', run, source, metric: metric && present.includes(metric) ? metric : present[0] ?? 'sqnrDb', results, done: true };
}

/**
 * *Compare Models…*: every layer of a QDQ model against the float one (SQNR, MSE, saturation), drawn
 * on both graphs, the quantized one opened beside the float one and linked to it (compareLink.ts:
 * nodes matched through the Q/DQ pairs and QOperator renames, selection and pan synchronised).
 */
async function compareLayers(
  context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel, model: vscode.Uri | undefined, args: CompareArgs,
): Promise<ResultsReport | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage('QuantLens: comparing runs the models, which needs a trusted workspace.');
    return undefined;
  }
  if (!model || model.scheme !== 'file' || !model.path.toLowerCase().endsWith('.onnx')) {
    void vscode.window.showErrorMessage('QuantLens: open the float .onnx model to compare a quantized version against it.');
    return undefined;
  }
  const quantized = args.quantized ?? (await pickQuantized(model));
  if (!quantized) return undefined;
  const dataKey = `quantlens.lastData:${model.toString()}`;
  const data = args.data ?? (await pickFile(context.workspaceState.get<string>(dataKey), 'Compare on this data', true));
  if (!data) return undefined;
  await context.workspaceState.update(dataKey, data);
  const job: AnalysisJob = { type: 'start', kind: 'layers', float: model.fsPath, quantized, data, limit: args.limit ?? 64 };
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: comparing every layer of ${path.basename(quantized)} with ${path.basename(model.fsPath)}`, cancellable: true },
      (progress, token) => runAnalysisJob(context.extensionPath, job, progress, token),
    );
    if (result.kind !== 'layers') throw new Error('unexpected analysis result');
    keepReport(model, 'layers', result.results);
    const overlay = overlayOf(result.results, `layers-${Date.now()}`, 'compare', 'sqnrDb');
    provider.postToDocument(model, overlay);
    const q = vscode.Uri.file(quantized);
    await vscode.commands.executeCommand('vscode.openWith', q, 'quantlens.modelEditor', vscode.ViewColumn.Beside);
    // Both editors linked (selection, pan, the overlay under the quantized graph's names) once ready.
    void CompareLink.start(provider, model, q, overlay, log);
    const worst = [...result.results.layers].filter((l) => Number.isFinite(l.metrics.sqnrDb)).sort((a, b) => a.metrics.sqnrDb! - b.metrics.sqnrDb!)[0];
    const line = `QuantLens: ${result.results.layers.length} layers compared${worst ? `; lowest SQNR ${worst.node} at ${worst.metrics.sqnrDb!.toFixed(1)} dB` : ''}.`;
    log.info(line);
    for (const w of result.results.warnings) log.warn(w);
    void vscode.window.showInformationMessage(line);
    return result.results;
  } catch (e) {
    const err = e as Error & { cancelled?: boolean };
    void (err.cancelled ? vscode.window.showInformationMessage(`QuantLens: ${err.message}`) : vscode.window.showErrorMessage(`QuantLens: ${err.message}`));
    return undefined;
  }
}

/** *Import Results…*: another tool's per-layer numbers (onnxruntime qdq_loss_debug, TFLite's debugger CSV, Model Explorer data) on the graph. */
async function importResults(
  context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel, model: vscode.Uri | undefined, file: string | undefined,
): Promise<ResultsReport | undefined> {
  if (!model || model.scheme !== 'file') {
    void vscode.window.showInformationMessage('QuantLens: open the model the results belong to first.');
    return undefined;
  }
  const picked = file ?? (await pickFile(undefined, 'Import these results', false, { 'Results': ['json', 'csv'] }));
  if (!picked) return undefined;
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: importing ${path.basename(picked)}`, cancellable: true },
      (progress, token) => runAnalysisJob(context.extensionPath, { type: 'start', kind: 'import', model: model.fsPath, file: picked }, progress, token),
    );
    if (result.kind !== 'import') throw new Error('unexpected analysis result');
    keepReport(model, `import:${picked}`, result.results);
    const overlay = overlayOf(result.results, `import-${Date.now()}`, path.basename(picked));
    provider.postToDocument(model, overlay);
    const missed = result.results.unmatched;
    for (const u of missed) log.warn(`${path.basename(picked)}: '${u.name}' is not a node or tensor of ${path.basename(model.fsPath)}`);
    const line = `QuantLens: ${overlay.results.length} layers from ${path.basename(picked)} on the graph${missed.length ? `; ${missed.length} names matched nothing (see the QuantLens output)` : ''}.`;
    void (missed.length ? vscode.window.showWarningMessage(line) : vscode.window.showInformationMessage(line));
    return result.results;
  } catch (e) {
    void vscode.window.showErrorMessage(`QuantLens: ${(e as Error).message}`);
    return undefined;
  }
}
