/**
 * *Auto Mixed Precision…*: searches the cheapest per-layer plan that meets a budget ("sqnr >= 30",
 * "accuracy-drop <= 0.5"), measuring each step, in a worker thread with progress and Cancel. The
 * chosen plan opens as the editor's marks, one undoable edit; the search's Pareto points go to the
 * model's results (Export Report… draws them).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AutotuneResult } from '../core/eval/autotune';
import { parseBudget } from '../core/eval/budget';
import { emptyReport } from '../core/report/model';
import { keepReport, runAnalysisJob } from './analysisCommands';
import type { ModelEditorProvider } from './modelEditorProvider';
import { resultsFeed } from './resultsPanelFeed';

export interface AutotuneArgs {
  data?: string;
  labels?: string;
  budget?: string;
  cost?: 'size' | 'bops';
  limit?: number;
}

export function registerAutotuneCommand(context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(vscode.commands.registerCommand('quantlens.autoMixedPrecision', (uri?: vscode.Uri, args?: AutotuneArgs) =>
    autoMixedPrecision(context, provider, log, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, args ?? {})));
}

async function autoMixedPrecision(
  context: vscode.ExtensionContext, provider: ModelEditorProvider, log: vscode.LogOutputChannel, model: vscode.Uri | undefined, args: AutotuneArgs,
): Promise<AutotuneResult | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage('QuantLens: the search runs the model, which needs a trusted workspace.');
    return undefined;
  }
  const record = model && [...provider.editors].find((r) => r.document.uri.toString() === model.toString());
  if (!model || !record || model.scheme !== 'file' || !model.path.toLowerCase().endsWith('.onnx')) {
    void vscode.window.showErrorMessage('QuantLens: open the float .onnx model in QuantLens first: the chosen plan opens as its marks.');
    return undefined;
  }
  const name = path.basename(model.fsPath);
  const budgetKey = `quantlens.lastBudget:${model.toString()}`;
  const budget = args.budget ?? (await vscode.window.showInputBox({
    title: `Budget for ${name}`,
    prompt: 'sqnr >= 30 (output SQNR, dB) · agreement >= 99 (top-1 agreement, %) · accuracy-drop <= 0.5 (points; needs labels) · join with "and"',
    value: context.workspaceState.get<string>(budgetKey) ?? 'sqnr >= 30',
    validateInput: (v) => {
      try {
        parseBudget(v);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    },
  }));
  if (!budget) return undefined;
  await context.workspaceState.update(budgetKey, budget);
  const dataKey = `quantlens.lastData:${model.toString()}`;
  let data = args.data;
  if (!data) {
    const last = context.workspaceState.get<string>(dataKey);
    data = (await vscode.window.showOpenDialog({
      canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: 'Tune on this data',
      title: 'Data for the search (a quarter is held out to check the chosen plan)', ...(last ? { defaultUri: vscode.Uri.file(last) } : {}),
    }))?.[0]?.fsPath;
  }
  if (!data) return undefined;
  await context.workspaceState.update(dataKey, data);
  const cacheDir = vscode.Uri.joinPath(context.globalStorageUri, 'cache').fsPath;
  try {
    const done = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: searching a mixed-precision plan for ${name} (${budget})`, cancellable: true },
      (progress, token) => runAnalysisJob(context.extensionPath, {
        type: 'start', kind: 'autotune', model: model.fsPath, data: data!, labels: args.labels, limit: args.limit, budget, cost: args.cost ?? 'size', cacheDir,
      }, progress, token),
    );
    if (done.kind !== 'autotune') throw new Error('unexpected analysis result');
    const r = done.result;
    const n = record.document.replaceMarks(r.plan, `Auto mixed precision (${budget})`);
    const report = emptyReport();
    report.models = { float: name };
    report.curves.push({ title: `Autotune: cost (${r.cost}) against ${r.primary}`, x: `cost (${r.cost})`, y: r.primary, points: r.points.map((p) => ({ x: p.cost, y: p.values[r.primary as keyof typeof p.values] as number, label: p.label })) });
    keepReport(model, 'autotune', report);
    resultsFeed.autotune(model, r);
    const held = Object.entries(r.heldOut.values).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(', ');
    const line = r.met
      ? `QuantLens: ${r.keptAboveInt8} of ${r.quantizedOps} layers kept above int8 meets "${budget}" (held out: ${held}${r.heldOut.met ? '' : ', NOT met on held-out data'}); ${n} marks changed, undo with Ctrl+Z.`
      : `QuantLens: no plan met "${budget}"; the closest (${r.keptAboveInt8} layers above int8) reached ${Object.entries(r.reached).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(', ')} and is now the marks.`;
    log.info(line);
    for (const w of r.warnings) log.warn(w);
    void (r.met && r.heldOut.met ? vscode.window.showInformationMessage(line) : vscode.window.showWarningMessage(line));
    return r;
  } catch (e) {
    const err = e as Error & { cancelled?: boolean };
    void (err.cancelled ? vscode.window.showInformationMessage(`QuantLens: ${err.message}`) : vscode.window.showErrorMessage(`QuantLens: ${err.message}`));
    return undefined;
  }
}
