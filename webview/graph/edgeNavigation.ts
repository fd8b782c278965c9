/**
 * Keyboard navigation along the graph's edges: Down to a consumer, Up to a producer, Left and Right
 * among the siblings of where the last move arrived; Down on a group goes to its first node.
 */
import type { GraphView } from '../../src/protocol';
import type { Selection } from './properties';

export class EdgeNavigator {
  private readonly succ: number[][];
  private readonly pred: number[][];
  /** Sibling navigation context for Left/Right: the list we last moved within. */
  private nav: { list: number[]; index: number } | undefined;

  constructor(private readonly g: GraphView) {
    this.succ = g.nodes.map(() => []);
    this.pred = g.nodes.map(() => []);
    for (const e of g.edges) {
      if (!this.succ[e.from].includes(e.to)) this.succ[e.from].push(e.to);
      if (!this.pred[e.to].includes(e.from)) this.pred[e.to].push(e.from);
    }
  }

  /**
   * Where an arrow key moves from `s`: a node to select, null when the key is handled but nothing
   * moves, undefined when the key does nothing here (the page may use it).
   */
  move(s: Selection, key: string): number | null | undefined {
    const g = this.g;
    if (!s) return (g.nodes.find((n) => n.kind === 'input') ?? g.nodes[0])?.id ?? null;
    if (s.kind === 'group') {
      if (key !== 'ArrowDown') return undefined;
      // Into the group: its first node in graph order.
      let first = Infinity;
      const stack = [s.id];
      while (stack.length) {
        const x = g.groups[stack.pop()!];
        for (const n of x.nodes) first = Math.min(first, n);
        stack.push(...x.groups);
      }
      return first !== Infinity ? first : null;
    }
    const n = s.id;
    if (key === 'ArrowDown' || key === 'ArrowUp') {
      const list = key === 'ArrowDown' ? this.succ[n] : this.pred[n];
      if (!list.length) return null;
      // Remember the siblings of where we arrive, for Left/Right.
      this.nav = { list, index: 0 };
      return list[0];
    }
    if (!this.nav || this.nav.list[this.nav.index] !== n) {
      const p = this.pred[n][0];
      const sibs = p !== undefined ? this.succ[p] : [];
      this.nav = { list: sibs.length ? sibs : [n], index: Math.max(0, sibs.indexOf(n)) };
    }
    const d = key === 'ArrowRight' ? 1 : -1;
    this.nav.index = (this.nav.index + d + this.nav.list.length) % this.nav.list.length;
    return this.nav.list[this.nav.index];
  }
}
