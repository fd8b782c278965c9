/**
 * The graph view's controller: builds the toolbar, canvas, outline, side panel and legend, runs the
 * layout of the open groups, and holds the primary selection (a node or group), which it applies to
 * the canvas, the outline, the properties and the saved state. The concerns live beside it: search
 * (search.ts), edge navigation (edgeNavigation.ts), the outline control (outlinePanel.ts), canvas
 * input (canvasInput.ts), properties (properties.ts), marks and overlay (marks.ts, markingInput.ts),
 * export (exportImage.ts), saved state (viewState.ts) and the test hook (debugHook.ts). Every model
 * string goes into the DOM as text (h() / textContent), never as markup.
 */
import '@vscode-elements/elements/dist/vscode-toolbar-button/index.js';
import type { GraphView, LayerResultsMessage, MarksState, ModelSummary } from '../../src/protocol';
import { h } from '../dom';
import { renderSummary } from '../summaryView';
import { wireCanvasInput } from './canvasInput';
import { CompareSync } from './compareSync';
import { installDebugHook } from './debugHook';
import { EdgeNavigator } from './edgeNavigation';
import { exportImage } from './exportImage';
import { ItemKind, layoutInputOf, type LayoutResult } from './layout';
import { LayoutClient } from './layoutClient';
import { wireMarking } from './markingInput';
import { captureWhenDrawn } from './captureGraph';
import { GraphMarks } from './marks';
import { Minimap } from './minimap';
import { OutlinePanel, selectionOfItem } from './outlinePanel';
import { PropertiesPanel, type Selection } from './properties';
import { GraphCanvas, LABEL_PX } from './renderer';
import type { RequestFn } from './rpc';
import { GraphSearch } from './search';
import { installGraphStyles } from './styles';
import { NodeTooltip } from './tooltip';
import { restoreView, stateKey, StateSaver, type GraphViewState } from './viewState';

export type { Selection } from './properties';
export type { GraphDebugHook } from './debugHook';
export { testHooksRequested } from './debugHook';
export { initialExpanded, stateKey, type GraphViewState } from './viewState';
export interface GraphPanelOptions {
  fileName: string;
  summary: ModelSummary;
  graph: GraphView;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Saved view state to restore, and where to save it. */
  state?: GraphViewState;
  onState?: (state: GraphViewState) => void;
  /** Requests to the host (tensor statistics and values, export); without it those features say so. */
  request?: RequestFn;
  /** Whether `graph` is the Q/DQ-folded view, and how to ask for the other one. */
  foldQdq?: boolean;
  onFoldQdq?: (fold: boolean) => void;
  /** Install window.__qlGraph (tests and benchmarks only: they set window.__qlTestHooks before load). */
  testHooks?: boolean;
  /** The document's precision marks at mount time (later ones come through setMarks). */
  marks?: MarksState;
  /** Tells the host which nodes are selected (names), on every change. */
  postSelection?: (nodes: string[]) => void;
  /** Compare view (compareSync.ts): reports the view's centre node and zoom while linked, and the Unlink button. */
  postViewport?: (center: string, zoom: number) => void;
  postUnlink?: () => void;
}

export class GraphPanel {
  readonly element: HTMLElement;
  private readonly canvas: GraphCanvas;
  private readonly minimap: Minimap;
  private readonly canvasEl: HTMLCanvasElement;
  private readonly outline: OutlinePanel;
  private readonly props: PropertiesPanel;
  private readonly search: GraphSearch;
  private readonly edges: EdgeNavigator;
  private readonly status: HTMLElement;
  private readonly client: LayoutClient;
  /** Marks, multi-selection, overlay and their menu (marks.ts); the input wiring is markingInput.ts. */
  readonly marks: GraphMarks;
  private readonly expanded: Set<number>;
  private layout: LayoutResult | undefined;
  private selection: Selection = null;
  private readonly cleanups: (() => void)[] = [];
  private disposed = false;
  private firstPaint: Promise<void> | undefined;
  private readonly t0 = performance.now();
  private restored: ReturnType<typeof restoreView>['pending'];
  private readonly saver: StateSaver;
  private needsFirstView = false;
  private readonly tooltip: NodeTooltip;
  private readonly compare: CompareSync;

