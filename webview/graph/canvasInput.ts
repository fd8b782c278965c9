/**
 * Pointer and keyboard input on the graph canvas: drag to pan, wheel to zoom (Shift+wheel pans),
 * hover for the node card, click to select (Ctrl/Shift with the multi-selection), double-click to
 * open or close a group; arrows follow edges, Enter/Space open a group, +/- zoom, Escape clears.
 */
import { ItemKind, type LayoutResult } from './layout';
import type { GraphMarks } from './marks';
import { selectionOfItem } from './outlinePanel';
import type { Selection } from './properties';
import { wheelZoomFactor, type GraphCanvas } from './renderer';
import type { NodeTooltip } from './tooltip';

export interface CanvasInputHost {
  canvasEl: HTMLCanvasElement;
  canvas: GraphCanvas;
  tooltip: NodeTooltip;
  marks: GraphMarks;
  layout(): LayoutResult | undefined;
  selection(): Selection;
  select(sel: Selection, opts: { keepMulti?: boolean }): void;
  toggleGroup(group: number): void;
  /** Arrow keys: returns whether the key was used. */
  followEdge(key: string): boolean;
  zoomCentre(factor: number): void;
  listen<K extends keyof HTMLElementEventMap>(el: HTMLElement, type: K, fn: (ev: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions): void;
}

export function wireCanvasInput(p: CanvasInputHost): void {
  const { canvasEl, canvas, tooltip } = p;
  let drag: { x: number; y: number; moved: boolean; id: number } | undefined;
  const local = (ev: MouseEvent): [number, number] => {
    const r = canvasEl.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  p.listen(canvasEl, 'pointerleave', () => tooltip.hide());
  p.listen(canvasEl, 'pointerdown', (ev) => {
    tooltip.hide();
    drag = { x: ev.clientX, y: ev.clientY, moved: false, id: ev.pointerId };
    canvasEl.setPointerCapture?.(ev.pointerId);
  });
  p.listen(canvasEl, 'pointermove', (ev) => {
    if (!drag) {
      const [sx, sy] = local(ev);
      const it = p.layout()?.items[canvas.hitTest(sx, sy)];
      tooltip.hover(it?.kind === ItemKind.Node ? it.id : -1, sx, sy, canvas.size);
      return;
    }
    if (drag.id !== ev.pointerId) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    drag.x = ev.clientX;
    drag.y = ev.clientY;
    canvas.panBy(dx, dy);
  });
  p.listen(canvasEl, 'pointerup', (ev) => {
    const d = drag;
    drag = undefined;
    if (!d || d.moved) return;
    if (ev.button !== 0) return;
    const [sx, sy] = local(ev);
    const item = canvas.hitTest(sx, sy);
    const toggle = ev.ctrlKey || ev.metaKey;
    if (item < 0 && (toggle || ev.shiftKey)) return;
    p.marks.click(item, { toggle, range: ev.shiftKey });
    p.select(item >= 0 ? selectionOfItem(p.layout(), item) : null, { keepMulti: true });
  });
  p.listen(canvasEl, 'dblclick', (ev) => {
    const it = p.layout()?.items[canvas.hitTest(...local(ev))];
    if (it && it.kind !== ItemKind.Node) p.toggleGroup(it.id);
  });
  p.listen(canvasEl, 'wheel', (ev) => {
    ev.preventDefault();
    tooltip.hide();
    const [sx, sy] = local(ev);
    // Wheel, Ctrl+wheel and trackpad pinch (a Ctrl+wheel) zoom in small proportional steps; Shift+wheel pans.
    if (ev.ctrlKey || !ev.shiftKey) canvas.zoomAt(sx, sy, wheelZoomFactor(ev.deltaY, ev.deltaMode, canvas.size.h));
    else canvas.panBy(-(ev.deltaY || ev.deltaX), 0);
  }, { passive: false });
  p.listen(canvasEl, 'keydown', (ev) => {
    let handled = true;
    const sel = p.selection();
    switch (ev.key) {
      case 'ArrowDown': case 'ArrowUp': case 'ArrowLeft': case 'ArrowRight':
        handled = p.followEdge(ev.key);
        break;
      case 'Enter': case ' ':
        if (sel?.kind === 'group') p.toggleGroup(sel.id);
        else handled = false;
        break;
      case '+': case '=': p.zoomCentre(1.25); break;
      case '-': p.zoomCentre(0.8); break;
      case 'Escape': p.select(null, {}); break;
      default: handled = false;
    }
    if (handled) ev.preventDefault();
  });
}
