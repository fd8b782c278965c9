/**
 * Marks on the graph: the document's precision plan mirrored from the host (`marks` messages;
 * stale revisions dropped), the multi-selection, and every way to send a mark intent: the context
 * menu (canvas and outline, right-click or Shift+F10 / the ContextMenu key), the shortcuts 1 / 2 /
 * 3 / 0 / Delete, the properties panel's precision dropdown and "Mark results as…" for search. One
 * user intent is one `setMarks` request with a label, so it is one undo step in VS Code.
 * It keeps the legend, and tells itemDecor.ts which nodes changed, so the canvas's badges, fills and
 * selection and the outline's accessible labels are patched for those nodes only.
 */
import type { GraphView, LayerResultsMessage, MarksState, Precision } from '../../src/protocol';
import { h } from '../dom';
import { ContextMenu, type MenuItem } from './contextMenu';
import { ItemKind, type LayoutResult } from './layout';
import { LayerOverlay } from './overlay';
import { KEY_TO_PRECISION, MENU_TEXT, PRECISIONS, readBadgeColours, SHORTCUT, type BadgeColours } from './precision';
import type { Selection } from './properties';
import type { GraphCanvas } from './renderer';
import { ItemDecorations } from './itemDecor';
import { GraphLegend } from './legend';
import { actualPrecisions, actualTooltip } from './actualPrecision';
import type { RequestFn } from './rpc';
import { NodeSelection, rangeOf } from './selection';
import type { NodeTooltip } from './tooltip';

export interface MarksHost {
  readonly graph: GraphView;
  readonly canvas: GraphCanvas;
  readonly tooltip: NodeTooltip;
  layout(): LayoutResult | undefined;
  outlineItems(): HTMLElement[];
  request?: RequestFn;
  postSelection?: (nodes: string[]) => void;
  /** The node or group the properties panel shows. */
  primary(): Selection;
  /** Sets the primary selection (without touching the multi-selection). */
  setPrimary(sel: Selection, reveal: boolean): Promise<void>;
  searchResults(): number[];
  status(text: string): void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

const PREC_INDEX = new Map<Precision, number>(PRECISIONS.map((p, i) => [p, i]));

export class GraphMarks {
  readonly selection = new NodeSelection();
  readonly overlay: LayerOverlay;
  readonly legend: HTMLElement;
  readonly menu = new ContextMenu();
  /** Node id -> index into PRECISIONS, -1 unmarked. */
  private mark: Int8Array;
  private unknown: string[] = [];
  private revision = -1;
  private readonly byName = new Map<string, number>();
  private colours: BadgeColours = readBadgeColours();
  private readonly legendParts: GraphLegend;
  /** Node id -> the precision an already quantized model runs in (actualPrecision.ts). */
  readonly actual: (string | undefined)[];
  private readonly items: ItemDecorations;
  private refreshQueued = false;
  /** Durations of the per-frame rebuilds while results stream in (ms, benchmarks). */
  readonly refreshTimes: number[] = [];

  constructor(private readonly host: MarksHost, initial?: MarksState) {
    const g = host.graph;
    this.mark = new Int8Array(g.nodes.length).fill(-1);
    for (const n of g.nodes) if (n.kind === 'op' && !this.byName.has(n.name)) this.byName.set(n.name, n.id);
    this.overlay = new LayerOverlay(g.nodes.length, (name) => this.byName.get(name));
    this.overlay.onChange = () => this.overlayChanged();
    this.legendParts = new GraphLegend(this.overlay.element);
    this.legend = this.legendParts.element;
    this.actual = actualPrecisions(g);
    this.selection.onChange = (ids) => {
      this.host.postSelection?.(ids.map((i) => g.nodes[i].name).filter((_, k) => g.nodes[ids[k]].kind === 'op'));
      this.items.selectionChanged();
      this.host.canvas.requestDraw();
    };
    host.tooltip.addSection((_view, node) => {
      const p = this.precisionOf(node.id);
      const lines = this.overlay.lines(node.id);
      if (!p && !lines.length) return null;
      return h('div', { 'data-testid': 'tooltip-marks' },
        h('div', { class: 'qlg-tip-title' }, 'Plan and results'),
        h('table', {}, h('tbody', {},
          p ? h('tr', { 'data-metric': 'precision' }, h('td', {}, 'Precision'), h('td', {}, `${p} (marked)`)) : null,
          ...lines.map(([k, v]) => h('tr', { 'data-metric': k }, h('td', {}, k), h('td', {}, v))))));
    });
    host.tooltip.addSection(actualTooltip(this.actual));
    this.items = new ItemDecorations({
      graph: g, mark: this.mark, actual: this.actual, bad: () => this.overlay.badNode,
      colourOf: (b) => this.overlay.colourOf(b), textOf: (b) => this.overlay.textOf(b), colours: () => this.colours,
      isSelected: (n) => this.selection.has(n), selectionSize: () => this.selection.size, primaryItem: () => host.canvas.selectedItem,
    });
    host.canvas.decor = this.items.decor;
    if (initial) this.setMarks(initial);
  }