  constructor(private readonly opts: GraphPanelOptions) {
    installGraphStyles();
    const view = opts.graph;
    const key = stateKey(opts.fileName, view);
    const restored = restoreView(view, key, opts.state);
    this.restored = restored.pending;
    this.expanded = restored.expanded;
    this.saver = new StateSaver(() => ({ key, expanded: [...this.expanded].filter((g) => g !== 0), selection: this.selection, viewport: { ...this.canvas.vp } }), opts.onState);
    this.edges = new EdgeNavigator(view);

    this.status = h('span', { class: 'qlg-status', 'data-testid': 'graph-status' }, 'Laying out…');
    // vscode-elements' toolbar button: VS Code's own look, focus ring and codicon rendering.
    const button = (icon: string, label: string, testId: string, onClick: () => void): HTMLElement => {
      const b = h('vscode-toolbar-button', { icon, label, title: label, 'data-testid': testId });
      b.addEventListener('click', onClick);
      return b;
    };
    this.canvasEl = h('canvas', {
      class: 'qlg-canvas', tabindex: 0, role: 'img', 'data-testid': 'graph-canvas',
      'aria-label': 'Graph. Arrow keys follow edges: Down to a consumer, Up to a producer, Left and Right to siblings; Enter opens or closes a group.',
    });
    // The minimap is a pointer aid; keyboard users have the outline and search.
    const minimapEl = h('canvas', { class: 'qlg-minimap', 'aria-hidden': 'true', 'data-testid': 'graph-minimap', title: 'Minimap: click or drag to move' });
    this.tooltip = new NodeTooltip(view);
    this.props = new PropertiesPanel(view, opts.request);
    this.canvas = new GraphCanvas(this.canvasEl, view);
    this.minimap = new Minimap(minimapEl, this.canvas);
    this.marks = new GraphMarks({
      graph: view, canvas: this.canvas, tooltip: this.tooltip, request: opts.request, postSelection: opts.postSelection, log: opts.log,
      layout: () => this.layout, outlineItems: () => this.outline.items, primary: () => this.selection,
      setPrimary: (sel, reveal) => this.select(sel, { reveal, keepMulti: true }),
      searchResults: () => this.search.matches,
      status: (t) => (this.status.textContent = t),
    }, opts.marks);
    this.compare = new CompareSync({
      graph: view, canvas: this.canvas, layout: () => this.layout, postViewport: opts.postViewport, postUnlink: opts.postUnlink,
      selectNodes: async (ids) => {
        this.marks.selection.replace(ids, ids.slice(0, 1));
        await this.select(ids.length ? { kind: 'node', id: ids[0] } : null, { keepMulti: true, reveal: true });
      },
    });
    const listen = this.listen.bind(this);
    this.search = new GraphSearch({
      graph: view, canvas: this.canvas, layout: () => this.layout, listen,
      show: (node) => void this.select({ kind: 'node', id: node }, { reveal: true }),
    });
    this.outline = new OutlinePanel({
      graph: view, marks: this.marks, layout: () => this.layout, listen,
      select: (sel, o) => this.select(sel, o),
      toggleGroup: (g, open) => this.toggleGroup(g, open),
      reapplySelection: () => this.applySelection(true),
    });
    const summary = h('details', { class: 'qlg-summary-panel', 'data-testid': 'summary-panel', open: true },
      h('summary', {}, 'Model summary'), renderSummary(opts.fileName, opts.summary));
    // Offered where folding changes the picture: QDQ pairs, not a QOperator model's boundary Q/DQ.
    const foldable = (view.qdqFoldable ?? 0) > 0 || (view.foldedQdq ?? 0) > 0;
    const foldBtn = foldable && opts.onFoldQdq ? button('fold', opts.foldQdq ? 'Show Q/DQ nodes' : 'Fold Q/DQ pairs into edges', 'graph-fold-qdq', () => opts.onFoldQdq?.(!opts.foldQdq)) : null;
    foldBtn?.setAttribute('aria-pressed', opts.foldQdq ? 'true' : 'false');
    const markResults = button('tag', 'Mark results as…', 'graph-mark-results', () => {
      const r = markResults.getBoundingClientRect();
      this.marks.openResultsMenu(r.left, r.bottom);
    });
    this.element = h('div', { class: 'qlg-root', 'data-testid': 'graph-view', 'data-node-count': view.opCount, 'data-folded': opts.foldQdq ? 'true' : 'false' },
      h('div', { class: 'qlg-toolbar', role: 'toolbar', 'aria-label': 'Graph tools' },
        h('h1', { title: opts.fileName }, opts.fileName),
        this.search.input,
        button('arrow-up', 'Previous result (Shift+Enter)', 'graph-search-prev', () => this.search.step(-1)),
        button('arrow-down', 'Next result (Enter)', 'graph-search-next', () => this.search.step(1)),
        this.search.count,
        markResults,
        button('zoom-in', 'Zoom in', 'graph-zoom-in', () => this.zoomCentre(1.25)),
        button('zoom-out', 'Zoom out', 'graph-zoom-out', () => this.zoomCentre(0.8)),
        button('screen-full', 'Fit to view', 'graph-fit', () => this.canvas.fit()),
        button('target', 'Zoom to selection', 'graph-zoom-selection', () => this.revealSelection(true)),
        foldBtn,
        button('file-media', 'Export view as PNG', 'graph-export-png', () => void this.exportImage('png')),
        button('file-code', 'Export view as SVG', 'graph-export-svg', () => void this.exportImage('svg')),
        this.compare.element,
        this.status,
      ),
      h('div', { class: 'qlg-body' },
        this.outline.element,
        h('div', { class: 'qlg-canvas-wrap' }, this.canvasEl, minimapEl, this.tooltip.element, this.marks.legend),
        h('aside', { class: 'qlg-side', 'aria-label': 'Details' }, this.props.element, summary),
      ),
      this.marks.menu.element,
    );
    this.canvas.onDraw = () => this.minimap.draw(this.canvas.themeColours.select);
    this.canvas.onTheme = () => {
      this.minimap.rebuild(this.canvas.themeColours);
      this.marks.themeChanged();
    };
    this.client = new LayoutClient(layoutInputOf(view), (why) => opts.log?.('warn', why));
    this.wire();
  }

