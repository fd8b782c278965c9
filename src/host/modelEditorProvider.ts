/**
 * The QuantLens custom editor for .onnx and .tflite files. The model is read-only; the precision
 * marks are the editable document (undo/redo, dirty state, save to the sidecar recipe, revert, hot
 * exit), and the webview only sends intents that the host turns into edits.
 */
import * as vscode from 'vscode';
import { assertNever, parseWebviewMessage, PROTOCOL_VERSION, type ExportImageParams, type HostResult, type HostToWebview, type LayerResultsMessage, type UnlinkCompareMessage, type ViewportMessage, type WebviewToHost } from '../protocol';
import { GraphCaptures, type GraphImage } from './graphCapture';
import { ModelDocument } from './modelDocument';
import { UnsavedMarksStore } from './unsavedMarks';
import { buildWebviewHtml } from './webviewHtml';
import { packState } from './worker/viewJson';

export const VIEW_TYPE = 'quantlens.modelEditor';

/** What the extension's API and commands can see of an open editor. */
export interface EditorRecord {
  document: ModelDocument;
  panel: vscode.WebviewPanel;
  webviewReady: boolean;
  /** ms from resolveCustomEditor to the webview reporting its first paint of the loaded model. */
  firstViewMs?: number;
  /** Node names selected in this editor's graph. */
  selection: string[];
  /** A node to reveal once the webview is ready. */
  pendingReveal?: string;
}

export class ModelEditorProvider implements vscode.CustomEditorProvider<ModelDocument> {
  readonly editors = new Set<EditorRecord>();
  private activeRecord: EditorRecord | undefined;
  private readonly _onDidChangeCustomDocument = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<ModelDocument>>();
  readonly onDidChangeCustomDocument = this._onDidChangeCustomDocument.event;
  /** Derived per-layer results to show when an editor of `uri` opens (set by the analysis commands). */
  resultsFor: (uri: vscode.Uri) => Promise<LayerResultsMessage | undefined> = async () => undefined;
  /** Fires when the active editor or its marks change (the status bar listens). */
  private readonly _onDidChangeActive = new vscode.EventEmitter<void>();
  readonly onDidChangeActive = this._onDidChangeActive.event;
  /** Fires when an editor's graph selection changes (the results panel highlights those layers). */
  private readonly _onDidChangeSelection = new vscode.EventEmitter<{ uri: vscode.Uri; nodes: string[] }>();
  readonly onDidChangeSelection = this._onDidChangeSelection.event;
  /** Fires when a linked editor reports its viewport or asks to unlink (the compare link listens). */
  private readonly _onDidReportCompare = new vscode.EventEmitter<{ uri: vscode.Uri; msg: ViewportMessage | UnlinkCompareMessage }>();
  readonly onDidReportCompare = this._onDidReportCompare.event;
  /** Fires when an editor of a model closes. */
  private readonly _onDidCloseEditor = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidCloseEditor = this._onDidCloseEditor.event;
  /** Fires when an editor's webview (re)loaded and got its snapshot (a hidden tab shown again starts afresh). */
  private readonly _onDidReadyEditor = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidReadyEditor = this._onDidReadyEditor.event;

  private readonly unsavedMarks: UnsavedMarksStore;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {
    this.unsavedMarks = new UnsavedMarksStore(vscode.Uri.joinPath(context.storageUri ?? context.globalStorageUri, 'unsaved-marks'));
  }

