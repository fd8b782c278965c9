/**
 * A narrow read-only hook for tests and benchmarks, installed as window.__qlGraph when the page
 * asked for it before load (the canvas has no DOM to query for geometry or colours).
 */
import type { GraphView } from '../../src/protocol';
import type { LayoutResult } from './layout';
import type { GraphMarks } from './marks';
import type { GraphCanvas } from './renderer';

export interface GraphDebugHook {
  /** Screen rectangle (client coordinates) of what shows a node, if laid out. */
  nodeClientRect(node: number): { x: number; y: number; w: number; h: number } | undefined;
  frameTimes(): number[];
  layoutMode(): 'worker' | 'main-thread';
  drawFrame(): number;
  /** Opens every group and lays out; resolves to the layout time in ms (benchmarks). */
  expandAll(): Promise<number>;
  /** Sets the open groups and lays out; resolves to false when a newer layout replaced this one. */
  setExpanded(groups: number[]): Promise<boolean>;
  layoutRestarts(): number;
  viewport(): { x: number; y: number; k: number };
  /** Overlay fill, badge text and multi-selection of the item showing `node` (marks and overlay tests). */
  itemDecor(node: number): { fill: string | null; badge: string | null; actual: string | null; selected: boolean } | undefined;
  /** Whether every outline row's label shows the current marks (rows out of view follow just after a frame). */
  outlineSettled(): boolean;
  selectedNodes(): number[];
  /** Durations of the coalesced marks/overlay rebuilds (one per frame at most). */
  refreshTimes(): number[];
}

/** Whether the page asked for the test hook: a global the test harness defines before the bundle loads. */
export function testHooksRequested(): boolean {
  return (window as unknown as { __qlTestHooks?: unknown }).__qlTestHooks === true;
}

export interface DebugParts {
  graph: GraphView;
  canvas: GraphCanvas;
  canvasEl: HTMLCanvasElement;
  marks: GraphMarks;
  expanded: Set<number>;
  layout(): LayoutResult | undefined;
  relayout(): Promise<boolean>;
  layoutMode(): 'worker' | 'main-thread';
  layoutRestarts(): number;
}

export function installDebugHook(p: DebugParts): void {
  const hook: GraphDebugHook = {
    nodeClientRect: (node) => {
      const layout = p.layout();
      const it = layout?.items[layout.repr[node]];
      if (!it) return undefined;
      const r = p.canvasEl.getBoundingClientRect();
      const { x, y, k } = p.canvas.vp;
      return { x: r.left + (it.x - x) * k, y: r.top + (it.y - y) * k, w: it.w * k, h: it.h * k };
    },
    frameTimes: () => [...p.canvas.frameTimes],
    layoutMode: p.layoutMode,
    expandAll: async () => {
      const t = performance.now();
      for (const g of p.graph.groups) p.expanded.add(g.id);
      await p.relayout();
      return performance.now() - t;
    },
    setExpanded: (groups) => {
      p.expanded.clear();
      for (const g of [0, ...groups]) p.expanded.add(g);
      return p.relayout();
    },
    layoutRestarts: p.layoutRestarts,
    viewport: () => ({ ...p.canvas.vp }),
    itemDecor: (node) => {
      const i = p.layout()?.repr[node];
      const d = p.canvas.decor;
      if (i === undefined || !d) return undefined;
      return { fill: d.fill[i] ?? null, badge: d.badge[i]?.text ?? null, actual: d.actual[i]?.text ?? null, selected: d.selected?.[i] === 1 };
    },
    selectedNodes: () => p.marks.selection.nodes(),
    refreshTimes: () => [...p.marks.refreshTimes],
    outlineSettled: () => p.marks.outlineSettled(),
    drawFrame: () => {
      const t = performance.now();
      p.canvas.draw();
      return performance.now() - t;
    },
  };
  (window as unknown as { __qlGraph?: GraphDebugHook }).__qlGraph = hook;
}
