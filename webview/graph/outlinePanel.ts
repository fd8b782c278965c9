/**
 * The outline as a control: its rows (outline.ts builds them), which row is selected and focusable,
 * and its pointer and keyboard input: click and Ctrl/Shift-click select, Up/Down/Home/End move,
 * Right/Left open, close or go to the parent, Enter opens a group or selects a node, Space toggles
 * the row in the multi-selection, Ctrl+Up/Down move the focus only.
 */
import type { GraphView } from '../../src/protocol';
import { h } from '../dom';
import { ItemKind, type LayoutResult } from './layout';
import type { GraphMarks } from './marks';
import { buildOutline } from './outline';
import type { Selection } from './properties';

export interface OutlineHost {
  graph: GraphView;
  marks: GraphMarks;
  layout(): LayoutResult | undefined;
  select(sel: Selection, opts: { reveal?: boolean; focusOutline?: boolean; keepMulti?: boolean }): Promise<void>;
  toggleGroup(group: number, open?: boolean): Promise<void>;
  /** Re-applies the selection to the rows after a toggle (focusing the selected row). */
  reapplySelection(): void;
  listen<K extends keyof HTMLElementEventMap>(el: HTMLElement, type: K, fn: (ev: HTMLElementEventMap[K]) => void): void;
}

/** The node or group a layout item shows. */
export function selectionOfItem(layout: LayoutResult | undefined, item: number): Selection {
  const it = layout?.items[item];
  if (!it) return null;
  return it.kind === ItemKind.Node ? { kind: 'node', id: it.id } : { kind: 'group', id: it.id };
}

export class OutlinePanel {
  readonly element: HTMLElement;
  /** The rows in order, one per layout item. */
  items: HTMLElement[] = [];

  constructor(private readonly host: OutlineHost) {
    this.element = h('div', { class: 'qlg-outline', role: 'tree', 'aria-label': 'Graph outline', 'data-testid': 'graph-outline' });
    this.wire();
  }

  rebuild(layout: LayoutResult): void {
    const { content, items } = buildOutline(layout, this.host.graph);
    this.element.replaceChildren(content);
    this.items = items;
  }

  /** Marks the row of `item` selected and focusable (the multi-selection's rows stay selected too). */
  showSelection(item: number, focus: boolean): void {
    let found: HTMLElement | undefined;
    for (const el of this.items) {
      const on = Number(el.dataset.item) === item;
      el.setAttribute('aria-selected', on || this.host.marks.itemSelected(Number(el.dataset.item)) ? 'true' : 'false');
      el.tabIndex = on ? 0 : -1;
      if (on) found = el;
    }
    if (!found && this.items.length) this.items[0].tabIndex = 0;
    if (found) {
      found.scrollIntoView({ block: 'nearest' });
      if (focus) found.focus();
    }
  }

  private target(ev: Event): HTMLElement | undefined {
    const t = ev.target instanceof Element ? ev.target.closest<HTMLElement>('[role=treeitem]') : null;
    return t ?? undefined;
  }

  private selectRow(item: number, keepMulti = false): void {
    void this.host.select(selectionOfItem(this.host.layout(), item), { reveal: true, focusOutline: true, keepMulti });
  }

  private toggle(group: number, open?: boolean): void {
    void this.host.toggleGroup(group, open).then(() => this.host.reapplySelection());
  }

  private onKey(ev: KeyboardEvent): void {
    const el = this.target(ev);
    const layout = this.host.layout();
    if (!el || !layout) return;
    const pos = this.items.indexOf(el);
    const it = layout.items[Number(el.dataset.item)];
    const move = (to: number): void => {
      const target = this.items[to];
      if (target) this.selectRow(Number(target.dataset.item));
    };
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      // Focus moves, the selection stays (then Space adds the row), as in VS Code's lists.
      this.items[pos + (ev.key === 'ArrowDown' ? 1 : -1)]?.focus();
      ev.preventDefault();
      return;
    }
    switch (ev.key) {
      case 'ArrowDown': move(pos + 1); break;
      case 'ArrowUp': move(pos - 1); break;
      case 'Home': move(0); break;
      case 'End': move(this.items.length - 1); break;
      case 'ArrowRight':
        if (it.kind === ItemKind.Group) this.toggle(it.id, true);
        else if (it.kind === ItemKind.Frame) move(pos + 1);
        break;
      case 'ArrowLeft':
        if (it.kind === ItemKind.Frame) this.toggle(it.id, false);
        else if (it.parent >= 0) move(this.items.findIndex((x) => Number(x.dataset.item) === it.parent));
        break;
      case ' ':
        // Space toggles the focused row in the multi-selection (Enter opens groups and selects).
        this.host.marks.click(Number(el.dataset.item), { toggle: true, range: false });
        this.selectRow(Number(el.dataset.item), true);
        break;
      case 'Enter':
        if (it.kind !== ItemKind.Node) this.toggle(it.id);
        else this.selectRow(Number(el.dataset.item));
        break;
      default: return;
    }
    ev.preventDefault();
  }

  private wire(): void {
    this.host.listen(this.element, 'click', (ev) => {
      const el = this.target(ev);
      if (!el) return;
      const item = Number(el.dataset.item);
      if (ev.target instanceof Element && ev.target.closest('[data-toggle]') && el.dataset.kind === 'group') {
        void this.host.toggleGroup(Number(el.dataset.id));
        return;
      }
      const marks = this.host.marks;
      if (!marks.menu.open) marks.click(item, { toggle: ev.ctrlKey || ev.metaKey, range: ev.shiftKey });
      void this.host.select(selectionOfItem(this.host.layout(), item), { reveal: true, keepMulti: true });
    });
    this.host.listen(this.element, 'dblclick', (ev) => {
      const el = this.target(ev);
      if (el?.dataset.kind === 'group') void this.host.toggleGroup(Number(el.dataset.id));
    });
    this.host.listen(this.element, 'keydown', (ev) => this.onKey(ev));
  }
}
