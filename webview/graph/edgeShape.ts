/**
 * The drawn shape of one edge, shared by the canvas renderer and the SVG export: dagre's route
 * smoothed through its bend points when the layout has one, else a vertical S-curve from the
 * bottom of the source box to the top of the target box.
 */
import type { LayoutEdge, LayoutItem } from './layout';

export type EdgeSegment =
  | { c: 'C'; v: [number, number, number, number, number, number] }
  | { c: 'Q'; v: [number, number, number, number] }
  | { c: 'L'; v: [number, number] };

export interface EdgeShape {
  start: [number, number];
  segs: EdgeSegment[];
  /** Where the arrow points, and the unit direction it arrives from. */
  tip: [number, number];
  dir: [number, number];
  /** Where the edge's label goes. */
  mid: [number, number];
  /** minX, minY, maxX, maxY, for culling. */
  box: [number, number, number, number];
}

/** The line stops this far before the tip, under the arrowhead. */
const HEAD_GAP = 4;

export function edgeShape(e: LayoutEdge, a: LayoutItem, b: LayoutItem): EdgeShape {
  const p = e.points;
  if (p && p.length >= 4) {
    const n = p.length / 2;
    const x = (i: number) => p[2 * i];
    const y = (i: number) => p[2 * i + 1];
    const segs: EdgeSegment[] = [];
    // through each bend point, curving to the midpoints between them
    for (let i = 1; i < n - 1; i++) segs.push({ c: 'Q', v: [x(i), y(i), (x(i) + x(i + 1)) / 2, (y(i) + y(i + 1)) / 2] });
    let dx = x(n - 1) - x(n - 2);
    let dy = y(n - 1) - y(n - 2);
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    segs.push({ c: 'L', v: [x(n - 1) - dx * HEAD_GAP, y(n - 1) - dy * HEAD_GAP] });
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, x(i)); x1 = Math.max(x1, x(i));
      y0 = Math.min(y0, y(i)); y1 = Math.max(y1, y(i));
    }
    const m = Math.floor(n / 2);
    const mid: [number, number] = n % 2 ? [x(m), y(m)] : [(x(m - 1) + x(m)) / 2, (y(m - 1) + y(m)) / 2];
    return { start: [x(0), y(0)], segs, tip: [x(n - 1), y(n - 1)], dir: [dx, dy], mid, box: [x0, y0, x1, y1] };
  }
  const ax = a.x + a.w / 2;
  const ay = a.y + a.h;
  const bx = b.x + b.w / 2;
  const by = b.y;
  const dy = Math.max(20, Math.abs(by - ay) / 2);
  return {
    start: [ax, ay],
    segs: [{ c: 'C', v: [ax, ay + dy, bx, by - dy, bx, by - HEAD_GAP] }],
    tip: [bx, by],
    dir: [0, 1],
    mid: [(ax + bx) / 2, (ay + by) / 2],
    box: [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)],
  };
}

/** The three corners of the arrowhead: tip, then left and right of the shaft. */
export function arrowHead(s: EdgeShape): [number, number, number, number, number, number] {
  const [tx, ty] = s.tip;
  const [dx, dy] = s.dir;
  return [tx, ty, tx - 7 * dx - 4 * dy, ty - 7 * dy + 4 * dx, tx - 7 * dx + 4 * dy, ty - 7 * dy - 4 * dx];
}