  /** Starts the first layout; resolves after the first usable paint. */
  start(): Promise<void> {
    this.firstPaint ??= this.relayout().then(async () => {
      if (this.disposed) return;
      const restored = this.restored;
      this.restored = undefined;
      if (restored?.selection) await this.select(restored.selection);
      this.canvas.onViewportChange = () => {
        this.showZoom();
        this.saver.schedule();
        this.compare.viewportChanged();
      };
      if (restored?.viewport) this.canvas.vp = { ...restored.viewport };
      else this.firstViewWhenSized();
      this.showZoom();
      this.canvas.draw();
      const ms = performance.now() - this.t0;
      this.element.dataset.ready = 'true';
      this.element.dataset.firstPaintMs = ms.toFixed(1);
      performance.mark('ql-graph-usable');
      // Wall-clock time of the first frame that shows it: the code-server benchmark compares it
      // with the moment the user opened the file, in another process.
      requestAnimationFrame(() => setTimeout(() => (this.element.dataset.paintedAt = String(Date.now())), 0));
    });
    if (this.opts.testHooks) {
      installDebugHook({
        graph: this.opts.graph, canvas: this.canvas, canvasEl: this.canvasEl, marks: this.marks, expanded: this.expanded,
        layout: () => this.layout, relayout: () => this.relayout(), layoutMode: () => this.client.mode, layoutRestarts: () => this.client.restarts,
      });
    }
    return this.firstPaint;
  }

  /** Name of the selected node, if a node is selected (to carry the selection into another view of the graph). */
  selectedNodeName(): string | undefined {
    return this.selection?.kind === 'node' ? this.opts.graph.nodes[this.selection.id]?.name : undefined;
  }

  /** The current view as an image file, saved by the host (which asks where). */
  async exportImage(format: 'png' | 'svg'): Promise<void> {
    const request = this.opts.request;
    if (!request || !this.layout) return;
    await exportImage({
      fileName: this.opts.fileName, graph: this.opts.graph, layout: this.layout, canvas: this.canvas, canvasEl: this.canvasEl, request,
      status: (t) => (this.status.textContent = t),
    }, format);
  }

  /** The whole graph with its overlay as SVG, for a report; the user's view does not move. */
  async captureSvg(): Promise<string> {
    await this.start();
    return captureWhenDrawn({ graph: this.opts.graph, layout: () => this.layout, canvas: this.canvas, overlay: this.marks.overlay });
  }

  /** The first view (legible, at the inputs), or later when the view is hidden (a background tab) and has no size yet. */
  private firstViewWhenSized(): void {
    this.canvas.resize();
    this.needsFirstView = this.canvas.size.w < 50 || this.canvas.size.h < 50;
    if (this.needsFirstView || !this.layout) return;
    const inputs = this.opts.graph.nodes.filter((n) => n.kind === 'input').map((n) => this.layout!.repr[n.id]);
    this.canvas.firstView(inputs);
  }

