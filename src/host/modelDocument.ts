/**
 * The document behind one open model: the model (read-only, parsed in a worker thread by
 * ModelWorkerClient so the extension host stays responsive on big models and survives hostile
 * ones) and the user's precision marks, the editable part. Marks are saved to the sidecar recipe
 * (`<model>.quantlens.json`), never to the model; unsaved marks survive a reload through backups.
 * Every editor of the same file shares this one document.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { GraphView } from '../core/graphView';
import { MarkSet, unknownMarks, viewNodeNames, type MarkEdit, type Precision } from '../core/marks/marks';
import { parseBackup, readSidecarPlan, serializeBackup, sidecarPath, writeSidecarPlan, type MarksBackup } from '../core/marks/sidecar';
import type { ModelSummary } from '../core/summary';
import type { TensorStats } from '../core/tensor';
import type { MarksState, TensorValuesPage, ViewState } from '../protocol';
import type { UnsavedMarksStore } from './unsavedMarks';
import { ModelWorkerClient, ModelWorkerError } from './worker/modelWorkerClient';

export class ModelDocument implements vscode.CustomDocument {
  private _state: ViewState = { kind: 'loading' };
  private readonly worker = new ModelWorkerClient();
  private readonly _onDidLoad = new vscode.EventEmitter<void>();
  readonly onDidLoad = this._onDidLoad.event;
  /** An undoable change of the marks, for VS Code's undo stack and dirty state. */
  private readonly _onDidEdit = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<ModelDocument>>();
  readonly onDidEdit = this._onDidEdit.event;
  /** The marks changed (edit, undo, redo, revert, reload): webviews and the status bar redraw. */
  private readonly _onDidChangeMarks = new vscode.EventEmitter<void>();
  readonly onDidChangeMarks = this._onDidChangeMarks.event;
  /** Bumped whenever the state the webview mirrors changes. */
  revision = 0;
  readonly loaded: Promise<void>;
  readonly marks = new MarkSet();
  /** The sidecar's plan as last read or written: what Revert returns to. */
  private savedPlan: Record<string, Precision> = {};
  /** The sidecar text this document last wrote, so its own save is not taken for an external change. */
  private lastWritten: string | undefined;
  /** A problem reading the sidecar or the backup, shown to the user once. */
  marksProblem: string | undefined;
  private modelHash: Promise<string> | undefined;
  private readonly owned: vscode.Disposable[] = [];
  /** Unsaved marks found in the store on open, applied as one edit once an editor shows them. */
  private pendingRestore: Record<string, Precision> | undefined;
  private storeTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(readonly uri: vscode.Uri, backupId: string | undefined, private readonly store: UnsavedMarksStore | undefined) {
    this.loaded = this.load(backupId);
    if (store) this._onDidChangeMarks.event(() => this.scheduleStore());
  }

  static create(uri: vscode.Uri, backupId?: string, store?: UnsavedMarksStore): ModelDocument {
    return new ModelDocument(uri, backupId, store);
  }

  get state(): ViewState {
    return this._state;
  }

  get summary(): ModelSummary | undefined {
    return this._state.kind === 'loaded' ? this._state.summary : undefined;
  }

  /** Where this model's marks are saved. */
  get sidecarUri(): vscode.Uri {
    return this.uri.with({ path: sidecarPath(this.uri.path) });
  }

  /** The marks differ from the saved recipe (edits, or a restored backup). */
  get hasUnsavedMarks(): boolean {
    return !samePlan(this.marks.toPlan(), this.savedPlan);
  }

  /** Disposed with the document (its recipe watcher). */
  own(...d: vscode.Disposable[]): void {
    this.owned.push(...d);
  }

  private async load(backupId: string | undefined): Promise<void> {
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
    if (this._state.kind === 'loaded') await this.loadMarks(backupId);
    this.revision++;
    this._onDidLoad.fire();
    // The next model opened starts on a worker that is already up.
    ModelWorkerClient.prepareSpare();
  }

  /**
   * Marks from VS Code's backup when it restores one, else from the sidecar recipe; unsaved marks
   * kept in the store (a reload whose backup record the workbench lost) are restored as an edit.
   */
  private async loadMarks(backupId: string | undefined): Promise<void> {
    const sidecar = await this.readSidecar();
    if (sidecar.problem) this.marksProblem = sidecar.problem;
    this.savedPlan = sidecar.plan;
    let plan = sidecar.plan;
    let backupProblem: unknown;
    if (backupId) {
      try {
        plan = (await this.checkedBackup(parseBackup(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.parse(backupId)))))).plan;
      } catch (e) {
        backupProblem = e;
      }
    }
    if (!backupId || backupProblem) {
      try {
        const kept = await this.store?.get(this.uri);
        if (kept && !samePlan(kept.plan, sidecar.plan)) this.pendingRestore = (await this.checkedBackup(kept)).plan;
        else if (backupProblem) throw backupProblem;
      } catch (e) {
        this.marksProblem = `Unsaved marks could not be restored: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    this.marks.replaceAll(plan, 'Load marks');
  }

  private async checkedBackup(backup: MarksBackup): Promise<MarksBackup> {
    if (backup.modelSha256 !== (await this.hash())) {
      this.marksProblem = 'The model file changed since these unsaved marks were made; check them before saving.';
    }
    return backup;
  }

  /**
   * Applies unsaved marks found in the store on open, as one undoable edit (so the editor is dirty
   * and Save, Revert and undo work). Called once an editor for this document exists.
   */
  restoreUnsavedMarks(): number {
    const plan = this.pendingRestore;
    this.pendingRestore = undefined;
    return plan ? this.replaceMarks(plan, 'Restore unsaved marks') : 0;
  }

  /** Keeps the unsaved marks in the store (or clears it when there are none), shortly after each change. */
  private scheduleStore(): void {
    if (!this.store) return;
    clearTimeout(this.storeTimer);
    this.storeTimer = setTimeout(() => void this.writeStore(), 100);
  }

  private async writeStore(): Promise<void> {
    if (!this.store) return;
    if (this.hasUnsavedMarks) await this.store.put(this.uri, { version: 1, modelSha256: await this.hash(), plan: this.marks.toPlan() });
    else await this.store.clear(this.uri);
  }

  private async readSidecar(): Promise<{ plan: Record<string, Precision>; text?: string; problem?: string }> {
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(this.sidecarUri));
    } catch {
      return { plan: {} }; // no recipe yet
    }
    try {
      return { plan: readSidecarPlan(text, `'${this.sidecarUri.fsPath}'`), text };
    } catch (e) {
      return { plan: {}, text, problem: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Node names of the graph the editor shows, which is what marks are made on. */
  get nodeNames(): ReadonlySet<string> {
    const g = this._state.kind === 'loaded' ? this._state.graph : undefined;
    return g ? viewNodeNames(g) : new Set();
  }

  /** What the webviews show: the marks and the ones naming nodes the model does not have. */
  get marksState(): MarksState {
    const plan = this.marks.toPlan();
    return { plan, unknown: unknownMarks(plan, this.nodeNames), revision: this.revision };
  }

  /**
   * One user intent: set (or clear, with undefined) the mark of `nodes`. Returns how many marks
   * changed; 0 means no edit was made.
   */
  setMarks(nodes: readonly string[], precision: Precision | undefined, label?: string): number {
    const edit = this.marks.set(nodes, precision, label);
    if (!edit) return 0;
    this.pushEdit(edit);
    return edit.changes.length;
  }

  /** Replaces all marks as one undoable edit (autotune's plan, "Clear Marks"). */
  replaceMarks(plan: Readonly<Record<string, Precision>>, label: string): number {
    const edit = this.marks.replaceAll(plan, label);
    if (!edit) return 0;
    this.pushEdit(edit);
    return edit.changes.length;
  }

  private pushEdit(edit: MarkEdit): void {
    this.changed();
    this._onDidEdit.fire({
      document: this,
      label: edit.label,
      undo: () => { this.marks.apply(edit, 'undo'); this.changed(); },
      redo: () => { this.marks.apply(edit, 'redo'); this.changed(); },
    });
  }

  private changed(): void {
    this.revision++;
    this._onDidChangeMarks.fire();
  }

  /** Save: the marks go into the sidecar recipe (the rest of an existing recipe is kept). */
  async save(): Promise<void> {
    await this.writeSidecar(this.sidecarUri);
    this.savedPlan = this.marks.toPlan();
    this.scheduleStore();
  }

  /**
   * Save As: a copy of the model at `target` with the marks in the copy's sidecar (VS Code then opens
   * the copy). The source model and its recipe stay as they are.
   */
  async saveAs(target: vscode.Uri): Promise<void> {
    if (target.toString() !== this.uri.toString()) await vscode.workspace.fs.copy(this.uri, target, { overwrite: true });
    await this.writeSidecar(target.with({ path: sidecarPath(target.path) }), false);
  }

  private async writeSidecar(dest: vscode.Uri, remember = true): Promise<void> {
    let existing: string | undefined;
    try {
      existing = new TextDecoder().decode(await vscode.workspace.fs.readFile(dest));
    } catch {
      existing = undefined;
    }
    const text = writeSidecarPlan(existing, this.marks.toPlan(), `'${dest.fsPath}'`);
    if (remember) this.lastWritten = text;
    await vscode.workspace.fs.writeFile(dest, new TextEncoder().encode(text));
  }

  /** Revert: back to the sidecar's marks on disk. */
  async revert(): Promise<void> {
    const sidecar = await this.readSidecar();
    this.marksProblem = sidecar.problem;
    this.savedPlan = sidecar.plan;
    this.marks.replaceAll(sidecar.plan, 'Revert');
    this.changed();
  }

  /**
   * The sidecar changed on disk. Not our own save, and the marks have no unsaved edits: take the
   * new plan. With unsaved edits the caller asks the user first (returns 'conflict').
   */
  async sidecarChanged(): Promise<'ignored' | 'reloaded' | 'conflict' | 'unreadable'> {
    const sidecar = await this.readSidecar();
    if (sidecar.text !== undefined && sidecar.text === this.lastWritten) return 'ignored';
    // A recipe that does not parse (half written, or being typed with auto save) never replaces marks.
    if (sidecar.problem) return 'unreadable';
    if (samePlan(sidecar.plan, this.savedPlan)) return 'ignored';
    if (this.hasUnsavedMarks) return 'conflict';
    await this.revert();
    return 'reloaded';
  }

  /** Hot exit: the unsaved marks and the model's hash, written where VS Code asks. */
  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    const text = serializeBackup({ version: 1, modelSha256: await this.hash(), plan: this.marks.toPlan() });
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(destination, '..'));
    await vscode.workspace.fs.writeFile(destination, new TextEncoder().encode(text));
    return {
      id: destination.toString(),
      delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined),
    };
  }

  /** sha256 of the model file, computed once; local files are streamed (models can be gigabytes). */
  private hash(): Promise<string> {
    this.modelHash ??= (async () => {
      const h = createHash('sha256');
      if (this.uri.scheme === 'file') {
        for await (const chunk of fs.createReadStream(this.uri.fsPath)) h.update(chunk as Buffer);
      } else {
        h.update(await vscode.workspace.fs.readFile(this.uri));
      }
      return h.digest('hex');
    })();
    return this.modelHash;
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
    clearTimeout(this.storeTimer);
    for (const d of this.owned) d.dispose();
    this._onDidLoad.dispose();
    this._onDidEdit.dispose();
    this._onDidChangeMarks.dispose();
    void this.worker.release();
  }
}

function samePlan(a: Readonly<Record<string, Precision>>, b: Readonly<Record<string, Precision>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
