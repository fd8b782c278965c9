/** The document behind one open model editor: the model (read-only) and how it was loaded. */
import * as vscode from 'vscode';
import { describeError, isModelError } from '../core/errors';
import type { Model } from '../core/model';
import { openModelBytes, openModelFile } from '../core/open';
import { summarize, type ModelSummary } from '../core/summary';
import type { ViewState } from '../protocol';

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
    try {
      // Local files are read lazily (weights stay on disk); other schemes (remote, virtual) are
      // read whole through the workspace file system.
      const model = this.uri.scheme === 'file'
        ? await openModelFile(this.uri.fsPath)
        : await openModelBytes(await vscode.workspace.fs.readFile(this.uri), this.uri.path);
      this._model = model;
      this._state = { kind: 'loaded', summary: summarize(model), openTimeMs: performance.now() - t0 };
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
