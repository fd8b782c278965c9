/**
 * Extension entry point. Activation stays cheap: no model parsing and no onnxruntime-node here;
 * both load on first use.
 */
import * as vscode from 'vscode';
import type { ModelSummary } from '../core/summary';
import type { LayerResultsMessage } from '../protocol';
import { ActiveModelContext, modelSummaryFor } from './commandsContext';
import { SummaryDocuments } from './commandsSummary';
import { LayerResultsStore, registerAnalysisCommands } from './analysisCommands';
import { registerAutotuneCommand } from './autotuneCommand';
import { registerMarkCommands } from './markCommands';
import { registerReportCommands } from './reportCommands';
import { registerRecipeLanguage } from './recipeLanguage';
import { openSample } from './sampleCommand';
import { RecipeModels } from './recipeModels';
import { ResultsPanels, type ResultsPanelInfo } from './resultsPanel';
import { ModelEditorProvider, VIEW_TYPE } from './modelEditorProvider';
import { ModelWorkerClient } from './worker/modelWorkerClient';
import { quantizeCommand, type QuantizeCommandArgs } from './quantizeCommand';
import { fixStartupRace, reopenModelTabs } from './startupRace';
import { CompareLink, type CompareLinkInfo } from './compareLink';

/** The API returned by activate(): used by the integration tests and by other extensions. */
export interface QuantLensApi {
  version: string;
  /** The last per-layer results stored for a model (by URI string), as the graph receives them. */
  layerResultsOf(uri: string): Promise<LayerResultsMessage | undefined>;
  /** The precision marks of an open model (by URI string): the plan and marks naming unknown nodes. */
  marksOf(uri: string): { plan: Record<string, string>; unknown: string[]; unsaved: boolean } | undefined;
  /** The model's results panel, if open: the state it was sent and what it drew. */
  resultsPanelOf(uri: string): ResultsPanelInfo | undefined;
  /** Handles a message as if the model's results panel had posted it (tests; validated like any other). */
  resultsPanelMessage(uri: string, message: unknown): boolean;
  /** The nodes selected in the graph of an open model. */
  selectionOf(uri: string): string[] | undefined;
  /** The compare link an open model takes part in (Compare Models…): its side, its peer and the overlay re-keyed for the quantized graph. */
  compareLinkOf(uri: string): CompareLinkInfo | undefined;
  openDocuments(): Array<{ uri: string; summary?: ModelSummary; error?: string; webviewReady: boolean; firstViewMs?: number }>;
}

export function activate(context: vscode.ExtensionContext): QuantLensApi {
  const log = vscode.window.createOutputChannel('QuantLens', { log: true });
  // Model workers cache opened views there (derived data, keyed by the file's content hash).
  if (context.globalStorageUri.scheme === 'file') ModelWorkerClient.viewCacheDir = vscode.Uri.joinPath(context.globalStorageUri, 'views').fsPath;
  context.subscriptions.push(log);
  const provider = ModelEditorProvider.register(context, log);

  fixStartupRace(context, VIEW_TYPE, log);
  registerMarkCommands(context, provider);
  const results = new LayerResultsStore(context.workspaceState);
  registerAnalysisCommands(context, provider, log, results);
  registerReportCommands(context, provider, log);
  registerAutotuneCommand(context, provider, log);
  registerRecipeLanguage(context, new RecipeModels(provider, log), (model, node) => results.insight(model, node));
  const active = new ActiveModelContext(provider);
  const resultsPanels = new ResultsPanels(context, provider, results, log);
  const summaries = new SummaryDocuments();

  context.subscriptions.push(
    active,
    summaries,
    vscode.commands.registerCommand('quantlens.openSample', () => openSample(context, VIEW_TYPE)),
    vscode.commands.registerCommand('quantlens.showOutput', () => log.show(true)),
    vscode.commands.registerCommand('quantlens.showResultsPanel', async (uri?: vscode.Uri) => {
      const model = uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri;
      if (!model) {
        void vscode.window.showInformationMessage('QuantLens: open a model first; its results panel shows what the measuring commands found.');
        return false;
      }
      await resultsPanels.show(model, false);
      return true;
    }),
    vscode.commands.registerCommand('quantlens.revealNode', (uri: vscode.Uri, node: string) =>
      uri instanceof vscode.Uri && typeof node === 'string' ? provider.revealNode(uri, node) : false),
    vscode.commands.registerCommand('quantlens.reopenModelTabs', () => reopenModelTabs(VIEW_TYPE)),
    vscode.commands.registerCommand('quantlens.quantizeModel', (uri?: vscode.Uri, args?: QuantizeCommandArgs) =>
      quantizeCommand(context, log, uri instanceof vscode.Uri ? uri : provider.activeEditor?.document.uri, {
        summaryOf: (u) => modelSummaryFor(provider, u),
        notQuantizable: (u) => active.markNotQuantizable(u),
        marksOf: (u) => {
          const doc = [...provider.editors].find((r) => r.document.uri.toString() === u.toString())?.document;
          return doc && doc.state.kind === 'loaded' ? { plan: doc.marks.toPlan(), unsaved: doc.hasUnsavedMarks } : undefined;
        },
      }, args)),
    vscode.commands.registerCommand('quantlens.openModel', async (uri?: vscode.Uri) => {
      const target = uri ?? (await pickModelFile());
      if (target) await vscode.commands.executeCommand('vscode.openWith', target, VIEW_TYPE);
    }),
    vscode.commands.registerCommand('quantlens.showModelSummary', async () => {
      const editor = provider.activeEditor;
      if (!editor) {
        void vscode.window.showInformationMessage('QuantLens: open a .onnx or .tflite model first.');
        return undefined;
      }
      await editor.document.loaded;
      const state = editor.document.state;
      if (state.kind === 'error') {
        void vscode.window.showErrorMessage(`QuantLens: ${state.message}`);
        return undefined;
      }
      if (state.kind !== 'loaded') return undefined;
      await summaries.show(editor.document.uri, state.summary);
      return state.summary;
    }),
  );

  const version = String((context.extension.packageJSON as { version?: string }).version ?? '0.0.0');
  return {
    version,
    layerResultsOf: (uri) => provider.resultsFor(vscode.Uri.parse(uri)),
    resultsPanelOf: (uri) => resultsPanels.info(vscode.Uri.parse(uri)),
    resultsPanelMessage: (uri, message) => resultsPanels.deliver(vscode.Uri.parse(uri), message),
    selectionOf: (uri) => [...provider.editors].find((r) => r.document.uri.toString() === uri)?.selection,
    compareLinkOf: (uri) => CompareLink.info(vscode.Uri.parse(uri)),
    marksOf: (uri) => {
      const record = [...provider.editors].find((r) => r.document.uri.toString() === uri);
      if (!record || record.document.state.kind !== 'loaded') return undefined;
      const { plan, unknown } = record.document.marksState;
      return { plan, unknown, unsaved: record.document.hasUnsavedMarks };
    },
    openDocuments: () =>
      [...provider.editors].map((r) => ({
        uri: r.document.uri.toString(),
        summary: r.document.summary,
        error: r.document.state.kind === 'error' ? r.document.state.message : undefined,
        webviewReady: r.webviewReady,
        firstViewMs: r.firstViewMs,
      })),
  };
}

async function pickModelFile(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { Models: ['onnx', 'tflite'] },
    openLabel: 'Open in QuantLens',
  });
  return picked?.[0];
}

export function deactivate(): void {
  ModelWorkerClient.disposeSpare();
  // Nothing to release: every resource is registered in context.subscriptions.
}