  dispose(): void {
    this.menu.dispose();
  }

  precisionOf(node: number): Precision | undefined {
    const i = this.mark[node];
    return i >= 0 ? PRECISIONS[i] : undefined;
  }

  nodeByName(name: string): number | undefined {
    return this.byName.get(name) ?? this.host.graph.nodes.find((n) => n.name === name)?.id;
  }

  themeChanged(): void {
    this.colours = readBadgeColours();
    this.items.marksChanged('all');
    this.renderLegend();
    this.legendParts.showActual(this.actual, this.colours);
    this.host.canvas.requestDraw();
  }

  // ---- state from the host ------------------------------------------------------------------

  setMarks(m: MarksState): void {
    if (m.revision < this.revision) return;
    this.revision = m.revision;
    const before = this.mark.slice();
    this.mark.fill(-1);
    const unknown = new Set(m.unknown);
    for (const [name, p] of Object.entries(m.plan)) {
      const id = this.byName.get(name);
      const pi = PREC_INDEX.get(p);
      if (pi === undefined) continue;
      if (id === undefined) unknown.add(name);
      else this.mark[id] = pi;
    }
    this.unknown = [...unknown].sort();
    const changed: number[] = [];
    for (let i = 0; i < before.length; i++) if (before[i] !== this.mark[i]) changed.push(i);
    this.items.marksChanged(changed);
    this.renderLegend();
    this.host.canvas.requestDraw();
  }

  layerResults(msg: LayerResultsMessage): void {
    this.overlay.apply(msg);
    this.queueRefresh();
  }

  /** Coalesces streaming results into one update per frame, drawn in that frame. */
  private queueRefresh(): void {
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    requestAnimationFrame(() => {
      this.refreshQueued = false;
      const t = performance.now();
      this.overlayChanged();
      this.refreshTimes.push(performance.now() - t);
      if (this.refreshTimes.length > 2000) this.refreshTimes.splice(0, 1000);
      this.host.canvas.flush();
    });
  }

  /** The overlay's values, metric or range moved: its scale and legend, then the fills of the items that changed. */
  private overlayChanged(): void {
    this.items.overlayChanged(this.overlay.refresh());
    this.legendParts.updateVisibility();
    this.host.canvas.requestDraw();
  }

  // ---- what the canvas, the outline and the legend show -------------------------------------

  /** A new layout: the drawing data, outline labels and legend for it, in full. */
  relaidOut(): void {
    const layout = this.host.layout();
    if (!layout) return;
    this.items.rebuild(layout, this.host.outlineItems());
    this.renderLegend();
    this.legendParts.showActual(this.actual, this.colours);
    this.host.canvas.requestDraw();
  }

  private groupNodes(group: number): number[] {
    const g = this.host.graph;
    const out: number[] = [];
    const stack = [group];
    while (stack.length) {
      const x = g.groups[stack.pop()!];
      for (const nd of x.nodes) if (g.nodes[nd].kind === 'op') out.push(nd);
      stack.push(...x.groups);
    }
    return out;
  }

  private renderLegend(): void {
    this.legendParts.showPlanned(this.mark, this.unknown, this.colours);
  }

  // ---- selection ----------------------------------------------------------------------------

  /** Whether every outline row's label shows the current marks. */
  outlineSettled(): boolean {
    return this.items.rowsSettled();
  }

  /** Whether layout item `i` is in the multi-selection. */
  itemSelected(i: number): boolean {
    return this.items.itemSelected(i);
  }

  /** The nodes an outline row or canvas item stands for (a node, or a group's members). */
  nodesOfItem(item: number): number[] {
    const it = this.host.layout()?.items[item];
    if (!it) return [];
    return it.kind === ItemKind.Node ? [it.id] : this.groupNodes(it.id);
  }

