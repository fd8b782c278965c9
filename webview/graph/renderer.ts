/**
 * Canvas renderer of a laid-out graph. Draws only what intersects the viewport (culling), and
 * drops detail as the view zooms out (level of detail): names, then op-type text, then arrowheads
 * and shape labels go, so a frame stays cheap at any size. Colours come from VS Code's theme
 * variables and are re-read when the theme changes.
 */
import type { GraphView } from '../../src/protocol';
import { ItemKind, type LayoutItem, type LayoutResult } from './layout';
import { arrowHead, edgeShape, type EdgeShape } from './edgeShape';
import { formatShape } from '../summaryView';

/**
 * What other modules layer on the drawing, per item index (marks.ts, overlay.ts, selection): an
 * overlay fill and the text colour that reads on it, a precision badge, multi-selection, and the
 * rubber band in world coordinates. Arrays are rebuilt when their data changes, never per frame.
 */
export interface Decor {
  fill: (string | null)[];
  text: (string | null)[];
  badge: ({ text: string; bg: string; fg: string } | null)[];
  /** The precision the model already runs in (a quantized model): an outlined tag, where planned marks are filled. */
  actual: ({ text: string; colour: string } | null)[];
  selected: Uint8Array | null;
  band: { x: number; y: number; w: number; h: number } | null;
  badgeBorder: string;
}

export interface Viewport {
  /** World coordinates of the canvas's top-left corner, and the scale (screen px per world unit). */
  x: number;
  y: number;
  k: number;
}

export interface Colours {
  bg: string;
  fg: string;
  muted: string;
  nodeFill: string;
  nodeBorder: string;
  groupFill: string;
  frameFill: string;
  frameBorder: string;
  edge: string;
  select: string;
  match: string;
  ioFill: string;
  ioFg: string;
  category: Record<string, string>;
  font: string;
  mono: string;
}

export const CATEGORY: Record<string, string> = {};
for (const op of ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'BATCH_MATMUL', 'TRANSPOSE_CONV']) CATEGORY[op] = 'blue';
for (const op of ['Relu', 'Gelu', 'Sigmoid', 'Tanh', 'Softmax', 'Erf', 'LeakyRelu', 'HardSwish', 'Clip', 'RELU', 'RELU6', 'LOGISTIC', 'TANH', 'SOFTMAX', 'HARD_SWISH', 'GELU']) CATEGORY[op] = 'purple';
for (const op of ['LayerNormalization', 'BatchNormalization', 'InstanceNormalization', 'ReduceMean', 'Sqrt', 'Pow', 'L2_NORMALIZATION', 'MEAN']) CATEGORY[op] = 'green';
for (const op of ['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QUANTIZE', 'DEQUANTIZE']) CATEGORY[op] = 'orange';
for (const op of ['Reshape', 'Transpose', 'Concat', 'Slice', 'Gather', 'Squeeze', 'Unsqueeze', 'Flatten', 'Split', 'Shape', 'RESHAPE', 'TRANSPOSE', 'CONCATENATION', 'SLICE', 'STRIDED_SLICE', 'GATHER', 'SQUEEZE']) CATEGORY[op] = 'yellow';
for (const op of ['MaxPool', 'AveragePool', 'GlobalAveragePool', 'MAX_POOL_2D', 'AVERAGE_POOL_2D']) CATEGORY[op] = 'red';

