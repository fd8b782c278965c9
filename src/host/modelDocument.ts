/**
 * The document behind one open model editor. The model itself lives in a worker thread
 * (ModelWorkerClient): parsing, the graph view model and tensor statistics run there, so the
 * extension host stays responsive on big models and survives hostile ones.
 */
import * as vscode from 'vscode';
import type { GraphView } from '../core/graphView';
import type { ModelSummary } from '../core/summary';
import type { TensorStats } from '../core/tensor';
import type { TensorValuesPage, ViewState } from '../protocol';
import { ModelWorkerClient, ModelWorkerError } from './worker/modelWorkerClient';

export class ModelDocument implements vscode.CustomDocument {
  private _state: ViewState = { kind: 'loading' };
  private readonly worker = new ModelWorkerClient();
  private readonly _onDidLoad = new vscode.EventEmitter<void>();
  readonly onDidLoad = this._onDidLoad.event;
  /** Bumped whenever the state the webview mirrors changes. */
  revision = 0;
  readonly loaded: Promise<void>;

  private constructor(readonly uri: vscode.Uri) {
    this.loaded = this.load();
  }

  static create(uri: vscode.Uri): ModelDocument {
    return new ModelDocument(uri);
  }

  get state(): ViewState {
    return this._state;
  }

  get summary(): ModelSummary | undefined {
    return this._state.kind === 'loaded' ? this._state.summary : undefined;
  }

  private async load(): Promise<void> {
    try {
      // Local files are read lazily in the worker (weights stay on disk); other schemes (remote,
      // virtual) are read whole through the workspace file system and handed over.
      const opened = this.uri.scheme === 'file'
        ? await this.worker.call('open', { path: this.uri.fsPath })
        : await this.worker.call('open', { bytes: await vscode.workspace.fs.readFile(this.uri), name: this.uri.path });
      this._state = { kind: 'loaded', summary: opened.summary, openTimeMs: opened.openTimeMs, graph: opened.graph };
    } catch (e) {
      this._state = {
        kind: 'error',
        message: e instanceof Error ? e.message : String(e),
        code: e instanceof ModelWorkerError ? e.code : 'internal',
      };
    }
    this.revision++;
    this._onDidLoad.fire();
  }

  /** The main graph's view model, with or without Q/DQ folding (built once each, in the worker). */
  async graphView(foldQdq: boolean): Promise<GraphView> {
    await this.loaded;
    if (!foldQdq && this._state.kind === 'loaded' && this._state.graph) return this._state.graph;
    return this.worker.call('graphView', { foldQdq });
  }

  async tensorStats(tensor: string): Promise<TensorStats> {
    await this.loaded;
    return this.worker.call('tensorStats', { tensor });
  }

  async tensorValues(tensor: string, start: number, count: number): Promise<TensorValuesPage> {
    await this.loaded;
    return this.worker.call('tensorValues', { tensor, start, count });
  }

  dispose(): void {
    this._onDidLoad.dispose();
    void this.worker.terminate();
  }
}
