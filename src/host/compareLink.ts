/**
 * The compare view's link between a float model's editor and its quantized version's, beside it:
 * a selection in one selects the matching nodes in the other, moving one view moves the other to
 * the matching node at the same zoom, and the float model's per-layer results are drawn on the
 * quantized graph under its own node names. Matching is the core's (compareMapping.ts). The link
 * ends when either editor closes or the user clicks Unlink in either toolbar.
 */
import * as vscode from 'vscode';
import type { HostToWebview, LayerResultsMessage } from '../protocol';
import { CompareMapping, type CompareSide } from './compareMapping';
import type { ModelEditorProvider } from './modelEditorProvider';

/** What the tests can see of a link. */
export interface CompareLinkInfo {
  side: CompareSide;
  peer: string;
  /** The overlay posted to the quantized editor (its node names), once sent. */
  quantizedOverlay?: LayerResultsMessage;
}

/** How long a selection we pushed to an editor may take to come back as that editor's own (then it is ignored). */
const ECHO_MS = 2000;

const other = (s: CompareSide): CompareSide => (s === 'float' ? 'quantized' : 'float');
const fileName = (u: vscode.Uri): string => u.path.split('/').pop() || u.path;

export class CompareLink implements vscode.Disposable {
  private static readonly links = new Set<CompareLink>();
  private readonly subs: vscode.Disposable[] = [];
  /** Per side, the op names we last selected there, until they come back or expire. */
  private readonly pushed: Partial<Record<CompareSide, { ops: Set<string>; until: number }>> = {};
  private quantizedOverlay: LayerResultsMessage | undefined;
  private disposed = false;

  /**
   * Links the editors of `float` and `quantized` once both are ready and loaded, and draws
   * `overlay` (the float model's per-layer results) on the quantized one. Without a link (an editor
   * never became ready, a graph failed to load) the overlay goes as it is.
   */
  static async start(provider: ModelEditorProvider, float: vscode.Uri, quantized: vscode.Uri, overlay: LayerResultsMessage | undefined, log: vscode.LogOutputChannel): Promise<CompareLink | undefined> {
    const [fr, qr] = await Promise.all([provider.whenReady(float), provider.whenReady(quantized)]);
    const graphOf = async (uri: vscode.Uri) => {
      const doc = [...provider.editors].find((r) => r.document.uri.toString() === uri.toString())?.document;
      await doc?.loaded;
      return doc?.state.kind === 'loaded' ? doc.state.graph : undefined;
    };
    const [fg, qg] = fr && qr ? await Promise.all([graphOf(float), graphOf(quantized)]) : [];
    if (!fg || !qg) {
      log.warn(`Compare: ${fileName(float)} and ${fileName(quantized)} are not linked (${!fr || !qr ? 'an editor did not open' : 'a graph did not load'}).`);
      if (overlay && qr) provider.postToDocument(quantized, overlay);
      return undefined;
    }
    for (const l of CompareLink.links) if (l.involves(float) || l.involves(quantized)) l.dispose();
    const link = new CompareLink(provider, { float, quantized }, new CompareMapping(fg, qg));
    link.quantizedOverlay = overlay && link.mapping.overlayForQuantized(overlay);
    link.announce('float');
    link.announce('quantized');
    log.info(`Compare: ${fileName(float)} linked with ${fileName(quantized)} (${link.mapping.match.quantToFloat.size} quantized nodes matched).`);
    return link;
  }

  /** The link an editor of `uri` takes part in (tests). */
  static info(uri: vscode.Uri): CompareLinkInfo | undefined {
    for (const l of CompareLink.links) {
      const side = l.sideOf(uri);
      if (side) return { side, peer: fileName(l.uris[other(side)]), quantizedOverlay: l.quantizedOverlay };
    }
    return undefined;
  }

  private constructor(private readonly provider: ModelEditorProvider, private readonly uris: Record<CompareSide, vscode.Uri>, readonly mapping: CompareMapping) {
    CompareLink.links.add(this);
    this.subs.push(
      provider.onDidChangeSelection((e) => this.selectionChanged(e.uri, e.nodes)),
      provider.onDidReportCompare(({ uri, msg }) => {
        const side = this.sideOf(uri);
        if (!side) return;
        if (msg.type === 'unlinkCompare') this.dispose();
        else this.viewportMoved(side, msg.center, msg.zoom);
      }),
      // A webview shown again starts afresh: tell it about the link (and its overlay) again.
      provider.onDidReadyEditor((uri) => {
        const side = this.sideOf(uri);
        if (side) this.announce(side);
      }),
      provider.onDidCloseEditor((uri) => {
        if (this.sideOf(uri) && ![...provider.editors].some((r) => r.document.uri.toString() === uri.toString())) this.dispose();
      }),
    );
  }

  private involves(uri: vscode.Uri): boolean {
    return this.sideOf(uri) !== undefined;
  }

  private sideOf(uri: vscode.Uri): CompareSide | undefined {
    const u = uri.toString();
    return this.uris.float.toString() === u ? 'float' : this.uris.quantized.toString() === u ? 'quantized' : undefined;
  }

  private post(side: CompareSide, msg: HostToWebview): void {
    this.provider.postToDocument(this.uris[side], msg);
  }

  private announce(side: CompareSide): void {
    this.post(side, { type: 'compareLink', peer: fileName(this.uris[other(side)]), enabled: true });
    if (side === 'quantized' && this.quantizedOverlay) this.post(side, this.quantizedOverlay);
  }

  private selectionChanged(uri: vscode.Uri, nodes: string[]): void {
    const side = this.sideOf(uri);
    if (!side) return;
    const echo = this.pushed[side];
    this.pushed[side] = undefined;
    if (echo && Date.now() < echo.until && echo.ops.size === nodes.length && nodes.every((n) => echo.ops.has(n))) return;
    const peer = other(side);
    const target = this.mapping.selectionInPeer(side, nodes);
    this.pushed[peer] = { ops: new Set(this.mapping.opsOf(peer, target)), until: Date.now() + ECHO_MS };
    this.post(peer, { type: 'selectNodes', nodes: target });
  }

  private viewportMoved(side: CompareSide, center: string, zoom: number): void {
    const node = this.mapping.centreInPeer(side, center);
    if (node) this.post(other(side), { type: 'followViewport', node, zoom });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    CompareLink.links.delete(this);
    for (const s of this.subs) s.dispose();
    for (const side of ['float', 'quantized'] as const) this.post(side, { type: 'compareLink', peer: fileName(this.uris[other(side)]), enabled: false });
  }
}
