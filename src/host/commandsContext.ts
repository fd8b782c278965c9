/**
 * Context keys that let menus offer a command only where it applies, kept in step with the active
 * QuantLens editor:
 *   quantlens.activeModelFormat       'onnx' | 'tflite' ('' while loading, on errors, or no QuantLens editor)
 *   quantlens.activeModelScheme       the quantization the model already carries ('none', 'qdq', ...)
 *   quantlens.activeModelQuantizable  a loaded float ONNX model
 *   quantlens.notQuantizableModels    paths of models seen not to be quantizable (for the explorer menu)
 */
import * as vscode from 'vscode';
import type { ModelSummary } from '../core/summary';
import { quantizeRefusal } from './commandsChecks';
import { VIEW_TYPE, type EditorRecord, type ModelEditorProvider } from './modelEditorProvider';
import { ModelWorkerClient } from './worker/modelWorkerClient';

/** The editor's record appears a moment after its tab does (resolveCustomEditor runs later). */
const RECORD_RETRY_MS = 150;
const RECORD_RETRIES = 100;

export class ActiveModelContext implements vscode.Disposable {
  private readonly subs: vscode.Disposable[] = [];
  private readonly notQuantizable = new Set<string>();
  private generation = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly provider: ModelEditorProvider) {
    this.subs.push(
      vscode.window.tabGroups.onDidChangeTabs(() => this.update()),
      vscode.window.tabGroups.onDidChangeTabGroups(() => this.update()),
    );
    this.update();
  }

  /** Remembers a model that cannot be quantized, so the explorer stops offering it. */
  markNotQuantizable(uri: vscode.Uri): void {
    if (uri.scheme !== 'file' || this.notQuantizable.has(uri.fsPath)) return;
    this.notQuantizable.add(uri.fsPath);
    void vscode.commands.executeCommand('setContext', 'quantlens.notQuantizableModels', [...this.notQuantizable]);
  }

  private update(attempt = 0): void {
    const gen = ++this.generation;
    clearTimeout(this.retry);
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (!(input instanceof vscode.TabInputCustom) || input.viewType !== VIEW_TYPE) return this.set(undefined);
    const record = findRecord(this.provider, input.uri);
    if (!record || record.document.state.kind === 'loading') {
      this.set(undefined);
      if (record) void record.document.loaded.then(() => { if (gen === this.generation) this.update(); });
      else if (attempt < RECORD_RETRIES) this.retry = setTimeout(() => { if (gen === this.generation) this.update(attempt + 1); }, RECORD_RETRY_MS);
      return;
    }
    const summary = record.document.summary;
    this.set(summary);
    if (!summary || quantizeRefusal('', summary)) this.markNotQuantizable(input.uri);
  }

  private set(summary: ModelSummary | undefined): void {
    const quantizable = summary !== undefined && quantizeRefusal('', summary) === undefined;
    void vscode.commands.executeCommand('setContext', 'quantlens.activeModelFormat', summary?.format ?? '');
    void vscode.commands.executeCommand('setContext', 'quantlens.activeModelScheme', summary?.quantization.scheme ?? '');
    void vscode.commands.executeCommand('setContext', 'quantlens.activeModelQuantizable', quantizable);
  }

  dispose(): void {
    clearTimeout(this.retry);
    for (const s of this.subs) s.dispose();
  }
}

function findRecord(provider: ModelEditorProvider, uri: vscode.Uri): EditorRecord | undefined {
  const key = uri.toString();
  for (const r of provider.editors) if (r.document.uri.toString() === key) return r;
  return undefined;
}

/**
 * The summary of the model at `uri`: from its open QuantLens editor, or read in a short-lived model
 * worker (structure only; weights stay on disk). Rejects with the reader's message when it cannot be read.
 */
export async function modelSummaryFor(provider: ModelEditorProvider, uri: vscode.Uri): Promise<ModelSummary> {
  const record = findRecord(provider, uri);
  if (record) {
    await record.document.loaded;
    const state = record.document.state;
    if (state.kind === 'loaded') return state.summary;
    if (state.kind === 'error') throw new Error(state.message);
  }
  const worker = new ModelWorkerClient();
  try {
    return (await worker.call('open', { path: uri.fsPath })).summary;
  } finally {
    void worker.terminate();
  }
}
