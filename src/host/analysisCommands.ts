/**
 * The measuring commands, each in a worker thread with progress and Cancel:
 * - *Run Sensitivity Analysis*: every quantized layer's sensitivity, streamed to the open graphs as
 *   each layer is measured, for the quantization the editor's marks describe (static int8 by
 *   default); the last results are kept per model, so a reopened editor and the recipe hovers show
 *   them at once;
 * - *Evaluate Quantized Model…* and *Check Robustness…*: the float model against a quantized one,
 *   shown as a readable report beside the model;
 * - *Export Report…*: the model's last results as HTML, Markdown, CSV, JSON or Model Explorer data.
 * Results are derived data: they never make the document dirty.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LayerSensitivity, SensitivityReport } from '../core/eval/sensitivity';
import type { ResultsReport } from '../core/report';
import type { Recipe } from '../core/quant/recipe';
import type { LayerResult, LayerResultsMessage } from '../protocol';
import { quantizeRefusal } from './commandsChecks';
import { modelSummaryFor } from './commandsContext';
import type { ModelEditorProvider } from './modelEditorProvider';
import type { NodeInsight } from './recipeLanguage';
import { resultsFeed } from './resultsPanelFeed';
import type { AnalysisJob, AnalysisJobToHost, AnalysisResult } from './worker/analysisJobProtocol';
import { runWorkerJob } from './workerJob';

export interface SensitivityArgs {
  data?: string;
  labels?: string;
  limit?: number;
}

/** Results reports kept per model for Export Report (this window only), by kind. */
const reports = new Map<string, Map<string, ResultsReport>>();
export function keepReport(model: vscode.Uri, kind: string, r: ResultsReport): void {
  const m = reports.get(model.toString()) ?? new Map<string, ResultsReport>();
  m.set(kind, r);
  reports.set(model.toString(), m);
  resultsFeed.report(model, kind, r);
}
export function reportsOf(model: vscode.Uri): ResultsReport[] {
  return [...(reports.get(model.toString())?.values() ?? [])];
}

interface Stored {
  /** size:mtime of the model file the results were measured on. */
  fingerprint: string;
  message: LayerResultsMessage;
  ranking: string[];
  /** Output SQNR (dB) with only this layer quantized, when the metric was SQNR. */
  alone?: Record<string, number>;
}

const STATE_KEY = (uri: vscode.Uri) => `quantlens.sensitivity:${uri.toString()}`;

/** The last results per model, checked against the model file before they are shown. */
export class LayerResultsStore {
  constructor(private readonly state: vscode.Memento) {}

  async get(uri: vscode.Uri): Promise<Stored | undefined> {
    const s = this.state.get<Stored>(STATE_KEY(uri));
    if (!s) return undefined;
    return s.fingerprint === (await fingerprint(uri)) ? s : undefined;
  }

  /** Synchronous view for hovers: the stored results, if any (the fingerprint was checked when shown). */
  peek(uri: vscode.Uri): Stored | undefined {
    return this.state.get<Stored>(STATE_KEY(uri));
  }

  async set(uri: vscode.Uri, message: LayerResultsMessage, ranking: string[], alone?: Record<string, number>): Promise<void> {
    await this.state.update(STATE_KEY(uri), { fingerprint: await fingerprint(uri), message, ranking, alone } satisfies Stored);
  }

  /** What the recipe hover shows of a node. */
  insight(uri: vscode.Uri, node: string): NodeInsight | undefined {
    const s = this.peek(uri);
    const r = s?.message.results.find((x) => x.node === node);
    if (!s || !r || r.values.sensitivity === undefined) return undefined;
    const rank = s.ranking.indexOf(node) + 1;
    return {
      sensitivity: `keeping it float recovers ${r.values.sensitivity.toFixed(2)} dB of output SQNR (rank ${rank} of ${s.ranking.length})`,
      ...(s.alone?.[node] !== undefined ? { aloneSqnrDb: s.alone[node] } : {}),
    };
  }
}

async function fingerprint(uri: vscode.Uri): Promise<string> {
  try {
    const st = await vscode.workspace.fs.stat(uri);
    return `${st.size}:${st.mtime}`;
  } catch {
    return '';
  }
}

/**
 * The graph's name for an analysed layer: pre-processing names a fused node 'Original/Fusion'
 * (Times212/MatMulAddFusion), and the graph the user marks shows 'Original'.
 */
export function graphNodeName(node: string, names: ReadonlySet<string>): string {
  if (names.has(node) || !names.size) return node;
  const cut = node.lastIndexOf('/');
  return cut > 0 && names.has(node.slice(0, cut)) ? node.slice(0, cut) : node;
}

function toResult(l: LayerSensitivity, names: ReadonlySet<string>): LayerResult {
  return { node: graphNodeName(l.node, names), values: { sensitivity: l.recovery, deltaMetric: l.drop } };
}

export function registerAnalysisCommands(context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel, store: LayerResultsStore): void {
  provider.resultsFor = async (uri) => (await store.get(uri))?.message;
  context.subscriptions.push(
    vscode.commands.registerCommand('quantlens.runSensitivity', (uri?: vscode.Uri, args?: SensitivityArgs) =>
      runSensitivity(context, provider, log, store, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, args ?? {})),
  );
}

