/**
 * Pointer and keyboard input for marking, beside the panel's own navigation: the rubber band
 * (Shift+drag on empty canvas), the context menu (right-click, Shift+F10, the ContextMenu key) on
 * the canvas and the outline, the mark shortcuts (1 / 2 / 3 / 0 / Delete) and Ctrl+A. Undo and redo
 * keys are left alone: VS Code forwards them from the webview to its own undo stack.
 */
import { ItemKind, type LayoutResult } from './layout';
import type { GraphMarks } from './marks';
import type { GraphCanvas } from './renderer';

export interface MarkingInputParts {
  canvasEl: HTMLCanvasElement;
  outline: HTMLElement;
  canvas: GraphCanvas;
  marks: GraphMarks;
  layout(): LayoutResult | undefined;
  /** The layout item the primary selection shows, -1 for none. */
  primaryItem(): number;
  /** Makes `item` the primary selection without changing the multi-selection. */
  focusItem(item: number): void;
  listen<K extends keyof HTMLElementEventMap>(el: HTMLElement, type: K, fn: (ev: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions): void;
}

export function wireMarking(p: MarkingInputParts): void {
  const { canvasEl, canvas, marks } = p;
  const local = (ev: MouseEvent): [number, number] => {
    const r = canvasEl.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  const world = (sx: number, sy: number): [number, number] => [canvas.vp.x + sx / canvas.vp.k, canvas.vp.y + sy / canvas.vp.k];

  // Rubber band: registered in the capture phase so the panel's pan never starts.
  let band: { x: number; y: number; id: number } | undefined;
  const rect = (ev: PointerEvent): { x: number; y: number; w: number; h: number } => {
    const [wx, wy] = world(...local(ev));
    return { x: Math.min(band!.x, wx), y: Math.min(band!.y, wy), w: Math.abs(wx - band!.x), h: Math.abs(wy - band!.y) };
  };
  p.listen(canvasEl, 'pointerdown', (ev) => {
    if (!ev.shiftKey || ev.button !== 0) return;
    const [sx, sy] = local(ev);
    const item = canvas.hitTest(sx, sy);
    if (item >= 0 && p.layout()?.items[item].kind !== ItemKind.Frame) return;
    ev.stopImmediatePropagation();
    const [wx, wy] = world(sx, sy);
    band = { x: wx, y: wy, id: ev.pointerId };
    canvasEl.setPointerCapture?.(ev.pointerId);
    canvasEl.focus();
  }, { capture: true });
  p.listen(canvasEl, 'pointermove', (ev) => {
    if (!band || ev.pointerId !== band.id) return;
    ev.stopImmediatePropagation();
    marks.band(rect(ev), false, true);
  }, { capture: true });
  p.listen(canvasEl, 'pointerup', (ev) => {
    if (!band || ev.pointerId !== band.id) return;
    ev.stopImmediatePropagation();
    const r = rect(ev);
    band = undefined;
    marks.band(r.w + r.h > 2 ? r : null, true, true);
  }, { capture: true });

  // Right-click: on an item outside the selection, select it first (as lists do).
  p.listen(canvasEl, 'contextmenu', (ev) => {
    ev.preventDefault();
    if (marks.menu.open) return;
    const item = canvas.hitTest(...local(ev));
    if (item >= 0 && !marks.itemSelected(item)) {
      marks.click(item, { toggle: false, range: false });
      p.focusItem(item);
    }
    marks.openMenu(item, ev.clientX, ev.clientY);
  });
  p.listen(p.outline, 'contextmenu', (ev) => {
    ev.preventDefault();
    if (marks.menu.open) return;
    const el = ev.target instanceof Element ? ev.target.closest<HTMLElement>('[role=treeitem]') : null;
    const item = el ? Number(el.dataset.item) : -1;
    if (item >= 0 && !marks.itemSelected(item)) {
      marks.click(item, { toggle: false, range: false });
      p.focusItem(item);
    }
    marks.openMenu(item, ev.clientX, ev.clientY);
  });

  // Keys: where the menu opens from the keyboard (beside the selected node / the focused row).
  p.listen(canvasEl, 'keydown', (ev) => {
    const handled = marks.onKey(ev, () => {
      const item = p.primaryItem();
      const it = p.layout()?.items[item];
      const r = canvasEl.getBoundingClientRect();
      if (!it) return { item, x: r.left + 20, y: r.top + 20 };
      const { x, y, k } = canvas.vp;
      return { item, x: r.left + (it.x + it.w - x) * k, y: r.top + (it.y + it.h / 2 - y) * k };
    });
    if (handled) ev.preventDefault();
  });
  p.listen(p.outline, 'keydown', (ev) => {
    const el = ev.target instanceof Element ? ev.target.closest<HTMLElement>('[role=treeitem]') : null;
    const handled = marks.onKey(ev, () => {
      const row = (el?.querySelector('.qlg-row') ?? el)?.getBoundingClientRect();
      return { item: el ? Number(el.dataset.item) : -1, x: row ? row.left + 24 : 0, y: row ? row.bottom : 0 };
    });
    if (handled) ev.preventDefault();
  });
}