export function readColours(): Colours {
  const cs = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  const fg = v('--vscode-editor-foreground', v('--vscode-foreground', '#cccccc'));
  const border = v('--vscode-contrastBorder', '');
  return {
    bg: v('--vscode-editor-background', '#1e1e1e'),
    fg,
    muted: v('--vscode-descriptionForeground', '#999999'),
    nodeFill: v('--vscode-editorWidget-background', '#252526'),
    nodeBorder: border || v('--vscode-editorWidget-border', '#454545'),
    groupFill: v('--vscode-sideBar-background', '#2a2d2e'),
    frameFill: v('--vscode-editor-inactiveSelectionBackground', 'rgba(128,128,128,0.08)'),
    frameBorder: border || v('--vscode-panel-border', '#80808059'),
    edge: v('--vscode-editorLineNumber-foreground', '#858585'),
    select: v('--vscode-focusBorder', '#007fd4'),
    match: v('--vscode-editor-findMatchHighlightBackground', 'rgba(234,92,0,0.33)'),
    ioFill: v('--vscode-badge-background', '#4d4d4d'),
    ioFg: v('--vscode-badge-foreground', '#ffffff'),
    category: {
      blue: v('--vscode-charts-blue', '#3794ff'), purple: v('--vscode-charts-purple', '#b180d7'),
      green: v('--vscode-charts-green', '#89d185'), orange: v('--vscode-charts-orange', '#d18616'),
      yellow: v('--vscode-charts-yellow', '#cca700'), red: v('--vscode-charts-red', '#f14c4c'),
    },
    font: v('--vscode-font-family', 'sans-serif'),
    mono: v('--vscode-editor-font-family', 'monospace'),
  };
}

/** Node labels are drawn at this size (CSS px) at scale 1. */
export const LABEL_PX = 12;
/** The smallest label a reader reads without effort; the first view never opens below it. */
export const MIN_LABEL_PX = 9;
/** The first view's scale when the whole graph does not fit legibly: labels at their design size. */
const FIRST_VIEW_K = 1;

/**
 * Zoom factor of one wheel event: a mouse notch (100 px, 3 lines) is a 10 % step, and a bigger
 * delta counts as one notch, so fast wheels and Ctrl+wheel step as gently; trackpad pinches
 * (Ctrl+wheel with small deltas) zoom in proportion to the gesture, as in VS Code.
 */
export function wheelZoomFactor(deltaY: number, deltaMode: number, pageHeight = 800): number {
  const px = deltaMode === 1 ? deltaY * 33 : deltaMode === 2 ? deltaY * pageHeight : deltaY;
  const d = Math.max(-100, Math.min(100, px));
  return Math.pow(1.1, -d / 100);
}

/** Level-of-detail thresholds (scale). */
const TEXT_K = 0.38;
const NAME_K = 0.75;
const LABEL_K = 0.9;
/** Below this zoom an edge is one straight stroke: its route's bends are a few pixels and cost frames. */
const ROUTE_K = 0.38;

export class GraphCanvas {
  readonly ctx: CanvasRenderingContext2D;
  private _vp: Viewport = { x: 0, y: 0, k: 1 };
  /** Called whenever the viewport moves (to persist it). */
  onViewportChange: ((vp: Viewport) => void) | undefined;

  get vp(): Viewport {
    return this._vp;
  }

  set vp(v: Viewport) {
    this._vp = v;
    this.onViewportChange?.(v);
  }
  layout: LayoutResult | undefined;
  private shapes: EdgeShape[] = [];
  private heads: number[][] = [];
  selectedItem = -1;
  decor: Decor | undefined;
  matchItems = new Set<number>();
  private colours = readColours();
  /** Called after each frame (the minimap draws then). */
  onDraw: (() => void) | undefined;
  /** Called when the theme's colours change. */
  onTheme: (() => void) | undefined;

  /** The full theme palette (exports draw with the same colours). */
  get palette(): Colours {
    return this.colours;
  }

  get themeColours(): { bg: string; node: string; group: string; frame: string; select: string } {
    const c = this.colours;
    return { bg: c.bg, node: c.edge, group: c.muted, frame: c.frameBorder, select: c.select };
  }
  private frameRequested = false;
  /** Durations of the last frames drawn (ms), for benchmarks. */
  readonly frameTimes: number[] = [];
  private width = 0;
  private height = 0;
  private readonly themeObserver: MutationObserver;

