/**
 * Compound layout of the visible part of a graph: every expanded group is laid out on its own
 * with dagre (its direct members only: nodes and child groups as boxes), and nested by size. A
 * group's layout is cached until a group below it is expanded or collapsed, so expanding a group
 * lays out that group and re-places only its ancestors. Runs in the layout worker; it has no DOM
 * dependency, so it can also run on the main thread when a worker cannot start.
 */
import { Graph as DagreGraph, layout as dagreLayout } from '@dagrejs/dagre';
import type { GraphView } from '../../src/protocol';

/** The part of the graph view the layout needs (sent once to the worker). */
export interface LayoutInput {
  opTypes: string[];
  nodeGroup: number[];
  groups: { parent: number; groups: number[]; nodes: number[]; label: string; size: number }[];
  /** from, to pairs, flattened. */
  edges: number[];
}

/** Node: an op (or graph input/output); Group: a collapsed group box; Frame: an expanded group. */
export const ItemKind = { Node: 0, Group: 1, Frame: 2 } as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

export interface LayoutItem {
  kind: ItemKind;
  /** Node index (Node) or group index (Group: collapsed, Frame: expanded). */
  id: number;
  /** Top-left corner and size, in world coordinates. */
  x: number;
  y: number;
  w: number;
  h: number;
  depth: number;
  /** Item index of the enclosing frame, -1 at the top level. */
  parent: number;
}

export interface LayoutEdge {
  /** Item indices of the visible endpoints (a node, or the collapsed group hiding it). */
  a: number;
  b: number;
  /** A representative graph-view edge index (for the tensor label), and how many it stands for. */
  edge: number;
  count: number;
  /**
   * Dagre's route, flattened x, y pairs in world coordinates, from the border of `a` to the border
   * of `b`, when both sit in the same frame (routes are laid out per frame); otherwise absent and
   * the edge is drawn as a curve between the boxes.
   */
  points?: number[];
}

export interface LayoutResult {
  /** Pre-order: a frame comes before its members, so painting in order nests correctly. */
  items: LayoutItem[];
  edges: LayoutEdge[];
  width: number;
  height: number;
  /** Node index → item index of what shows it (-1 never: every node is represented). */
  repr: Int32Array;
  ms: number;
}

export const NODE_H = 40;
export const GROUP_H = 52;
export const FRAME_PAD = 14;
export const FRAME_HEADER = 24;

export function nodeWidth(opType: string): number {
  return Math.min(220, Math.max(96, Math.round(opType.length * 7.2 + 28)));
}

export function groupWidth(label: string): number {
  return Math.min(260, Math.max(170, Math.round(label.length * 7 + 40)));
}

export function layoutInputOf(view: GraphView): LayoutInput {
  const edges: number[] = new Array(view.edges.length * 2);
  view.edges.forEach((e, i) => {
    edges[2 * i] = e.from;
    edges[2 * i + 1] = e.to;
  });
  return {
    // Box widths follow what the box shows on its first line: the op type and its key attributes.
    opTypes: view.nodes.map((n) => (n.keyAttrs ? `${n.opType} ${n.keyAttrs}` : n.opType)),
    nodeGroup: view.nodes.map((n) => n.group),
    groups: view.groups.map((g) => ({ parent: g.parent, groups: g.groups, nodes: g.nodes, label: g.label, size: g.size })),
    edges,
  };
}

interface Local {
  w: number;
  h: number;
  /** Member positions relative to the group's content origin: [isGroup, id, x, y, w, h]. */
  members: { group: boolean; id: number; x: number; y: number; w: number; h: number }[];
  /** Dagre's edge routes between members, relative to the content origin, by `from|to` member key. */
  routes: Map<string, number[]>;
}

export class LayoutEngine {
  private readonly cache = new Map<number, Local>();
  private expanded = new Set<number>([0]);
  /** Per group: member pairs ('g3' / 'n7' keys) of the edges whose endpoints meet in that group. */
  private readonly memberEdges = new Map<number, [string, string][]>();