  private rows(): { rows: number[][]; index: Map<number, number> } {
    const items = this.host.outlineItems();
    const rows = items.map((el) => this.nodesOfItem(Number(el.dataset.item)));
    const index = new Map(items.map((el, i) => [Number(el.dataset.item), i]));
    return { rows, index };
  }

  /** A click on an item (canvas or outline) with its modifiers; -1 = empty space. */
  click(item: number, mods: { toggle: boolean; range: boolean }): void {
    const nodes = item >= 0 ? this.nodesOfItem(item) : [];
    if (mods.range && item >= 0 && this.selection.anchor) {
      const { rows, index } = this.rows();
      const layout = this.host.layout()!;
      const anchorRow = this.selection.anchor.length ? index.get(layout.repr[this.selection.anchor[0]]) ?? -1 : -1;
      const here = index.get(item) ?? -1;
      this.selection.add(anchorRow >= 0 && here >= 0 ? rangeOf(rows, anchorRow, here) : nodes);
    } else if (mods.toggle) this.selection.toggle(nodes);
    else this.selection.replace(nodes, nodes);
  }

  /** The primary selection moved by other means (keyboard, search, reveal): the set follows. */
  follow(sel: Selection): void {
    if (!sel) this.selection.clear();
    else {
      const nodes = sel.kind === 'node' ? [sel.id] : this.groupNodes(sel.id);
      this.selection.replace(nodes, nodes);
    }
  }

  selectAll(): void {
    const nodes = this.host.graph.nodes.filter((n) => n.kind === 'op').map((n) => n.id);
    this.selection.replace(nodes);
  }

  /** Rubber band in world coordinates: while dragging (`final` false) it is drawn; at the end it selects. */
  band(rect: { x: number; y: number; w: number; h: number } | null, final: boolean, additive: boolean): void {
    this.items.decor.band = final ? null : rect;
    this.host.canvas.requestDraw();
    if (!final || !rect) return;
    const layout = this.host.layout();
    if (!layout) return;
    const hit: number[] = [];
    layout.items.forEach((it, i) => {
      if (it.kind === ItemKind.Frame) return;
      if (it.x < rect.x + rect.w && rect.x < it.x + it.w && it.y < rect.y + rect.h && rect.y < it.y + it.h) hit.push(...this.nodesOfItem(i));
    });
    if (additive) this.selection.add(hit);
    else this.selection.replace(hit, hit.slice(0, 1));
  }

  // ---- intents ------------------------------------------------------------------------------

  /** The op nodes an action on the selection applies to. */
  private targets(): number[] {
    const g = this.host.graph;
    const ids = this.selection.size ? this.selection.nodes() : (() => {
      const p = this.host.primary();
      return p ? (p.kind === 'node' ? [p.id] : this.groupNodes(p.id)) : [];
    })();
    return ids.filter((i) => g.nodes[i].kind === 'op');
  }