async function runSensitivity(
  context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel, store: LayerResultsStore, model: vscode.Uri | undefined, args: SensitivityArgs,
): Promise<SensitivityReport | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage('QuantLens: the sensitivity analysis runs the model, which needs a trusted workspace.');
    return undefined;
  }
  if (!model || model.scheme !== 'file' || !model.path.toLowerCase().endsWith('.onnx')) {
    void vscode.window.showErrorMessage('QuantLens: open a local float .onnx model to measure its layers\' sensitivity.');
    return undefined;
  }
  const name = path.basename(model.fsPath);
  try {
    const refusal = quantizeRefusal(name, await modelSummaryFor(provider, model));
    if (refusal) {
      void vscode.window.showErrorMessage(`QuantLens: ${refusal}`);
      return undefined;
    }
  } catch (e) {
    void vscode.window.showErrorMessage(`QuantLens: '${name}' cannot be analysed: ${(e as Error).message}`);
    return undefined;
  }
  const dataKey = `quantlens.lastData:${model.toString()}`;
  let data = args.data;
  if (!data) {
    const last = context.workspaceState.get<string>(dataKey);
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: 'Measure on this data',
      title: `Data to measure ${name}'s layers on (calibration uses its first samples)`,
      ...(last ? { defaultUri: vscode.Uri.file(last) } : {}),
    });
    if (!picked?.[0]) return undefined;
    data = picked[0].fsPath;
  }
  await context.workspaceState.update(dataKey, data);

  const doc = [...provider.editors].find((r) => r.document.uri.toString() === model.toString())?.document;
  const plan = doc && doc.state.kind === 'loaded' ? doc.marks.toPlan() : {};
  const names = doc?.nodeNames ?? new Set<string>();
  const recipe: Recipe | undefined = Object.keys(plan).length ? { version: 1, mode: 'static', perChannel: true, plan } : undefined;
  const cacheDir = vscode.Uri.joinPath(context.globalStorageUri, 'cache').fsPath;
  const job: AnalysisJob = { type: 'start', kind: 'sensitivity', model: model.fsPath, data, labels: args.labels, limit: args.limit, recipe, cacheDir };
  const run = `sensitivity-${Date.now()}`;
  const results = new Map<string, LayerResult>();
  const send = (done: boolean): LayerResultsMessage => {
    const message: LayerResultsMessage = { type: 'layerResults', run, source: 'sensitivity', metric: 'sensitivity', results: [...results.values()], done };
    provider.postToDocument(model, message);
    resultsFeed.stream(model, message);
    return message;
  };
  // Layers arrive one by one; the graph is told at most every 100 ms.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const scheduleSend = (): void => {
    timer ??= setTimeout(() => {
      timer = undefined;
      send(false);
    }, 100);
  };
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  try {
    const done = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: measuring the sensitivity of ${name}'s layers`, cancellable: true },
      (progress, token) => runAnalysisJob(context.extensionPath, job, progress, token, (layer) => {
        const r = toResult(layer, names);
        results.set(r.node, r);
        scheduleSend();
      }),
    );
    flush();
    if (done.kind !== 'sensitivity') throw new Error('unexpected analysis result');
    const report = done.report;
    keepReport(model, 'sensitivity', done.results);
    for (const l of report.layers) {
      const r = toResult(l, names);
      results.set(r.node, r);
    }
    const ranking = report.ranking.map((n) => graphNodeName(n, names));
    const alone = report.metric === 'sqnr' ? Object.fromEntries(report.layers.map((l) => [graphNodeName(l.node, names), l.onlyThis])) : undefined;
    await store.set(model, send(true), ranking, alone);
    const top = report.layers.find((l) => l.node === report.ranking[0]);
    const text = top
      ? `QuantLens: ${report.layers.length} layers measured on ${report.samples} samples${report.cached ? ' (from the cache)' : ''}. Most sensitive: ${graphNodeName(top.node, names)} (keeping it float recovers ${top.recovery.toFixed(2)} dB).`
      : `QuantLens: no quantized layers to measure in ${name}.`;
    log.info(text);
    for (const w of report.warnings) log.warn(w);
    void vscode.window.showInformationMessage(text);
    return report;
  } catch (e) {
    flush();
    const err = e as Error & { cancelled?: boolean };
    if (err.cancelled) void vscode.window.showInformationMessage(`QuantLens: ${err.message}`);
    else void vscode.window.showErrorMessage(`QuantLens: ${err.message}`);
    log.error(`Sensitivity of ${model.fsPath}: ${err.message}`);
    return undefined;
  }
}

export function runAnalysisJob(
  extensionPath: string, start: AnalysisJob, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken,
  onLayer: (l: LayerSensitivity) => void = () => undefined,
): Promise<AnalysisResult> {
  let reported = 0;
  return runWorkerJob<AnalysisJobToHost, AnalysisResult>(path.join(extensionPath, 'dist', 'analysisWorker.js'), start, token, (m) => {
    if (m.type === 'progress') {
      const done = m.total ? (100 * m.done) / m.total : 0;
      progress.report({ message: m.label, increment: Math.max(0, done - reported) });
      reported = Math.max(reported, done);
    } else if (m.type === 'layer') onLayer(m.layer);
    else if (m.type === 'done') return { done: m.result };
    else return { failed: m.message, cancelled: m.cancelled };
    return undefined;
  }, 'analysis');
}
