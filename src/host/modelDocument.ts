/** The document behind one open model editor: the model (read-only) and how it was loaded. */
import * as vscode from 'vscode';
import type { GraphView } from '../core/graphView';
import type { Constant, Model } from '../core/model';
import type { TensorStats } from '../core/tensor';
import type { ModelSummary } from '../core/summary';
import type { TensorValuesPage, ViewState } from '../protocol';
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

  // ---- graph view requests (issue 4) ----------------------------------------------------------

  private readonly graphViews = new Map<boolean, GraphView>();
  private readonly statsCache = new Map<string, Promise<TensorStats>>();

  /** The main graph's view model, with or without Q/DQ folding (built once each). */
  graphView(foldQdq: boolean): GraphView {
    const model = this.requireModel();
    let v = this.graphViews.get(foldQdq) ?? (!foldQdq && this._state.kind === 'loaded' ? this._state.graph : undefined);
    if (!v) v = loadCore().buildGraphView(model, { foldQdq });
    this.graphViews.set(foldQdq, v);
    return v;
  }

  /** A constant of the main graph by name; throws an Error whose message the webview shows. */
  constantOf(name: string): Constant {
    const model = this.requireModel();
    const value = model.graphs[0]?.values.get(name);
    if (!value) throw new Error(`The model has no tensor named '${name.slice(0, 200)}'.`);
    if (!value.constant) throw new Error(`Tensor '${name.slice(0, 200)}' is not a constant: its values exist only when the model runs.`);
    return value.constant;
  }

  /** Statistics of a constant, computed once and cached (weights never change in a read-only model). */
  tensorStats(name: string): Promise<TensorStats> {
    const c = this.constantOf(name);
    let p = this.statsCache.get(name);
    if (!p) {
      p = loadCore().tensorStats(c, { bins: 48 });
      // A failure is not cached: the file may become readable again.
      p.catch(() => this.statsCache.delete(name));
      this.statsCache.set(name, p);
    }
    return p;
  }

  async tensorValues(name: string, start: number, count: number): Promise<TensorValuesPage> {
    const c = this.constantOf(name);
    const total = c.shape.reduce((a, b) => a * b, 1);
    if (start >= total && !(start === 0 && total === 0)) throw new Error(`Tensor '${name.slice(0, 200)}' has ${total} values; there is no value at index ${start}.`);
    const values = await loadCore().readConstantValues(c, start, count);
    return { tensor: name, dtype: c.dtype, shape: c.shape, total, start, values: Float64Array.from(values) };
  }

  private requireModel(): Model {
    if (!this._model) throw new Error(this._state.kind === 'error' ? 'The model failed to open.' : 'The model is still loading.');
    return this._model;
  }

  dispose(): void {
    this._onDidLoad.dispose();
  }
}
