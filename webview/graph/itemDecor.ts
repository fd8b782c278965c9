/**
 * What the marks, the results overlay and the multi-selection add to each laid-out item: the
 * canvas's badge, fill and selection (renderer.ts `Decor`) and the outline rows' accessible labels.
 * Built in full once per layout and theme; after that every change patches only the items of the
 * nodes it touched (a collapsed group re-takes the worst of its members), so marking a thousand
 * nodes or a frame of streamed results costs what changed, not the graph's size.
 */
import type { GraphView } from '../../src/protocol';
import { ItemKind, type LayoutResult } from './layout';
import { BADGE_TEXT, PRECISIONS, type BadgeColours, type Precision } from './precision';
import type { Decor } from './renderer';
import { ACTUAL_BADGE, ACTUAL_COLOUR_KEY } from './actualPrecision';

/** Per-item mark summary: nothing marked or shown yet / members disagree. Otherwise -1 (unmarked) or a PRECISIONS index. */
const NONE = -2;
const MIXED = -3;
/** A row whose label was never written. */
const UNWRITTEN = -100;
/** Outline row height (styles.ts): item i's row starts about i rows down the tree. */
const ROW_PX = 22;
/** Rows relabelled per idle task when a change touches rows out of view. */
const ROWS_PER_TASK = 300;

export interface DecorSource {
  graph: GraphView;
  /** Node id -> PRECISIONS index, -1 unmarked. */
  mark: Int8Array;
  /** Node id -> the precision the model already runs in (actualPrecision.ts), undefined for float32. */
  actual: readonly (string | undefined)[];
  /** Node id -> badness 0..1 of the overlay metric, NaN without a value. */
  bad(): Float32Array;
  colourOf(bad: number): string;
  textOf(bad: number): string;
  colours(): BadgeColours;
  isSelected(node: number): boolean;
  selectionSize(): number;
  /** The item the primary selection shows (its row stays aria-selected). */
  primaryItem(): number;
}

export class ItemDecorations {
  readonly decor: Decor = { fill: [], text: [], badge: [], actual: [], selected: null, band: null, badgeBorder: '' };
  private layout: LayoutResult | undefined;
  /** Op nodes each item shows, as ranges into `members` (a node: itself; a collapsed group: all ops below it). */
  private start = new Int32Array(1);
  private members = new Int32Array(0);
  private itemMark = new Int8Array(0);
  private rows: HTMLElement[] = [];
  /** What each row's label says (an itemMark value), to write only rows that change. */
  private rowMark = new Int8Array(0);
  /** Item -> its actual precision ('mixed' for a collapsed group whose members differ). */
  private itemActual: (string | undefined)[] = [];
  /** Rows out of view whose labels wait for an idle moment (after the frame that shows the change). */
  private readonly pendingRows = new Set<number>();
  private flushTimer: number | undefined;

  constructor(private readonly src: DecorSource) {}

  /** A new layout (and its outline rows): everything is computed and written again. */
  rebuild(layout: LayoutResult, rows: HTMLElement[]): void {
    this.layout = layout;
    const n = layout.items.length;
    const g = this.src.graph;
    const count = new Int32Array(n + 1);
    for (const node of g.nodes) if (node.kind === 'op') count[layout.repr[node.id] + 1]++;
    for (let i = 0; i < n; i++) count[i + 1] += count[i];
    this.start = count;
    this.members = new Int32Array(count[n]);
    const fill = count.slice(0, n);
    for (const node of g.nodes) if (node.kind === 'op') this.members[fill[layout.repr[node.id]]++] = node.id;
    this.itemMark = new Int8Array(n).fill(NONE);
    this.rowMark = new Int8Array(n).fill(UNWRITTEN);
    this.pendingRows.clear();
    this.rows = [];
    for (const el of rows) this.rows[Number(el.dataset.item)] = el;
    const d = this.decor;
    d.fill = new Array<string | null>(n).fill(null);
    d.text = new Array<string | null>(n).fill(null);
    d.badge = new Array<Decor['badge'][number]>(n).fill(null);
    d.selected = new Uint8Array(n);
    d.actual = new Array<Decor['actual'][number]>(n).fill(null);
    this.itemActual = new Array<string | undefined>(n);
    for (let i = 0; i < n; i++) {
      let a: string | undefined;
      for (let k = this.start[i]; k < this.start[i + 1]; k++) {
        const x = this.src.actual[this.members[k]];
        if (x) a = a === undefined || a === x ? x : 'mixed';
      }
      this.itemActual[i] = a;
    }
    this.marksChanged('all');
    this.overlayChanged('all');
    this.selectionChanged(true);
  }

  /** Items showing any of `nodes` (each once). */
  private itemsOf(nodes: Iterable<number> | 'all'): Iterable<number> {
    const layout = this.layout!;
    if (nodes === 'all') return layout.items.keys();
    const out = new Set<number>();
    for (const node of nodes) out.add(layout.repr[node]);
    return out;
  }