  static register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): ModelEditorProvider {
    const provider = new ModelEditorProvider(context, log);
    context.subscriptions.push(
      // Closing a model's last tab ends its unsaved marks ("Don't Save"); a window reload closes no tab.
      vscode.window.tabGroups.onDidChangeTabs((e) => provider.forgetClosed(e.closed)),
      vscode.window.registerCustomEditorProvider(VIEW_TYPE, provider, {
        supportsMultipleEditorsPerDocument: true,
        // View state is restored through getState/setState; no need to keep hidden webviews alive.
        webviewOptions: { retainContextWhenHidden: false },
      }),
    );
    return provider;
  }

  get activeEditor(): EditorRecord | undefined {
    return this.activeRecord;
  }

  async openCustomDocument(uri: vscode.Uri, context: vscode.CustomDocumentOpenContext): Promise<ModelDocument> {
    const document = ModelDocument.create(uri, context.backupId, this.unsavedMarks);
    document.onDidEdit((e) => this._onDidChangeCustomDocument.fire(e));
    document.onDidChangeMarks(() => this._onDidChangeActive.fire());
    void document.loaded.then(() => {
      if (document.marksProblem) void vscode.window.showWarningMessage(`QuantLens: ${document.marksProblem}`);
      this.watchSidecar(document);
    });
    return document;
  }

  /** A recipe changed on disk (git checkout, another editor) is picked up; with unsaved marks, the user decides. */
  private watchSidecar(document: ModelDocument): void {
    if (document.uri.scheme !== 'file') return;
    const side = document.sidecarUri;
    const folder = vscode.Uri.joinPath(side, '..');
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, side.path.slice(folder.path.length + 1)));
    let busy = false;
    const onChange = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const outcome = await document.sidecarChanged();
        this.log.info(`Recipe ${side.fsPath} changed on disk: ${outcome}`);
        if (outcome === 'conflict') {
          const reload = 'Reload Recipe';
          const pick = await vscode.window.showWarningMessage(
            `QuantLens: ${basename(side)} changed on disk, and ${basename(document.uri)} has unsaved marks.`,
            reload, 'Keep My Marks');
          if (pick === reload) await vscode.commands.executeCommand('workbench.action.files.revert', document.uri);
        }
      } finally {
        busy = false;
      }
    };
    document.own(watcher, watcher.onDidChange(onChange), watcher.onDidCreate(onChange), watcher.onDidDelete(onChange));
  }

  async saveCustomDocument(document: ModelDocument): Promise<void> {
    await document.save();
  }

  async saveCustomDocumentAs(document: ModelDocument, destination: vscode.Uri): Promise<void> {
    await document.saveAs(destination);
  }

  async revertCustomDocument(document: ModelDocument): Promise<void> {
    await document.revert();
  }

  backupCustomDocument(document: ModelDocument, context: vscode.CustomDocumentBackupContext): Promise<vscode.CustomDocumentBackup> {
    return document.backup(context.destination);
  }


  async resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): Promise<void> {
    const started = performance.now();
    const record: EditorRecord = { document, panel, webviewReady: false, selection: [] };
    this.editors.add(record);
    this.activeRecord = record;
    this._onDidChangeActive.fire();
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')],
    };
    panel.webview.html = buildWebviewHtml(panel.webview, this.context.extensionUri);

    const post = (msg: HostToWebview) => void panel.webview.postMessage(msg);
    const sendSnapshot = () =>
      post({
        type: 'snapshot',
        revision: document.revision,
        fileName: basename(document.uri),
        ...packState(document.state),
        ...(document.state.kind === 'loaded' ? { marks: document.marksState } : {}),
      });

    const subs: vscode.Disposable[] = [
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const msg = parseWebviewMessage(raw);
        if (!msg) {
          this.log.warn(`Dropped a malformed message from the webview: ${safePreview(raw)}`);
          return;
        }
        this.handleMessage(msg, record, started, sendSnapshot, post);
      }),
      document.onDidLoad(() => {
        if (record.webviewReady) sendSnapshot();
        if (this.activeRecord === record) this._onDidChangeActive.fire();
      }),
      document.onDidChangeMarks(() => {
        if (record.webviewReady) post({ type: 'marks', marks: document.marksState });
      }),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) {
          this.activeRecord = record;
          this._onDidChangeActive.fire();
        }
      }),
      panel.onDidDispose(() => {
        this.editors.delete(record);
        if (this.activeRecord === record) {
          this.activeRecord = undefined;
          this._onDidChangeActive.fire();
        }
        for (const s of subs) s.dispose();
        this._onDidCloseEditor.fire(document.uri);
      }),
    ];
    // Unsaved marks the store kept across a reload become one edit now that an editor shows them.
    void document.loaded.then(() => {
      const restored = document.restoreUnsavedMarks();
      if (restored) this.log.info(`Restored ${restored} unsaved mark change(s) of ${document.uri.fsPath}`);
    });
  }

  private forgetClosed(closed: readonly vscode.Tab[]): void {
    const open = new Set(vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => customUri(t)).filter((u) => u !== undefined));
    for (const tab of closed) {
      const uri = customUri(tab);
      if (uri && !open.has(uri)) void this.unsavedMarks.clear(vscode.Uri.parse(uri));
    }
  }

  /** Resolves once an editor of `uri` has a ready webview (or after 30 s, false). */
  async whenReady(uri: vscode.Uri): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if ([...this.editors].some((r) => r.webviewReady && r.document.uri.toString() === uri.toString())) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  private readonly captures = new GraphCaptures();

  /** The graph of `uri`'s open editor (the active one first) with its overlay, as SVG for a report. */
  async captureGraph(uri: vscode.Uri): Promise<GraphImage> {
    const same = (r: EditorRecord): boolean => r.document.uri.toString() === uri.toString();
    // An editor whose webview is being created again (a tab shown after hiding) is waited for, briefly.
    for (const deadline = Date.now() + 5_000; ![...this.editors].some((r) => same(r) && r.webviewReady) && [...this.editors].some(same) && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // Visible editors first (a hidden tab's webview may be gone until shown again), the active one first.
    const open = [...this.editors].filter((r) => r.webviewReady && same(r))
      .sort((a, b) => Number(b.panel.visible) - Number(a.panel.visible) || Number(b === this.activeRecord) - Number(a === this.activeRecord));
    let last: GraphImage = { error: 'the model is not open in the graph editor' };
    for (const record of open) {
      last = await this.captures.request((m) => record.panel.webview.postMessage(m));
      if ('svg' in last) return last;
      this.log.warn(`The graph image from one editor of ${uri.fsPath} failed: ${last.error}`);
    }
    return last;
  }

  /** Posts a message to every open editor of `uri` whose webview is ready. */
  postToDocument(uri: vscode.Uri, msg: HostToWebview): void {
    for (const r of this.editors) {
      if (r.webviewReady && r.document.uri.toString() === uri.toString()) void r.panel.webview.postMessage(msg);
    }
  }

  /**
   * Opens `uri` in QuantLens (or focuses its editor) and selects `node` in the graph. Resolves to
   * false when no editor for it appeared.
   */
  async revealNode(uri: vscode.Uri, node: string): Promise<boolean> {
    await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);
    const deadline = Date.now() + 15_000;
    let record: EditorRecord | undefined;
    while (!(record = [...this.editors].find((r) => r.document.uri.toString() === uri.toString())) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!record) return false;
    if (record.webviewReady) void record.panel.webview.postMessage({ type: 'revealNode', node } satisfies HostToWebview);
    else record.pendingReveal = node;
    return true;
  }

  /** Runs a request's work and posts exactly one response, {ok} or {err} with a readable message. */
  private answer(id: number, post: (m: HostToWebview) => void, work: () => Promise<HostResult>): void {
    let p: Promise<HostResult>;
    try {
      p = work();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (ok) => post({ type: 'response', id, ok }),
      (e: unknown) => {
        this.log.warn(`Request ${id} failed: ${errorText(e)}`);
        post({ type: 'response', id, err: errorText(e) });
      },
    );
  }

  private saveImage(record: EditorRecord, p: ExportImageParams): Promise<{ saved: boolean }> {
    return saveImageTo(record, p);
  }

  private handleMessage(
    msg: WebviewToHost,
    record: EditorRecord,
    started: number,
    sendSnapshot: () => void,
    post: (m: HostToWebview) => void,
  ): void {
    switch (msg.type) {
      case 'ready':
        if (msg.protocolVersion !== PROTOCOL_VERSION) {
          this.log.warn(`Webview protocol ${msg.protocolVersion} differs from host ${PROTOCOL_VERSION}`);
        }
        record.webviewReady = true;
        sendSnapshot();
        if (record.pendingReveal !== undefined) post({ type: 'revealNode', node: record.pendingReveal });
        record.pendingReveal = undefined;
        void this.resultsFor(record.document.uri).then((m) => { if (m) post(m); });
        this._onDidReadyEditor.fire(record.document.uri);
        return;
      case 'rendered':
        if (msg.stateKind !== 'loading' && record.firstViewMs === undefined) {
          record.firstViewMs = performance.now() - started;
          this.log.info(`First view of ${basename(record.document.uri)} in ${record.firstViewMs.toFixed(0)} ms`);
        }
        return;
      case 'log':
        this.log[msg.level](`[webview] ${msg.message}`);
        return;
      case 'request':
        switch (msg.method) {
          case 'revealInExplorer':
            void vscode.commands.executeCommand('revealInExplorer', record.document.uri);
            post({ type: 'response', id: msg.id, ok: null });
            return;
          case 'tensorStats':
            this.answer(msg.id, post, () => record.document.tensorStats(msg.params.tensor));
            return;
          case 'tensorValues':
            this.answer(msg.id, post, () => record.document.tensorValues(msg.params.tensor, msg.params.start, msg.params.count));
            return;
          case 'graphView':
            this.answer(msg.id, post, async () => record.document.graphView(msg.params.foldQdq));
            return;
          case 'exportImage':
            this.answer(msg.id, post, () => this.saveImage(record, msg.params));
            return;
          case 'setMarks':
            this.answer(msg.id, post, async () => {
              await record.document.loaded;
              const changed = record.document.setMarks(msg.params.nodes, msg.params.precision ?? undefined, msg.params.label);
              return { changed };
            });
            return;
          default:
            return assertNever(msg);
        }
      case 'selection':
        record.selection = msg.nodes;
        this._onDidChangeSelection.fire({ uri: record.document.uri, nodes: msg.nodes });
        return;
      case 'graphImage':
        this.captures.answer(msg);
        return;
      case 'viewport':
      case 'unlinkCompare':
        this._onDidReportCompare.fire({ uri: record.document.uri, msg });
        return;
      default:
        return assertNever(msg);
    }
  }
}

