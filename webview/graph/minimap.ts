/**
 * The minimap: the whole laid-out graph in a corner, with the viewport as a rectangle. Click or
 * drag on it to move there. The graph picture is drawn once per layout into an offscreen canvas;
 * each frame only copies it and draws the viewport rectangle.
 */
import { ItemKind } from './layout';
import type { GraphCanvas } from './renderer';

export class Minimap {
  private base: HTMLCanvasElement | undefined;
  private scale = 1;
  private ox = 0;
  private oy = 0;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly cleanups: (() => void)[] = [];

  constructor(readonly el: HTMLCanvasElement, private readonly graph: GraphCanvas, readonly width = 180, readonly height = 130) {
    const dpr = window.devicePixelRatio || 1;
    el.width = Math.round(width * dpr);
    el.height = Math.round(height * dpr);
    el.style.width = `${width}px`;
    el.style.height = `${height}px`;
    this.ctx = el.getContext('2d')!;
    let dragging = false;
    const move = (ev: PointerEvent): void => {
      const r = el.getBoundingClientRect();
      this.centreOn((ev.clientX - r.left - this.ox) / this.scale, (ev.clientY - r.top - this.oy) / this.scale);
    };
    const down = (ev: PointerEvent): void => {
      dragging = true;
      el.setPointerCapture?.(ev.pointerId);
      move(ev);
      ev.stopPropagation();
    };
    const mv = (ev: PointerEvent): void => {
      if (dragging) move(ev);
    };
    const up = (): void => {
      dragging = false;
    };
    el.addEventListener('pointerdown', down);
    el.addEventListener('pointermove', mv);
    el.addEventListener('pointerup', up);
    this.cleanups.push(() => {
      el.removeEventListener('pointerdown', down);
      el.removeEventListener('pointermove', mv);
      el.removeEventListener('pointerup', up);
    });
  }

  private centreOn(wx: number, wy: number): void {
    const { w, h } = this.graph.size;
    const k = this.graph.vp.k;
    this.graph.vp = { k, x: wx - w / 2 / k, y: wy - h / 2 / k };
    this.graph.requestDraw();
  }

  /** Redraws the graph picture (after a new layout). */
  rebuild(colours: { bg: string; node: string; group: string; frame: string }): void {
    const layout = this.graph.layout;
    if (!layout) return;
    const dpr = window.devicePixelRatio || 1;
    const pad = 6;
    this.scale = Math.min((this.width - 2 * pad) / Math.max(1, layout.width), (this.height - 2 * pad) / Math.max(1, layout.height));
    this.ox = (this.width - layout.width * this.scale) / 2;
    this.oy = (this.height - layout.height * this.scale) / 2;
    const base = (this.base ??= document.createElement('canvas'));
    base.width = this.el.width;
    base.height = this.el.height;
    const c = base.getContext('2d')!;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.fillStyle = colours.bg;
    c.fillRect(0, 0, this.width, this.height);
    c.setTransform(dpr * this.scale, 0, 0, dpr * this.scale, dpr * this.ox, dpr * this.oy);
    for (const it of layout.items) {
      c.fillStyle = it.kind === ItemKind.Frame ? colours.frame : it.kind === ItemKind.Group ? colours.group : colours.node;
      // At least a pixel, so thin items stay visible.
      c.fillRect(it.x, it.y, Math.max(it.w, 1 / this.scale), Math.max(it.h, 1 / this.scale));
    }
  }

  draw(viewportColour: string): void {
    if (!this.base) return;
    const dpr = window.devicePixelRatio || 1;
    const c = this.ctx;
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.drawImage(this.base, 0, 0);
    const { x, y, k } = this.graph.vp;
    const { w, h } = this.graph.size;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.strokeStyle = viewportColour;
    c.lineWidth = 1.5;
    c.strokeRect(this.ox + x * this.scale, this.oy + y * this.scale, (w / k) * this.scale, (h / k) * this.scale);
  }

  dispose(): void {
    for (const f of this.cleanups) f();
  }
}
