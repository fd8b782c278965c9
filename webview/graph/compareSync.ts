/**
 * The graph's side of the compare view (a float model and its quantized version linked by the
 * host): while linked, a move of the view is reported, debounced, as the node nearest its centre
 * and the zoom; the host's `followViewport` centres a node at a zoom and `selectNodes` selects the
 * matched nodes, and neither move is reported back (no echo between the two editors). The toolbar
 * shows "Linked with <file>" and an Unlink button.
 */
import '@vscode-elements/elements/dist/vscode-toolbar-button/index.js';
import type { GraphView } from '../../src/protocol';
import { h } from '../dom';
import { ItemKind, type LayoutResult } from './layout';
import type { GraphCanvas } from './renderer';

/** Quiet time after the last move before the view is reported (one report per gesture, ~6 a second while it goes on). */
export const VIEWPORT_REPORT_MS = 80;

export interface CompareSyncHost {
  graph: GraphView;
  canvas: GraphCanvas;
  layout(): LayoutResult | undefined;
  postViewport?: (center: string, zoom: number) => void;
  postUnlink?: () => void;
  /** Selects these nodes (the first as the primary selection), bringing the first into view only when it is out of sight. */
  selectNodes(ids: number[]): Promise<void>;
}

export class CompareSync {
  readonly element: HTMLElement;
  private readonly label: HTMLElement;
  private readonly byName = new Map<string, number>();
  private linked = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Above zero while a move the host asked for is applied: such moves are not reported. */
  private quiet = 0;

  constructor(private readonly host: CompareSyncHost) {
    for (const n of host.graph.nodes) if (!this.byName.has(n.name)) this.byName.set(n.name, n.id);
    this.label = h('span', { class: 'qlg-compare-label', 'data-testid': 'graph-compare-label' });
    const unlink = h('vscode-toolbar-button', { icon: 'debug-disconnect', label: 'Unlink', title: 'Unlink: stop following the other model', 'data-testid': 'graph-compare-unlink' });
    unlink.addEventListener('click', () => {
      this.setLink('', false);
      this.host.postUnlink?.();
    });
    this.element = h('span', { class: 'qlg-compare', role: 'group', 'aria-label': 'Compare link', 'data-testid': 'graph-compare-link' }, this.label, unlink);
    // Set through the CSSOM (allowed by the webview's CSP); display follows the link in setLink.
    Object.assign(this.element.style, { alignItems: 'center', gap: '2px', whiteSpace: 'nowrap', color: 'var(--vscode-descriptionForeground)' });
    this.setLink('', false);
  }

  get isLinked(): boolean {
    return this.linked;
  }

  setLink(peer: string, enabled: boolean): void {
    this.linked = enabled;
    this.element.hidden = !enabled;
    this.element.style.display = enabled ? 'inline-flex' : 'none';
    this.label.textContent = enabled ? `Linked with ${peer}` : '';
    if (!enabled) this.cancel();
  }

  /** The canvas moved: reported after a quiet moment, unless it was the host's move or nothing is linked. */
  viewportChanged(): void {
    if (!this.linked || this.quiet > 0) return;
    this.cancel();
    this.timer = setTimeout(() => this.report(), VIEWPORT_REPORT_MS);
  }

  private report(): void {
    this.timer = undefined;
    const center = this.nodeAtCentre();
    if (this.linked && center !== undefined) this.host.postViewport?.(center, this.host.canvas.vp.k);
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The name of the node whose laid-out box is nearest the centre of the view. */
  nodeAtCentre(): string | undefined {
    const layout = this.host.layout();
    if (!layout) return undefined;
    const { x, y, k } = this.host.canvas.vp;
    const { w, h: hh } = this.host.canvas.size;
    const cx = x + w / 2 / k;
    const cy = y + hh / 2 / k;
    let best = -1;
    let bestD = Infinity;
    for (const it of layout.items) {
      if (it.kind !== ItemKind.Node) continue;
      const d = (it.x + it.w / 2 - cx) ** 2 + (it.y + it.h / 2 - cy) ** 2;
      if (d < bestD) {
        bestD = d;
        best = it.id;
      }
    }
    return best >= 0 ? this.host.graph.nodes[best]?.name : undefined;
  }

  /** Centres `node` (or the collapsed group showing it) at `zoom`; false when it is not in this graph. */
  follow(node: string, zoom: number): boolean {
    const id = this.byName.get(node);
    const layout = this.host.layout();
    const it = id === undefined || !layout ? undefined : layout.items[layout.repr[id]];
    if (!it || !Number.isFinite(zoom) || zoom <= 0) return false;
    this.cancel();
    const canvas = this.host.canvas;
    canvas.resize();
    const { w, h: hh } = canvas.size;
    this.quiet++;
    try {
      canvas.vp = { k: zoom, x: it.x + it.w / 2 - w / 2 / zoom, y: it.y + it.h / 2 - hh / 2 / zoom };
    } finally {
      this.quiet--;
    }
    canvas.requestDraw();
    return true;
  }

  /** The linked editor's selection, matched to this graph. */
  async select(names: string[]): Promise<void> {
    const ids = names.map((n) => this.byName.get(n)).filter((i): i is number => i !== undefined);
    this.cancel();
    this.quiet++;
    try {
      await this.host.selectNodes(ids);
    } finally {
      this.quiet--;
    }
  }

  dispose(): void {
    this.cancel();
  }
}