/** Where the exported view goes: the user picks, next to the model by default. */
async function saveImageTo(record: EditorRecord, p: ExportImageParams): Promise<{ saved: boolean }> {
  const base = vscode.Uri.joinPath(record.document.uri, '..', p.name);
  const target = await vscode.window.showSaveDialog({
    defaultUri: base,
    filters: p.format === 'png' ? { 'PNG image': ['png'] } : { 'SVG image': ['svg'] },
    title: 'Export graph view',
  });
  if (!target) return { saved: false };
  const bytes = p.format === 'png' ? p.data : new TextEncoder().encode(p.data);
  await vscode.workspace.fs.writeFile(target, bytes);
  return { saved: true };
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 1000);
}

function basename(uri: vscode.Uri): string {
  const parts = uri.path.split('/');
  return parts[parts.length - 1] || uri.path;
}

function safePreview(x: unknown): string {
  try {
    return JSON.stringify(x)?.slice(0, 200) ?? String(x);
  } catch {
    return '[unserialisable]';
  }
}

/** The model a QuantLens tab shows, as a URI string. */
function customUri(tab: vscode.Tab): string | undefined {
  return tab.input instanceof vscode.TabInputCustom && tab.input.viewType === VIEW_TYPE ? tab.input.uri.toString() : undefined;
}