  /** The scale and the label size on screen, as attributes: end-to-end tests read them in VS Code. */
  private showZoom(): void {
    const k = this.canvas.vp.k;
    this.element.dataset.zoom = k.toFixed(4);
    this.element.dataset.labelPx = (k * LABEL_PX).toFixed(2);
  }

  dispose(): void {
    this.disposed = true;
    this.saver.dispose();
    this.client.dispose();
    this.marks.dispose();
    this.compare.dispose();
    this.canvas.dispose();
    this.minimap.dispose();
    for (const c of this.cleanups) c();
  }

  // ---- layout -------------------------------------------------------------------------------

  private async relayout(): Promise<boolean> {
    const t = performance.now();
    let r: LayoutResult | undefined;
    try {
      r = await this.client.layout([...this.expanded]);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.status.textContent = `Layout failed: ${msg}`;
      this.opts.log?.('error', `graph layout failed: ${msg}`);
      return false;
    }
    if (!r || this.disposed) return false;
    this.layout = r;
    this.canvas.setLayout(r);
    this.minimap.rebuild(this.canvas.themeColours);
    this.outline.rebuild(r);
    this.marks.relaidOut();
    this.applySelection();
    this.search.highlight();
    const shown = r.items.filter((i) => i.kind === ItemKind.Node).length;
    this.status.textContent = `${shown.toLocaleString('en-US')} of ${this.opts.graph.nodes.length.toLocaleString('en-US')} nodes shown · layout ${Math.round(performance.now() - t)} ms`;
    this.saver.schedule();
    this.element.dataset.layoutEngineMs = r.ms.toFixed(1);
    this.element.dataset.layoutMs = (performance.now() - t).toFixed(1);
    this.element.dataset.layoutSeq = String((Number(this.element.dataset.layoutSeq) || 0) + 1);
    return true;
  }

  /** Opens or closes a group and lays out again. */
  async toggleGroup(g: number, open?: boolean): Promise<void> {
    if (g === 0) return;
    const want = open ?? !this.expanded.has(g);
    if (want === this.expanded.has(g)) return;
    if (want) this.expanded.add(g);
    else {
      // Closing a group closes everything inside it, and a selection inside moves to the group.
      const stack = [g];
      while (stack.length) {
        const x = stack.pop()!;
        this.expanded.delete(x);
        stack.push(...this.opts.graph.groups[x].groups);
      }
      if (this.selection?.kind === 'node' && this.isInside(this.opts.graph.nodes[this.selection.id].group, g)) this.selection = { kind: 'group', id: g };
      if (this.selection?.kind === 'group' && this.selection.id !== g && this.isInside(this.selection.id, g)) this.selection = { kind: 'group', id: g };
    }
    await this.relayout();
  }

  private isInside(group: number, ancestor: number): boolean {
    for (let x = group; x >= 0; x = this.opts.graph.groups[x].parent) if (x === ancestor) return true;
    return false;
  }

  // ---- the primary selection ------------------------------------------------------------------

  /** Item index showing the selection (the node, the group, or the collapsed group hiding it). */
  private selectedItem(): number {
    const s = this.selection;
    if (!s || !this.layout) return -1;
    if (s.kind === 'node') return this.layout.repr[s.id];
    return this.layout.items.findIndex((it) => it.kind !== ItemKind.Node && it.id === s.id);
  }

  /** Selects a node or group, opening the groups around it first. */
  async select(sel: Selection, opts: { reveal?: boolean; focusOutline?: boolean; keepMulti?: boolean; force?: boolean } = {}): Promise<void> {
    this.selection = sel;
    if (!opts.keepMulti) this.marks.follow(sel);
    if (sel) {
      const g = this.opts.graph;
      const chainStart = sel.kind === 'node' ? g.nodes[sel.id].group : g.groups[sel.id].parent;
      let needs = false;
      for (let x = chainStart; x > 0; x = g.groups[x].parent) {
        if (!this.expanded.has(x)) {
          this.expanded.add(x);
          needs = true;
        }
      }
      if (needs) await this.relayout();
    }
    this.applySelection(opts.focusOutline);
    this.props.show(this.selection, this.selection?.kind === 'node' ? this.marks.precisionControl(this.selection.id) : null);
    if (opts.reveal) this.revealSelection(opts.force === true);
    this.cardForKeyboard();
  }

