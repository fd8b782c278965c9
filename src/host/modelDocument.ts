/** The document behind one open model editor: the model (read-only) and how it was loaded. */
import * as vscode from 'vscode';
import type { GraphView } from '../core/graphView';
import type { Model } from '../core/model';
import type { ModelSummary } from '../core/summary';
import type { ViewState } from '../protocol';
import { loadCore } from './lazyCore';

export class ModelDocument implements vscode.CustomDocument {
  private _state: ViewState = { kind: 'loading' };
  private _model: Model | undefined;
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

  get model(): Model | undefined {
    return this._model;
  }

  get summary(): ModelSummary | undefined {
    return this._state.kind === 'loaded' ? this._state.summary : undefined;
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    const { openModelBytes, openModelFile, summarize, describeError, isModelError, buildGraphView } = loadCore();
    try {
      // Local files are read lazily (weights stay on disk); other schemes (remote, virtual) are
      // read whole through the workspace file system.
      const model = this.uri.scheme === 'file'
        ? await openModelFile(this.uri.fsPath)
        : await openModelBytes(await vscode.workspace.fs.readFile(this.uri), this.uri.path);
      this._model = model;
      // The graph view model rides along in the snapshot; if it cannot be built the summary still shows.
      let graph: GraphView | undefined;
      try {
        graph = buildGraphView(model);
      } catch {
        graph = undefined;
      }
      this._state = { kind: 'loaded', summary: summarize(model), openTimeMs: performance.now() - t0, graph };
    } catch (e) {
      this._state = {
        kind: 'error',
        message: describeError(e),
        code: isModelError(e) ? e.code : 'internal',
      };
    }
    this.revision++;
    this._onDidLoad.fire();
  }

  dispose(): void {
    this._onDidLoad.dispose();
  }
}