  /** Sends one setMarks intent; `what` names the nodes in the undo label ("3 layers", "every Conv"). */
  async send(nodes: number[], precision: Precision | null, what?: string): Promise<void> {
    const g = this.host.graph;
    const ops = [...new Set(nodes)].filter((i) => g.nodes[i]?.kind === 'op');
    if (!ops.length) {
      this.host.status('Nothing to mark: select layers (graph inputs and outputs take no marks)');
      return;
    }
    if (!this.host.request) return;
    const who = what ?? (ops.length === 1 ? g.nodes[ops[0]].name : `${ops.length} layers`);
    const label = (precision ? `Set ${who} to ${precision}` : `Clear the mark${ops.length === 1 ? '' : 's'} of ${who}`).slice(0, 200);
    try {
      const r = await this.host.request('setMarks', { nodes: ops.map((i) => g.nodes[i].name), precision, label });
      this.host.status(r.changed ? `${label} (${r.changed} changed)` : `${label}: already so`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.host.status(`Marking failed: ${msg}`);
      this.host.log?.('warn', `setMarks failed: ${msg}`);
    }
  }

  private precisionItems(nodes: () => number[], what: () => string | undefined, prefix: string, testPrefix: string): MenuItem[] {
    return [
      ...PRECISIONS.map((p): MenuItem => ({ label: `${prefix}${MENU_TEXT[p]}`, hint: SHORTCUT[p], testId: `${testPrefix}-${p}`, run: () => void this.send(nodes(), p, what()) })),
      { label: 'Clear mark', hint: 'Del', testId: `${testPrefix}-clear`, run: () => void this.send(nodes(), null, what()), separatorBefore: true },
    ];
  }

  /** The menu for a right-click on `item` (-1: the selection), at client (x, y). */
  openMenu(item: number, x: number, y: number): void {
    const layout = this.host.layout();
    const it = item >= 0 ? layout?.items[item] : undefined;
    const g = this.host.graph;
    const targets = this.targets();
    const n = targets.length;
    const items: MenuItem[] = n
      ? this.precisionItems(() => targets, () => undefined, n === 1 ? 'Mark as ' : `Mark ${n} layers as `, 'menu-mark')
      : [{ label: 'Select layers to mark them', testId: 'menu-none' }];
    // Keyboard shortcuts in the menu apply to the selection only when they are shown on it.
    if (it?.kind === ItemKind.Node && g.nodes[it.id].kind === 'op') {
      const op = g.nodes[it.id].opType;
      const all = g.nodes.filter((x) => x.kind === 'op' && x.opType === op).map((x) => x.id);
      items.push({ label: `Mark every ${op} as… (${all.length})`, testId: 'menu-optype', separatorBefore: true, submenu: () => this.precisionItems(() => all, () => `every ${op}`, '', 'menu-optype') });
    }
    if (it && it.kind !== ItemKind.Node) {
      const grp = g.groups[it.id];
      const members = this.groupNodes(it.id);
      items.push({ label: `Mark group ${grp.label} as… (${members.length})`, testId: 'menu-group', separatorBefore: true, submenu: () => this.precisionItems(() => members, () => `group ${grp.label}`, '', 'menu-group') });
    }
    this.menu.show(items, x, y, 'Mark layers');
  }

  /** "Mark results as…" for the search box, anchored at (x, y). */
  openResultsMenu(x: number, y: number): void {
    const g = this.host.graph;
    const results = this.host.searchResults().filter((i) => g.nodes[i].kind === 'op');
    if (!results.length) {
      this.host.status('No layers in the search results to mark');
      return;
    }
    this.menu.show(this.precisionItems(() => results, () => `${results.length} search result${results.length === 1 ? '' : 's'}`, 'Mark results as ', 'menu-results'), x, y, 'Mark search results');
  }

  /** Shortcut keys on the canvas and the outline; returns whether the key was handled. */
  onKey(ev: KeyboardEvent, menuAt: () => { item: number; x: number; y: number }): boolean {
    if (ev.altKey) return false;
    if ((ev.key === 'F10' && ev.shiftKey) || ev.key === 'ContextMenu') {
      const at = menuAt();
      this.openMenu(at.item, at.x, at.y);
      return true;
    }
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'a' || ev.key === 'A')) {
      this.selectAll();
      return true;
    }
    if (ev.ctrlKey || ev.metaKey) return false;
    const p = KEY_TO_PRECISION[ev.key];
    if (p) {
      void this.send(this.targets(), p);
      return true;
    }
    if (ev.key === 'Delete' || ev.key === 'Backspace') {
      void this.send(this.targets(), null);
      return true;
    }
    return false;
  }

  /** The precision dropdown of the properties panel (for a selected op node). */
  precisionControl(node: number): HTMLElement | null {
    const n = this.host.graph.nodes[node];
    if (!n || n.kind !== 'op') return null;
    const select = h('select', { class: 'qlg-select', id: 'qlg-prop-precision', 'data-testid': 'prop-precision' },
      h('option', { value: '' }, 'not marked'),
      ...PRECISIONS.map((p) => h('option', { value: p }, `${MENU_TEXT[p]}${SHORTCUT[p] ? ` (${SHORTCUT[p]})` : ''}`)));
    select.value = this.precisionOf(node) ?? '';
    select.addEventListener('change', () => void this.send([node], (select.value || null) as Precision | null));
    return h('div', { class: 'qlg-prop-precision' }, h('label', { for: 'qlg-prop-precision' }, 'Precision '), select);
  }

  /** Keeps an open properties dropdown in step with the marks. */
  syncControl(root: HTMLElement, node: number | undefined): void {
    const s = root.querySelector<HTMLSelectElement>('[data-testid="prop-precision"]');
    if (s && node !== undefined && document.activeElement !== s) s.value = this.precisionOf(node) ?? '';
  }
}
