/**
 * The results panel: one webview panel per model, beside its graph, showing what the measuring
 * commands found (float against quantized, per-layer bars, the Pareto curve, robustness curves).
 * It opens (without taking focus) and updates as results arrive; *QuantLens: Show Results Panel*
 * opens it by hand. A bar or point chosen in it selects the layer in the graph, and the graph's
 * selection highlights the bar.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseResultsPanelMessage, PROTOCOL_VERSION, type HostToResultsPanel, type HostToWebview, type LayerHistogramsMessage, type ResultsPanelState } from '../protocol';
import { graphNodeName, type LayerResultsStore } from './analysisCommands';
import type { ModelEditorProvider } from './modelEditorProvider';
import { VIEW_TYPE } from './modelEditorProvider';
import { LayerDetailRequests } from './resultsPanelDetail';
import { resultsFeed } from './resultsPanelFeed';
import { resultsPanelHtml } from './resultsPanelHtml';
import { panelState } from './resultsPanelState';
import { makeNonce } from './webviewHtml';

export const RESULTS_VIEW_TYPE = 'quantlens.resultsPanel';

interface PanelRecord {
  model: vscode.Uri;
  panel: vscode.WebviewPanel;
  ready: boolean;
  /** The last state sent, and what the panel reported drawing. */
  state?: ResultsPanelState;
  rendered?: { revision: number; bars: number };
  /** The last selected-layer message sent. */
  detail?: LayerHistogramsMessage;
}

/** What the extension's API shows of a model's results panel (the integration tests read it). */
export interface ResultsPanelInfo {
  visible: boolean;
  ready: boolean;
  state?: ResultsPanelState;
  rendered?: { revision: number; bars: number };
  detail?: LayerHistogramsMessage;
}

export class ResultsPanels {
  private readonly panels = new Map<string, PanelRecord>();
  private revision = 0;
  private readonly details: LayerDetailRequests;

  constructor(
    private readonly context: vscode.ExtensionContext, private readonly provider: ModelEditorProvider,
    private readonly store: LayerResultsStore, private readonly log: vscode.LogOutputChannel,
  ) {
    this.details = new LayerDetailRequests(context, provider);
    context.subscriptions.push(
      this.details,
      resultsFeed.onDidChange((model) => void this.show(model, true)),
      provider.onDidChangeSelection(({ uri, nodes }) => {
        this.post(uri, { type: 'resultsSelection', nodes });
        if (nodes.length === 1) this.showDetail(uri, nodes[0]!);
      }),
      { dispose: () => { for (const r of [...this.panels.values()]) r.panel.dispose(); } },
    );
  }

  /** Opens the model's panel beside the active editor (or reveals it) and sends the newest state. */
  async show(model: vscode.Uri, preserveFocus: boolean): Promise<void> {
    let record = this.panels.get(model.toString());
    if (!record) record = this.create(model, preserveFocus);
    else if (!record.panel.visible) record.panel.reveal(undefined, preserveFocus);
    await this.update(record);
  }

  info(model: vscode.Uri): ResultsPanelInfo | undefined {
    const r = this.panels.get(model.toString());
    return r && { visible: r.panel.visible, ready: r.ready, state: r.state, rendered: r.rendered, detail: r.detail };
  }

  /** Handles a message as if the model's panel had sent it (the integration tests' way to click). */
  deliver(model: vscode.Uri, raw: unknown): boolean {
    const r = this.panels.get(model.toString());
    if (r) void this.receive(r, raw);
    return !!r;
  }

  private create(model: vscode.Uri, preserveFocus: boolean): PanelRecord {
    const root = this.context.extensionUri;
    const panel = vscode.window.createWebviewPanel(RESULTS_VIEW_TYPE, `Results: ${path.basename(model.fsPath)}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
      enableScripts: true,
      // A small page: kept alive behind the text reports that open in its group, so updates still draw.
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')],
    });
    const record: PanelRecord = { model, panel, ready: false };
    this.panels.set(model.toString(), record);
    panel.webview.html = resultsPanelHtml({
      nonce: makeNonce(),
      cspSource: panel.webview.cspSource,
      asset: (...p: string[]) => panel.webview.asWebviewUri(vscode.Uri.joinPath(root, ...p)).toString(),
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(record, raw));
    panel.onDidDispose(() => {
      if (this.panels.get(model.toString()) === record) this.panels.delete(model.toString());
    });
    return record;
  }

  private async receive(record: PanelRecord, raw: unknown): Promise<void> {
    const msg = parseResultsPanelMessage(raw);
    if (!msg) {
      this.log.warn(`Results panel: dropped a malformed message (${typeof raw === 'object' && raw && 'type' in raw ? String((raw as { type: unknown }).type) : typeof raw})`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        if (msg.protocolVersion !== PROTOCOL_VERSION) this.log.warn(`Results panel speaks protocol ${msg.protocolVersion}, the host ${PROTOCOL_VERSION}`);
        record.ready = true;
        await this.update(record);
        // A hidden panel's page is dropped and loads again when shown: it gets the selected layer back too.
        if (record.detail) void record.panel.webview.postMessage(record.detail satisfies HostToResultsPanel);
        return;
      case 'selectLayers':
        if (msg.nodes.length === 1) this.showDetail(record.model, msg.nodes[0]!);
        await this.revealInGraph(record.model, msg.nodes[0]!);
        return;
      case 'resultsRendered':
        record.rendered = { revision: msg.revision, bars: msg.bars };
        return;
      case 'log':
        this.log[msg.level](`Results panel: ${msg.message}`);
        return;
    }
  }

  /** Selects `node` in the model's graph: the open editor keeps its place; with none, the model opens. */
  private async revealInGraph(model: vscode.Uri, node: string): Promise<void> {
    const open = [...this.provider.editors].some((r) => r.webviewReady && r.document.uri.toString() === model.toString());
    if (open) {
      this.provider.postToDocument(model, { type: 'revealNode', node } satisfies HostToWebview);
      return;
    }
    await vscode.commands.executeCommand('vscode.openWith', model, VIEW_TYPE, { viewColumn: vscode.ViewColumn.One });
    await this.provider.revealNode(model, node);
  }

  /** The selected layer's histograms, while its panel shows. */
  private showDetail(model: vscode.Uri, node: string): void {
    const r = this.panels.get(model.toString());
    if (!r?.ready || !r.panel.visible) return;
    void this.details.show(model, node, (m) => {
      r.detail = m;
      this.post(model, m);
    });
  }

  private post(model: vscode.Uri, msg: HostToResultsPanel): void {
    const r = this.panels.get(model.toString());
    if (r?.ready) void r.panel.webview.postMessage(msg);
  }

  private async update(record: PanelRecord): Promise<void> {
    if (!record.ready) return;
    const model = record.model;
    const inputs = resultsFeed.inputsOf(model);
    // A new window has no reports in memory yet, but the last sensitivity run is stored.
    if (!inputs.layers) {
      const stored = await this.store.get(model);
      if (stored) inputs.layers = { kind: 'stream', message: stored.message };
    }
    const editor = [...this.provider.editors].find((r) => r.document.uri.toString() === model.toString());
    const names = editor?.document.nodeNames ?? new Set<string>();
    record.state = panelState({ fileName: path.basename(model.fsPath), ...inputs, selected: editor?.selection ?? [], graphName: (n) => graphNodeName(n, names) }, ++this.revision);
    void record.panel.webview.postMessage({ type: 'resultsState', state: record.state } satisfies HostToResultsPanel);
  }
}