  /**
   * The marks of `nodes` changed (or the badge colours, 'all'): badges and row labels of their
   * items. Rows in view are relabelled at once; rows out of view just after the frame is drawn, a
   * few hundred per task, so marking thousands of nodes does not hold up the canvas.
   */
  marksChanged(nodes: Iterable<number> | 'all'): void {
    if (!this.layout) return;
    const [first, last] = nodes === 'all' ? [0, Infinity] : this.rowsInView();
    const { mark } = this.src;
    const c = this.src.colours();
    const d = this.decor;
    d.badgeBorder = c.border;
    if (nodes === 'all') for (let i = 0; i < d.actual.length; i++) {
      const a = this.itemActual[i];
      d.actual[i] = a ? { text: ACTUAL_BADGE[a] ?? a, colour: a === 'mixed' ? c.bg.mixed : c.bg[ACTUAL_COLOUR_KEY[a] ?? 'skip'] } : null;
    }
    for (const i of this.itemsOf(nodes)) {
      let m = NONE;
      for (let k = this.start[i]; k < this.start[i + 1]; k++) {
        const x = mark[this.members[k]];
        m = m === NONE ? x : m === x ? m : MIXED;
      }
      this.itemMark[i] = m;
      const group = this.layout.items[i].kind === ItemKind.Group;
      if (m >= 0) {
        const p = PRECISIONS[m];
        d.badge[i] = { text: BADGE_TEXT[p], bg: c.bg[p], fg: c.fg[p] };
      } else d.badge[i] = m === MIXED && group ? { text: 'mixed', bg: c.bg.mixed, fg: c.fg.mixed } : null;
      if (i >= first && i <= last) this.labelRow(i);
      else this.pendingRows.add(i);
    }
    // After the frame that draws the change: a timer set now could run before that frame.
    if (this.pendingRows.size && this.flushTimer === undefined) this.flushTimer = requestAnimationFrame(() => window.setTimeout(() => this.flushRows(), 0));
  }

  /** The item range whose outline rows are on screen (with a screen's margin either side). */
  private rowsInView(): [number, number] {
    const tree = this.rows.find((r) => r)?.closest<HTMLElement>('[role=tree]');
    if (!tree) return [0, Infinity];
    const top = tree.scrollTop / ROW_PX;
    const height = Math.max(1, tree.clientHeight / ROW_PX);
    return [Math.floor(top - height), Math.ceil(top + 2 * height)];
  }

  private flushRows(): void {
    this.flushTimer = undefined;
    let k = 0;
    for (const i of this.pendingRows) {
      this.pendingRows.delete(i);
      this.labelRow(i);
      if (++k >= ROWS_PER_TASK) break;
    }
    if (this.pendingRows.size) this.flushTimer = window.setTimeout(() => this.flushRows(), 0);
  }

  /** Whether every outline row shows its item's current mark (tests and benchmarks). */
  rowsSettled(): boolean {
    return this.pendingRows.size === 0;
  }

  /** The overlay's badness of `nodes` changed (or all of it): fills of their items, a group taking its worst member. */
  overlayChanged(nodes: Iterable<number> | 'all'): void {
    if (!this.layout) return;
    const bad = this.src.bad();
    const d = this.decor;
    for (const i of this.itemsOf(nodes)) {
      let worst = NaN;
      for (let k = this.start[i]; k < this.start[i + 1]; k++) {
        const b = bad[this.members[k]];
        if (b === b && !(worst >= b)) worst = b;
      }
      d.fill[i] = worst === worst ? this.src.colourOf(worst) : null;
      d.text[i] = worst === worst ? this.src.textOf(worst) : null;
    }
  }

  /** The multi-selection changed: which items show as selected (a collapsed group when all its members are); `all` rewrites every row. */
  selectionChanged(all = false): void {
    const layout = this.layout;
    const sel = this.decor.selected;
    if (!layout || !sel) return;
    const any = this.src.selectionSize() > 0;
    const primary = this.src.primaryItem();
    for (let i = 0; i < layout.items.length; i++) {
      const kind = layout.items[i].kind;
      let on = 0;
      if (any && kind !== ItemKind.Frame && this.start[i + 1] > this.start[i]) {
        on = 1;
        for (let k = this.start[i]; k < this.start[i + 1] && on; k++) if (!this.src.isSelected(this.members[k])) on = 0;
      }
      if (sel[i] === on && !all) continue;
      sel[i] = on;
      this.rows[i]?.setAttribute('aria-selected', on === 1 || i === primary ? 'true' : 'false');
    }
  }

  /** Whether item `i` is in the multi-selection. */
  itemSelected(i: number): boolean {
    return this.decor.selected?.[i] === 1;
  }

  /** The outline row's accessible label carries the mark ("Convolution110, Conv, marked int16"). */
  private labelRow(i: number): void {
    const el = this.rows[i];
    const m = this.itemMark[i];
    if (!el || this.rowMark[i] === m) return;
    this.rowMark[i] = m;
    const it = this.layout!.items[i];
    const text = m >= 0 ? PRECISIONS[m] : m === MIXED && it.kind === ItemKind.Group ? 'mixed' : '';
    if (text) el.dataset.mark = BADGE_TEXT[text as Precision] ?? text;
    else delete el.dataset.mark;
    el.dataset.precision = text;
    const actual = this.itemActual[i];
    if (actual) el.dataset.actual = ACTUAL_BADGE[actual] ?? actual;
    const tail = `${actual ? `, actual ${actual}` : ''}${text ? `, marked ${text}` : ''}`;
    const g = this.src.graph;
    if (it.kind === ItemKind.Node) {
      const node = g.nodes[it.id];
      el.setAttribute('aria-label', `${node.name}, ${node.kind === 'op' ? node.opType : node.kind === 'input' ? 'graph input' : 'graph output'}${tail}`);
    } else {
      const grp = g.groups[it.id];
      el.setAttribute('aria-label', `${grp.label}, ${grp.size} nodes${tail}`);
    }
  }
}