  constructor(readonly canvas: HTMLCanvasElement, private readonly view: GraphView) {
    this.ctx = canvas.getContext('2d', { alpha: false })!;
    // VS Code switches themes by changing the body's class and the CSS variables.
    this.themeObserver = new MutationObserver(() => {
      this.colours = readColours();
      this.onTheme?.();
      this.requestDraw();
    });
    this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
    this.themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  }

  dispose(): void {
    this.themeObserver.disconnect();
  }

  /** Matches the backing store to the element's size; returns true when the size changed. */
  resize(): boolean {
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width));
    const h = Math.max(1, Math.round(r.height));
    if (w === this.width && h === this.height && this.canvas.width === Math.round(w * dpr)) return false;
    this.width = w;
    this.height = h;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    return true;
  }

  get size(): { w: number; h: number } {
    return { w: this.width, h: this.height };
  }

  setLayout(layout: LayoutResult): void {
    this.layout = layout;
    // edge shapes depend on the layout only: computed once here, not every frame
    this.shapes = layout.edges.map((e) => edgeShape(e, layout.items[e.a], layout.items[e.b]));
    this.heads = this.shapes.map(arrowHead);
    this.requestDraw();
  }

  /** Zooms to show the whole graph (never above 1:1, so small graphs stay readable). */
  fit(): void {
    if (!this.layout) return;
    this.resize();
    const pad = 24;
    const k = Math.min(1, (this.width - 2 * pad) / Math.max(1, this.layout.width), (this.height - 2 * pad) / Math.max(1, this.layout.height));
    const kk = Math.max(0.02, k);
    this.vp = { k: kk, x: this.layout.width / 2 - this.width / 2 / kk, y: -pad / kk };
    if (this.layout.height * kk < this.height - 2 * pad) this.vp.y = this.layout.height / 2 - this.height / 2 / kk;
    this.requestDraw();
  }

  /**
   * The first view: the whole graph when it fits with legible labels; otherwise labels at their
   * design size, at the graph's inputs (`anchors`, items), centred across them, top first.
   */
  firstView(anchors: number[]): void {
    if (!this.layout) return;
    this.resize();
    const pad = 24;
    const fitK = Math.min(1, (this.width - 2 * pad) / Math.max(1, this.layout.width), (this.height - 2 * pad) / Math.max(1, this.layout.height));
    if (fitK * LABEL_PX >= MIN_LABEL_PX) {
      this.fit();
      return;
    }
    const k = FIRST_VIEW_K;
    const items = anchors.map((i) => this.layout!.items[i]).filter((it) => it !== undefined);
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    for (const it of items) {
      // Inputs far apart (a wide graph) would not fit at this scale: the first one leads.
      if (x1 > -Infinity && Math.max(x1, it.x + it.w) - Math.min(x0, it.x) > (this.width - 2 * pad) / k) break;
      x0 = Math.min(x0, it.x);
      x1 = Math.max(x1, it.x + it.w);
      y0 = Math.min(y0, it.y);
    }
    if (x0 === Infinity) {
      x0 = 0;
      x1 = Math.min(this.layout.width, this.width / k);
      y0 = 0;
    }
    this.vp = { k, x: (x0 + x1) / 2 - this.width / 2 / k, y: y0 - pad / k };
    this.requestDraw();
  }

  /** Centres an item, zooming in to a readable scale if needed. */
  reveal(item: number): void {
    const it = this.layout?.items[item];
    if (!it) return;
    this.resize();
    const k = this.vp.k < 0.6 ? 1 : this.vp.k;
    this.vp = { k, x: it.x + it.w / 2 - this.width / 2 / k, y: it.y + it.h / 2 - this.height / 2 / k };
    this.requestDraw();
  }

  /** Whether an item is entirely inside the viewport. */
  isVisible(item: number): boolean {
    const it = this.layout?.items[item];
    if (!it) return false;
    const { x, y, k } = this.vp;
    return it.x >= x && it.y >= y && it.x + it.w <= x + this.width / k && it.y + it.h <= y + this.height / k;
  }

  zoomAt(sx: number, sy: number, factor: number): void {
    const k = Math.min(4, Math.max(0.01, this.vp.k * factor));
    const wx = this.vp.x + sx / this.vp.k;
    const wy = this.vp.y + sy / this.vp.k;
    this.vp = { k, x: wx - sx / k, y: wy - sy / k };
    this.requestDraw();
  }

  panBy(dx: number, dy: number): void {
    this.vp = { ...this.vp, x: this.vp.x - dx / this.vp.k, y: this.vp.y - dy / this.vp.k };
    this.requestDraw();
  }

  /** The top-most item under a screen point, or -1. Frames count only by their header. */
  hitTest(sx: number, sy: number): number {
    if (!this.layout) return -1;
    const wx = this.vp.x + sx / this.vp.k;
    const wy = this.vp.y + sy / this.vp.k;
    const items = this.layout.items;
    let best = -1;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (wx < it.x || wy < it.y || wx > it.x + it.w || wy > it.y + it.h) continue;
      if (it.kind === ItemKind.Frame && wy > it.y + 24) continue;
      best = i; // later items are nested deeper (pre-order)
    }
    return best;
  }

  requestDraw(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      if (!this.frameRequested) return; // flushed already
      this.frameRequested = false;
      this.draw();
    });
  }

  /** Draws now if a frame is pending (from inside another animation-frame callback: this frame, not the next). */
  flush(): void {
    if (!this.frameRequested) return;
    this.frameRequested = false;
    this.draw();
  }

  /** The precision badge of item `i` (top-right corner, text inside: colour never alone). */
  private drawBadge(i: number, it: LayoutItem, text: boolean, px: number): void {
    const b = this.decor?.badge[i];
    if (!b) return;
    const ctx = this.ctx;
    // A tag on the corner, half above the box: it never covers the op's text or the overlay colour.
    const x = it.x + it.w - BADGE_W + 6;
    const y = it.y - BADGE_H / 2 - 2;
    ctx.fillStyle = b.bg;
    ctx.fillRect(x, y, BADGE_W, BADGE_H);
    if (this.decor!.badgeBorder) {
      ctx.strokeStyle = this.decor!.badgeBorder;
      ctx.lineWidth = px;
      ctx.strokeRect(x, y, BADGE_W, BADGE_H);
    }
    if (!text) return;
    ctx.fillStyle = b.fg;
    ctx.font = `700 10px ${this.colours.font}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(b.text, x + BADGE_W / 2, y + BADGE_H / 2 + 0.5);
  }

  /** The actual-precision badge of item `i`: outlined in its colour on the top-left corner, text in the foreground colour. */
  private drawActual(i: number, it: LayoutItem, text: boolean, px: number): void {
    const b = this.decor?.actual[i];
    if (!b) return;
    const ctx = this.ctx;
    const x = it.x - 6;
    const y = it.y - BADGE_H / 2 - 2;
    ctx.fillStyle = this.colours.bg;
    ctx.fillRect(x, y, BADGE_W, BADGE_H);
    ctx.strokeStyle = b.colour;
    ctx.lineWidth = Math.max(1.5, 2 * px);
    ctx.strokeRect(x, y, BADGE_W, BADGE_H);
    if (!text) return;
    ctx.fillStyle = this.colours.fg;
    ctx.font = `600 10px ${this.colours.font}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(b.text, x + BADGE_W / 2, y + BADGE_H / 2 + 0.5);
  }

  draw(): void {
    const t0 = performance.now();
    this.resize();
    const c = this.colours;
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, 0, this.width, this.height);
    const layout = this.layout;
    if (!layout) return;
    const { x: vx, y: vy, k } = this.vp;
    ctx.setTransform(dpr * k, 0, 0, dpr * k, -vx * k * dpr, -vy * k * dpr);
    const x1 = vx + this.width / k;
    const y1 = vy + this.height / k;
    const items = layout.items;
    const inView = (it: LayoutItem): boolean => it.x + it.w >= vx && it.y + it.h >= vy && it.x <= x1 && it.y <= y1;
    const px = 1 / k; // one screen pixel in world units
    const text = k >= TEXT_K;

    // Expanded group frames (behind everything).
    ctx.lineWidth = px;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it.kind !== ItemKind.Frame || !inView(it)) continue;
      ctx.fillStyle = c.frameFill;
      ctx.fillRect(it.x, it.y, it.w, it.h);
      ctx.strokeStyle = i === this.selectedItem ? c.select : c.frameBorder;
      ctx.lineWidth = (i === this.selectedItem ? 2 : 1) * px;
      ctx.strokeRect(it.x, it.y, it.w, it.h);
      if (this.matchItems.has(i)) {
        ctx.fillStyle = c.match;
        ctx.fillRect(it.x, it.y, it.w, 24);
      }
      if (text) {
        ctx.fillStyle = c.muted;
        ctx.font = `12px ${c.font}`;
        ctx.textBaseline = 'middle';
        ctx.textAlign = 'left';
        const g = this.view.groups[it.id];
        ctx.fillText(clip(`▾ ${g.label}  (${g.size})`, (it.w - 12) / 6.5), it.x + 8, it.y + 12);
      }
    }

    // Edges: one path for all visible curves, then arrowheads.
    ctx.strokeStyle = c.edge;
    ctx.lineWidth = Math.max(px, 1.2);
    ctx.beginPath();
    const heads: number[] = [];
    const labels: [number, number, string][] = [];
    for (let i = 0; i < layout.edges.length; i++) {
      const e = layout.edges[i];
      const s = this.shapes[i];
      if (s.box[2] < vx || s.box[0] > x1 || s.box[3] < vy || s.box[1] > y1) continue;
      ctx.moveTo(s.start[0], s.start[1]);
      if (k < ROUTE_K) ctx.lineTo(s.tip[0], s.tip[1]);
      else {
        for (const g of s.segs) {
          if (g.c === 'C') ctx.bezierCurveTo(...g.v);
          else if (g.c === 'Q') ctx.quadraticCurveTo(...g.v);
          else ctx.lineTo(...g.v);
        }
      }
      heads.push(i);
      if (k >= LABEL_K && labels.length < 400) {
        const t = this.view.tensors[this.view.edges[e.edge].tensor];
        labels.push([s.mid[0], s.mid[1], e.count > 1 ? `×${e.count}` : edgeLabel(t)]);
      }
    }
    ctx.stroke();
    if (k >= 0.3) {
      ctx.fillStyle = c.edge;
      ctx.beginPath();
      for (const i of heads) {
        const h = this.heads[i];
        ctx.moveTo(h[0], h[1]);
        ctx.lineTo(h[2], h[3]);
        ctx.lineTo(h[4], h[5]);
        ctx.closePath();
      }
      ctx.fill();
    }
    if (labels.length) {
      ctx.font = `10px ${c.mono}`;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      ctx.fillStyle = c.muted;
      for (const [lx, ly, s] of labels) ctx.fillText(s, lx + 6, ly);
    }

    // Nodes and collapsed groups.
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it.kind === ItemKind.Frame || !inView(it)) continue;
      const selected = i === this.selectedItem || this.decor?.selected?.[i] === 1;
      const fill = this.decor?.fill[i] ?? null;
      const onFill = fill ? this.decor!.text[i] : null;
      if (it.kind === ItemKind.Group) {
        const g = this.view.groups[it.id];
        ctx.fillStyle = fill ?? c.groupFill;
        ctx.fillRect(it.x, it.y, it.w, it.h);
        // A second edge suggests a stack: the group holds more inside.
        ctx.strokeStyle = c.frameBorder;
        ctx.lineWidth = px;
        ctx.strokeRect(it.x + 3, it.y + 3, it.w, it.h);
        ctx.strokeStyle = selected ? c.select : c.nodeBorder;
        ctx.lineWidth = (selected ? 2.5 : 1) * px;
        ctx.strokeRect(it.x, it.y, it.w, it.h);
        if (this.matchItems.has(i)) {
          ctx.fillStyle = c.match;
          ctx.fillRect(it.x, it.y, it.w, it.h);
        }
        if (text) {
          ctx.textAlign = 'left';
          ctx.textBaseline = 'middle';
          ctx.fillStyle = onFill ?? c.fg;
          ctx.font = `600 12px ${c.font}`;
          ctx.fillText(clip(`▸ ${g.label}`, (it.w - 16) / 7), it.x + 8, it.y + 15);
          ctx.fillStyle = onFill ?? c.muted;
          ctx.font = `11px ${c.font}`;
          const mix = g.opMix.map(([op, n]) => `${op}×${n}`).join(' ');
          ctx.fillText(clip(`${g.size} nodes · ${mix}`, (it.w - 16) / 6), it.x + 8, it.y + 36);
        }
        this.drawActual(i, it, text, px);
        this.drawBadge(i, it, text, px);
        continue;
      }
      const node = this.view.nodes[it.id];
      const io = node.kind !== 'op';
      ctx.fillStyle = fill ?? (io ? c.ioFill : c.nodeFill);
      ctx.fillRect(it.x, it.y, it.w, it.h);
      const cat = CATEGORY[node.opType];
      if (cat && !io) {
        ctx.fillStyle = c.category[cat];
        ctx.fillRect(it.x, it.y, 4, it.h);
      }
      if (this.matchItems.has(i)) {
        ctx.fillStyle = c.match;
        ctx.fillRect(it.x, it.y, it.w, it.h);
      }
      ctx.strokeStyle = selected ? c.select : c.nodeBorder;
      ctx.lineWidth = (selected ? 2.5 : 1) * px;
      ctx.strokeRect(it.x, it.y, it.w, it.h);
      if (text) {
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillStyle = onFill ?? (io ? c.ioFg : c.fg);
        ctx.font = `600 ${LABEL_PX}px ${c.font}`;
        const showName = k >= NAME_K;
        ctx.fillText(clip(io ? node.name : node.keyAttrs ? `${node.opType} ${node.keyAttrs}` : node.opType, (it.w - 10) / 7), it.x + it.w / 2, it.y + (showName && !io ? 14 : it.h / 2));
        if (showName && !io) {
          ctx.fillStyle = onFill ?? c.muted;
          ctx.font = `10px ${c.font}`;
          const short = node.name.slice(node.name.lastIndexOf('/') + 1);
          ctx.fillText(clip(short, (it.w - 10) / 5.6), it.x + it.w / 2, it.y + 29);
        }
      }
      this.drawActual(i, it, text, px);
      this.drawBadge(i, it, text, px);
    }
    const band = this.decor?.band;
    if (band) {
      ctx.strokeStyle = c.select;
      ctx.lineWidth = px;
      ctx.setLineDash([4 * px, 3 * px]);
      ctx.strokeRect(band.x, band.y, band.w, band.h);
      ctx.setLineDash([]);
    }
    this.onDraw?.();
    const dt = performance.now() - t0;
    this.frameTimes.push(dt);
    if (this.frameTimes.length > 240) this.frameTimes.splice(0, this.frameTimes.length - 240);
  }
}

/** Badge box size (world units), on a node's top-right corner. */
export const BADGE_W = 34;
export const BADGE_H = 15;

/** An edge's label: the tensor's shape, plus a quantization badge where Q/DQ nodes were folded into it. */
export function edgeLabel(t: GraphView['tensors'][number]): string {
  const shape = formatShape(t.shape);
  return t.folded && t.q ? `${shape} ◆ q ${t.q.type ?? 'int'}` : shape;
}

export function clip(s: string, maxChars: number): string {
  const n = Math.max(1, Math.floor(maxChars));
  return s.length <= n ? s : s.slice(0, Math.max(1, n - 1)) + '…';
}