  /** Keyboard users get the hover card too: for the node the arrow keys moved to on the canvas. */
  private cardForKeyboard(): void {
    const s = this.selection;
    const it = s?.kind === 'node' && this.layout ? this.layout.items[this.layout.repr[s.id]] : undefined;
    if (document.activeElement !== this.canvasEl || !it || it.kind !== ItemKind.Node || !s) {
      this.tooltip.hide();
      return;
    }
    const { x, y, k } = this.canvas.vp;
    this.tooltip.showNow(s.id, (it.x + it.w - x) * k, (it.y + it.h / 2 - y) * k, this.canvas.size);
  }

  private revealSelection(force: boolean): void {
    const item = this.selectedItem();
    if (item < 0) return;
    // Also zoom in when the view is too far out to read the selected node.
    if (force || !this.canvas.isVisible(item) || this.canvas.vp.k < 0.6) this.canvas.reveal(item);
  }

  private applySelection(focusOutline = false): void {
    const item = this.selectedItem();
    this.canvas.selectedItem = item;
    this.canvas.requestDraw();
    this.outline.showSelection(item, focusOutline);
    this.element.dataset.selected = this.selection ? `${this.selection.kind}:${this.selection.id}` : '';
    this.saver.schedule();
  }

  // ---- marks and results from the host --------------------------------------------------------

  setMarks(m: MarksState): void {
    this.marks.setMarks(m);
    this.marks.syncControl(this.props.element, this.selection?.kind === 'node' ? this.selection.id : undefined);
  }

  layerResults(msg: LayerResultsMessage): void {
    this.marks.layerResults(msg);
  }

  /** Selects a node by name, opens the groups around it and centres it. */
  async revealNode(name: string): Promise<boolean> {
    await this.start();
    const id = this.marks.nodeByName(name);
    if (id === undefined) {
      this.status.textContent = `No node named ${name} in this graph`;
      return false;
    }
    await this.select({ kind: 'node', id }, { reveal: true, force: true });
    return true;
  }

  /** Compare view: the host linked (or unlinked) this editor with `peer`'s. */
  compareLink(peer: string, enabled: boolean): void {
    this.compare.setLink(peer, enabled);
  }

  /** Compare view: centre `node` at `zoom` (the linked editor moved), without reporting it back. */
  async followViewport(node: string, zoom: number): Promise<boolean> {
    await this.start();
    return this.compare.follow(node, zoom);
  }

  /** Compare view: the linked editor's selection, matched to this graph. */
  async selectLinked(nodes: string[]): Promise<void> {
    await this.start();
    await this.compare.select(nodes);
  }

  // ---- input --------------------------------------------------------------------------------

  private zoomCentre(f: number): void {
    const { w, h: hh } = this.canvas.size;
    this.canvas.zoomAt(w / 2, hh / 2, f);
  }

  private listen<K extends keyof HTMLElementEventMap>(el: HTMLElement | Window, type: K, fn: (ev: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions): void {
    el.addEventListener(type, fn as EventListener, opts);
    this.cleanups.push(() => el.removeEventListener(type, fn as EventListener, opts));
  }

  private wire(): void {
    const listen = this.listen.bind(this);
    wireCanvasInput({
      canvasEl: this.canvasEl, canvas: this.canvas, tooltip: this.tooltip, marks: this.marks, listen,
      layout: () => this.layout, selection: () => this.selection,
      select: (sel, o) => void this.select(sel, o),
      toggleGroup: (g) => void this.toggleGroup(g),
      followEdge: (key) => {
        const to = this.edges.move(this.selection, key);
        if (to === undefined) return false;
        if (to !== null) void this.select({ kind: 'node', id: to }, { reveal: true });
        return true;
      },
      zoomCentre: (f) => this.zoomCentre(f),
    });
    wireMarking({
      canvasEl: this.canvasEl, outline: this.outline.element, canvas: this.canvas, marks: this.marks, listen,
      layout: () => this.layout, primaryItem: () => this.selectedItem(),
      focusItem: (item) => void this.select(selectionOfItem(this.layout, item), { keepMulti: true }),
    });
    const ro = new ResizeObserver(() => {
      if (this.needsFirstView) this.firstViewWhenSized();
      this.canvas.requestDraw();
    });
    ro.observe(this.canvasEl);
    this.cleanups.push(() => ro.disconnect());
  }
}