  constructor(private readonly input: LayoutInput) {
    const chain = (n: number): number[] => {
      const c: number[] = [];
      for (let g = input.nodeGroup[n]; g >= 0; g = input.groups[g].parent) c.push(g);
      return c.reverse();
    };
    const chains = new Map<number, number[]>();
    const chainOf = (n: number): number[] => {
      let c = chains.get(n);
      if (!c) chains.set(n, (c = chain(n)));
      return c;
    };
    const seen = new Set<string>();
    for (let i = 0; i < input.edges.length; i += 2) {
      const a = input.edges[i];
      const b = input.edges[i + 1];
      const ca = chainOf(a);
      const cb = chainOf(b);
      let d = 0;
      while (d + 1 < ca.length && d + 1 < cb.length && ca[d + 1] === cb[d + 1]) d++;
      const lca = ca[d];
      const ka = d + 1 < ca.length ? `g${ca[d + 1]}` : `n${a}`;
      const kb = d + 1 < cb.length ? `g${cb[d + 1]}` : `n${b}`;
      if (ka === kb) continue;
      const key = `${lca}:${ka}:${kb}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let list = this.memberEdges.get(lca);
      if (!list) this.memberEdges.set(lca, (list = []));
      list.push([ka, kb]);
    }
  }

  /** Replaces the expanded set; drops cached layouts of groups whose contents changed. */
  setExpanded(ids: Iterable<number>): void {
    const next = new Set(ids);
    next.add(0);
    for (const g of new Set([...next, ...this.expanded])) {
      if (next.has(g) !== this.expanded.has(g)) {
        // The toggled group and all its ancestors change size or contents.
        for (let p = g; p >= 0; p = this.input.groups[p].parent) this.cache.delete(p);
      }
    }
    this.expanded = next;
  }

  isExpanded(g: number): boolean {
    return this.expanded.has(g);
  }

  private local(g: number): Local {
    const hit = this.cache.get(g);
    if (hit) return hit;
    const grp = this.input.groups[g];
    const dg = new DagreGraph();
    dg.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 34, edgesep: 10, marginx: 0, marginy: 0 });
    dg.setDefaultEdgeLabel(() => ({}));
    const sizes = new Map<string, [number, number]>();
    for (const c of grp.groups) {
      let size: [number, number];
      if (this.expanded.has(c)) {
        const sub = this.local(c);
        size = [Math.max(sub.w + 2 * FRAME_PAD, groupWidth(this.input.groups[c].label)), sub.h + FRAME_HEADER + 2 * FRAME_PAD];
      } else {
        size = [groupWidth(this.input.groups[c].label), GROUP_H];
      }
      sizes.set(`g${c}`, size);
    }
    for (const n of grp.nodes) sizes.set(`n${n}`, [nodeWidth(this.input.opTypes[n]), NODE_H]);
    for (const [k, [w, h]] of sizes) dg.setNode(k, { width: w, height: h });
    for (const [a, b] of this.memberEdges.get(g) ?? []) dg.setEdge(a, b);
    dagreLayout(dg);
    const members: Local['members'] = [];
    let w = 0;
    let h = 0;
    for (const [k, [mw, mh]] of sizes) {
      const p = dg.node(k);
      const x = p.x - mw / 2;
      const y = p.y - mh / 2;
      members.push({ group: k[0] === 'g', id: Number(k.slice(1)), x, y, w: mw, h: mh });
      w = Math.max(w, x + mw);
      h = Math.max(h, y + mh);
    }
    // Keep graph order (dagre's map order is insertion order, groups first): sort by position so
    // the outline reads top to bottom.
    members.sort((p, q) => p.y - q.y || p.x - q.x);
    const routes = new Map<string, number[]>();
    for (const [a, b] of this.memberEdges.get(g) ?? []) {
      const pts = dg.edge(a, b)?.points as { x: number; y: number }[] | undefined;
      if (pts && pts.length >= 2 && pts.every((q) => Number.isFinite(q.x) && Number.isFinite(q.y))) routes.set(`${a}|${b}`, pts.flatMap((q) => [q.x, q.y]));
    }
    const local: Local = { w, h, members, routes };
    this.cache.set(g, local);
    return local;
  }

  run(): LayoutResult {
    const t0 = performance.now();
    const items: LayoutItem[] = [];
    const repr = new Int32Array(this.input.opTypes.length).fill(-1);
    const claim = (g: number, item: number): void => {
      const stack = [g];
      while (stack.length) {
        const x = this.input.groups[stack.pop()!];
        for (const n of x.nodes) repr[n] = item;
        for (const c of x.groups) stack.push(c);
      }
    };
    /** Content origin of every laid-out group (frames and the root). */
    const origins = new Map<number, [number, number]>();
    const emit = (g: number, ox: number, oy: number, depth: number, parent: number): void => {
      origins.set(g, [ox, oy]);
      for (const m of this.local(g).members) {
        const x = ox + m.x;
        const y = oy + m.y;
        const idx = items.length;
        if (!m.group) {
          items.push({ kind: ItemKind.Node, id: m.id, x, y, w: m.w, h: m.h, depth, parent });
          repr[m.id] = idx;
        } else if (this.expanded.has(m.id)) {
          items.push({ kind: ItemKind.Frame, id: m.id, x, y, w: m.w, h: m.h, depth, parent });
          emit(m.id, x + FRAME_PAD, y + FRAME_HEADER + FRAME_PAD, depth + 1, idx);
        } else {
          items.push({ kind: ItemKind.Group, id: m.id, x, y, w: m.w, h: m.h, depth, parent });
          claim(m.id, idx);
        }
      }
    };
    const root = this.local(0);
    emit(0, 0, 0, 0, -1);
    const edges: LayoutEdge[] = [];
    const byPair = new Map<number, LayoutEdge>();
    const span = items.length + 1;
    for (let i = 0; i < this.input.edges.length; i += 2) {
      const a = repr[this.input.edges[i]];
      const b = repr[this.input.edges[i + 1]];
      if (a < 0 || b < 0 || a === b) continue;
      const key = a * span + b;
      const e = byPair.get(key);
      if (e) e.count++;
      else {
        const ne: LayoutEdge = { a, b, edge: i / 2, count: 1 };
        const points = this.route(items, origins, a, b);
        if (points) ne.points = points;
        byPair.set(key, ne);
        edges.push(ne);
      }
    }
    return { items, edges, width: root.w, height: root.h, repr, ms: performance.now() - t0 };
  }

  /** Dagre's route between items `a` and `b` in world coordinates, when both are members of one frame. */
  private route(items: LayoutItem[], origins: Map<number, [number, number]>, a: number, b: number): number[] | undefined {
    const pa = items[a].parent;
    if (pa !== items[b].parent) return undefined;
    const g = pa < 0 ? 0 : items[pa].id;
    const key = (it: LayoutItem) => `${it.kind === ItemKind.Node ? 'n' : 'g'}${it.id}`;
    const local = this.cache.get(g);
    const o = origins.get(g);
    const pts = local?.routes.get(`${key(items[a])}|${key(items[b])}`);
    if (!pts || !o) return undefined;
    return pts.map((v, i) => v + o[i % 2]);
  }
}
