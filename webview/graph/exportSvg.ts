/**
 * The current view as SVG: the items and edges inside the viewport, drawn as SVG elements with
 * text as <text> nodes (so the file is searchable and scales), in the theme's colours. Every model
 * string is XML-escaped: names are untrusted.
 */
import type { GraphView } from '../../src/protocol';
import { ItemKind, type LayoutResult } from './layout';
import { arrowHead, edgeShape } from './edgeShape';
import { BADGE_H, BADGE_W, CATEGORY, clip, edgeLabel, type Colours, type Decor, type Viewport } from './renderer';

export function escapeXml(s: string): string {
  // Characters XML 1.0 forbids outright are dropped; the five specials are escaped.
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const n2 = (x: number): string => String(Math.round(x * 100) / 100);

export interface SvgExtras {
  /** Overlay fills, text colours and precision badges per item, as the canvas draws them. */
  decor?: Decor;
  /** The document's title (default: the graph's name); escaped here. */
  title?: string;
  /** SVG drawn over the view in screen pixels (a legend), already escaped. */
  screen?: string;
}

export function viewToSvg(view: GraphView, layout: LayoutResult, vp: Viewport, size: { w: number; h: number }, c: Colours, extras: SvgExtras = {}): string {
  const decor = extras.decor;
  const { x: vx, y: vy, k } = vp;
  const x1 = vx + size.w / k;
  const y1 = vy + size.h / k;
  const items = layout.items;
  const inView = (i: number): boolean => {
    const it = items[i];
    return it.x + it.w >= vx && it.y + it.h >= vy && it.x <= x1 && it.y <= y1;
  };
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${size.w}" height="${size.h}" viewBox="${n2(vx)} ${n2(vy)} ${n2(size.w / k)} ${n2(size.h / k)}">`);
  out.push(`<title>${escapeXml(extras.title ?? (view.graphName || 'graph'))}</title>`);
  out.push(`<rect x="${n2(vx)}" y="${n2(vy)}" width="${n2(size.w / k)}" height="${n2(size.h / k)}" fill="${escapeXml(c.bg)}"/>`);
  const font = escapeXml(c.font);
  const mono = escapeXml(c.mono);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.kind !== ItemKind.Frame || !inView(i)) continue;
    const g = view.groups[it.id];
    out.push(`<g class="frame"><rect x="${n2(it.x)}" y="${n2(it.y)}" width="${n2(it.w)}" height="${n2(it.h)}" fill="${escapeXml(c.frameFill)}" stroke="${escapeXml(c.frameBorder)}"/>` +
      `<text x="${n2(it.x + 8)}" y="${n2(it.y + 16)}" font-family="${font}" font-size="12" fill="${escapeXml(c.muted)}">${escapeXml(clip(`▾ ${g.label}  (${g.size})`, (it.w - 12) / 6.5))}</text></g>`);
  }
  out.push(`<g class="edges" fill="none" stroke="${escapeXml(c.edge)}" stroke-width="1.2">`);
  const labels: string[] = [];
  for (const e of layout.edges) {
    if (!inView(e.a) && !inView(e.b)) continue;
    const s = edgeShape(e, items[e.a], items[e.b]);
    const d = [`M${n2(s.start[0])} ${n2(s.start[1])}`, ...s.segs.map((g) => g.c + g.v.map(n2).join(' '))].join('');
    const h = arrowHead(s).map(n2);
    out.push(`<path d="${d}"/><path d="M${h[0]} ${h[1]}L${h[2]} ${h[3]}L${h[4]} ${h[5]}Z" fill="${escapeXml(c.edge)}" stroke="none"/>`);
    const t = view.tensors[view.edges[e.edge].tensor];
    labels.push(`<text x="${n2(s.mid[0] + 6)}" y="${n2(s.mid[1] + 3)}">${escapeXml(e.count > 1 ? `×${e.count}` : edgeLabel(t))}</text>`);
  }
  out.push('</g>');
  out.push(`<g class="edge-labels" font-family="${mono}" font-size="10" fill="${escapeXml(c.muted)}">${labels.join('')}</g>`);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.kind === ItemKind.Frame || !inView(i)) continue;
    if (it.kind === ItemKind.Group) {
      const g = view.groups[it.id];
      const mix = g.opMix.map(([op, n]) => `${op}×${n}`).join(' ');
      const fill = decor?.fill[i] ?? null;
      const onFill = fill ? decor!.text[i] : null;
      out.push(`<g class="group"><rect x="${n2(it.x)}" y="${n2(it.y)}" width="${n2(it.w)}" height="${n2(it.h)}" fill="${escapeXml(fill ?? c.groupFill)}" stroke="${escapeXml(c.nodeBorder)}"/>` +
        `<text x="${n2(it.x + 8)}" y="${n2(it.y + 19)}" font-family="${font}" font-size="12" font-weight="600" fill="${escapeXml(onFill ?? c.fg)}">${escapeXml(clip(`▸ ${g.label}`, (it.w - 16) / 7))}</text>` +
        `<text x="${n2(it.x + 8)}" y="${n2(it.y + 40)}" font-family="${font}" font-size="11" fill="${escapeXml(onFill ?? c.muted)}">${escapeXml(clip(`${g.size} nodes · ${mix}`, (it.w - 16) / 6))}</text>${badgeSvg(decor, i, it, font)}</g>`);
      continue;
    }
    const node = view.nodes[it.id];
    const io = node.kind !== 'op';
    const cat = CATEGORY[node.opType];
    const fill = decor?.fill[i] ?? null;
    const onFill = fill ? decor!.text[i] : null;
    const parts = [`<g class="node" data-name="${escapeXml(node.name)}"><title>${escapeXml(`${node.opType} · ${node.name}`)}</title>`,
      `<rect x="${n2(it.x)}" y="${n2(it.y)}" width="${n2(it.w)}" height="${n2(it.h)}" fill="${escapeXml(fill ?? (io ? c.ioFill : c.nodeFill))}" stroke="${escapeXml(c.nodeBorder)}"/>`];
    if (cat && !io) parts.push(`<rect x="${n2(it.x)}" y="${n2(it.y)}" width="4" height="${n2(it.h)}" fill="${escapeXml(c.category[cat])}"/>`);
    parts.push(`<text x="${n2(it.x + it.w / 2)}" y="${n2(it.y + (io ? it.h / 2 + 4 : 18))}" text-anchor="middle" font-family="${font}" font-size="12" font-weight="600" fill="${escapeXml(onFill ?? (io ? c.ioFg : c.fg))}">${escapeXml(clip(io ? node.name : node.opType, (it.w - 10) / 7))}</text>`);
    if (!io) {
      const short = node.name.slice(node.name.lastIndexOf('/') + 1);
      parts.push(`<text x="${n2(it.x + it.w / 2)}" y="${n2(it.y + 32)}" text-anchor="middle" font-family="${font}" font-size="10" fill="${escapeXml(onFill ?? c.muted)}">${escapeXml(clip(short, (it.w - 10) / 5.6))}</text>`);
    }
    parts.push(badgeSvg(decor, i, it, font), '</g>');
    out.push(parts.join(''));
  }
  if (extras.screen) out.push(`<g class="screen" transform="translate(${n2(vx)} ${n2(vy)}) scale(${1 / k})">${extras.screen}</g>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Item i's precision badge as the canvas draws it: a tag on the top-right corner with its text inside. */
function badgeSvg(decor: Decor | undefined, i: number, it: { x: number; y: number; w: number }, font: string): string {
  const b = decor?.badge[i];
  if (!b) return '';
  const x = it.x + it.w - BADGE_W + 6;
  const y = it.y - BADGE_H / 2 - 2;
  const border = decor!.badgeBorder ? ` stroke="${escapeXml(decor!.badgeBorder)}"` : '';
  return `<g class="badge"><rect x="${n2(x)}" y="${n2(y)}" width="${BADGE_W}" height="${BADGE_H}" fill="${escapeXml(b.bg)}"${border}/>` +
    `<text x="${n2(x + BADGE_W / 2)}" y="${n2(y + BADGE_H / 2 + 3.5)}" text-anchor="middle" font-family="${font}" font-size="10" font-weight="700" fill="${escapeXml(b.fg)}">${escapeXml(b.text)}</text></g>`;
}
