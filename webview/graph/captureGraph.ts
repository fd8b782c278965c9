/**
 * The graph for a report: the whole laid-out graph as SVG, fitted to its bounds without moving the
 * user's view, with the overlay colours and precision badges the canvas shows and a legend (metric,
 * min, max). A graph with more drawn items than an image reader copes with is captured as the
 * current view instead, and the title says so.
 */
import type { GraphView } from '../../src/protocol';
import { escapeXml, viewToSvg } from './exportSvg';
import type { LayoutResult } from './layout';
import { LOWER_IS_WORSE, METRIC_TEXT, SCALE, type LayerOverlay } from './overlay';
import type { GraphCanvas } from './renderer';
import { fmt } from './tensorPanel';

/** Most laid-out items drawn whole; beyond it the current view is captured. */
export const MAX_WHOLE_ITEMS = 3000;
/** Longest side of the whole-graph image in px (world units shrink to fit). */
const MAX_SIDE_PX = 4000;
const PAD = 24;

export interface CaptureParts {
  graph: GraphView;
  layout: LayoutResult;
  canvas: GraphCanvas;
  overlay: LayerOverlay;
}

/** After streamed results waiting for a frame have reached the items (a hidden view has no frames: 200 ms at most). */
export async function captureWhenDrawn(p: Omit<CaptureParts, 'layout'> & { layout: () => LayoutResult | undefined }): Promise<string> {
  for (let i = 0; i < 2; i++) await new Promise<void>((r) => { requestAnimationFrame(() => r()); setTimeout(r, 200); });
  const layout = p.layout();
  if (!layout) throw new Error('the graph has no layout yet');
  return captureGraphSvg({ ...p, layout });
}

export function captureGraphSvg(p: CaptureParts): string {
  const { graph, layout, canvas, overlay } = p;
  const name = graph.graphName || 'graph';
  const legend = legendSvg(overlay, canvas.palette.font, canvas.palette.fg, canvas.palette.bg);
  const extras = { decor: canvas.decor, screen: legend };
  if (layout.items.length > MAX_WHOLE_ITEMS) {
    const title = `${name}: the current view only (the graph has ${layout.items.length.toLocaleString('en-US')} drawn items, too many for one image)`;
    return viewToSvg(graph, layout, canvas.vp, canvas.size, canvas.palette, { ...extras, title });
  }
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const it of layout.items) {
    x0 = Math.min(x0, it.x); y0 = Math.min(y0, it.y);
    x1 = Math.max(x1, it.x + it.w); y1 = Math.max(y1, it.y + it.h);
  }
  if (!(x1 > x0 && y1 > y0)) { x0 = 0; y0 = 0; x1 = 100; y1 = 100; }
  const w = x1 - x0 + 2 * PAD;
  const h = y1 - y0 + 2 * PAD;
  const k = Math.min(1, MAX_SIDE_PX / Math.max(w, h));
  const size = { w: Math.max(1, Math.round(w * k)), h: Math.max(1, Math.round(h * k)) };
  return viewToSvg(graph, layout, { x: x0 - PAD, y: y0 - PAD, k }, size, canvas.palette, { ...extras, title: name });
}

/** The overlay's scale as the legend shows it: metric, the better and worse ends with their values. */
function legendSvg(o: LayerOverlay, font: string, fg: string, bg: string): string {
  const m = o.metric;
  if (!m || !Number.isFinite(o.min)) return '';
  const lo = LOWER_IS_WORSE[m] ? o.max : o.min;
  const hi = LOWER_IS_WORSE[m] ? o.min : o.max;
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => `<stop offset="${t}" stop-color="${SCALE[Math.round(t * 255)]}"/>`).join('');
  const f = escapeXml(font);
  return `<g class="legend" data-metric="${m}"><rect x="8" y="8" width="220" height="58" fill="${escapeXml(bg)}" fill-opacity="0.9" stroke="${escapeXml(fg)}" stroke-opacity="0.3"/>` +
    `<defs><linearGradient id="ql-scale">${stops}</linearGradient></defs>` +
    `<text x="16" y="26" font-family="${f}" font-size="12" font-weight="600" fill="${escapeXml(fg)}">${escapeXml(`${o.source || 'Results'}: ${METRIC_TEXT[m]}`)}</text>` +
    `<rect x="16" y="32" width="204" height="10" fill="url(#ql-scale)"/>` +
    `<text x="16" y="58" font-family="${f}" font-size="11" fill="${escapeXml(fg)}">${escapeXml(`${fmt(lo)} better`)}</text>` +
    `<text x="220" y="58" text-anchor="end" font-family="${f}" font-size="11" fill="${escapeXml(fg)}">${escapeXml(`worse ${fmt(hi)}`)}</text></g>`;
}
