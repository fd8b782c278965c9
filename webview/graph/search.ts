/**
 * Search in the graph view: matching nodes by name, op type or tensor name, the result count, the
 * highlight of the items showing matches, and stepping through results (Enter / Shift+Enter, the
 * arrows, the toolbar buttons).
 */
import type { GraphView, GvNode } from '../../src/protocol';
import { h } from '../dom';
import type { LayoutResult } from './layout';
import type { GraphCanvas } from './renderer';

/** Node ids matching the query (case-insensitive substring of name, op type, or a tensor it writes or a constant it reads). */
export function searchNodes(g: GraphView, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const tensorHit = g.tensors.map((t) => t.name.toLowerCase().includes(q));
  // A folded constant-only node is found at the nodes that read what it computes.
  const foldedHit = (t: number): boolean => !!g.tensors[t].computedBy && (g.tensors[t].computedBy!.name.toLowerCase().includes(q) || g.tensors[t].computedBy!.opType.toLowerCase().includes(q));
  // A tensor is found at the node that writes it; constants (weights) at the nodes that read them.
  const hit = (n: GvNode): boolean =>
    n.name.toLowerCase().includes(q) || n.opType.toLowerCase().includes(q) ||
    n.outputs.some((t) => t >= 0 && tensorHit[t]) || n.inputs.some((t) => t >= 0 && (tensorHit[t] || foldedHit(t)) && g.tensors[t].producer < 0);
  return g.nodes.filter(hit).map((n) => n.id);
}

export interface SearchHost {
  graph: GraphView;
  canvas: GraphCanvas;
  layout(): LayoutResult | undefined;
  /** Selects and reveals a result. */
  show(node: number): void;
  listen<K extends keyof HTMLElementEventMap>(el: HTMLElement, type: K, fn: (ev: HTMLElementEventMap[K]) => void): void;
}

export class GraphSearch {
  readonly input: HTMLInputElement;
  readonly count: HTMLElement;
  /** The matching node ids, in graph order. */
  matches: number[] = [];
  private index = -1;

  constructor(private readonly host: SearchHost) {
    this.input = h('input', {
      type: 'search', class: 'qlg-search', placeholder: 'Search name, op type, tensor', 'aria-label': 'Search nodes by name, op type or tensor name',
      'data-testid': 'graph-search', spellcheck: 'false',
    });
    this.count = h('span', { class: 'qlg-count', 'data-testid': 'graph-search-count', 'aria-live': 'polite' });
    this.wire();
  }

  run(): void {
    this.matches = searchNodes(this.host.graph, this.input.value);
    this.index = -1;
    this.highlight();
    this.updateCount();
  }

  /** Marks the items showing matches on the canvas (after a search and after every layout). */
  highlight(): void {
    const set = new Set<number>();
    const layout = this.host.layout();
    if (layout) for (const n of this.matches) set.add(layout.repr[n]);
    this.host.canvas.matchItems = set;
    this.host.canvas.requestDraw();
  }

  /** Moves to the next (1) or previous (-1) result and selects it. */
  step(d: 1 | -1): void {
    if (!this.matches.length) return;
    this.index = this.index < 0 ? (d > 0 ? 0 : this.matches.length - 1) : (this.index + d + this.matches.length) % this.matches.length;
    this.updateCount();
    this.host.show(this.matches[this.index]);
  }

  private updateCount(): void {
    const q = this.input.value.trim();
    this.count.textContent = !q ? '' : this.matches.length === 0 ? 'No results' : `${this.index + 1 > 0 ? this.index + 1 : '–'} / ${this.matches.length}`;
  }

  private wire(): void {
    let timer: number | undefined;
    this.host.listen(this.input, 'input', () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => this.run(), 60);
    });
    this.host.listen(this.input, 'keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        clearTimeout(timer);
        // Make sure the results match what is typed before stepping.
        const fresh = searchNodes(this.host.graph, this.input.value);
        if (fresh.length !== this.matches.length || fresh.some((x, i) => x !== this.matches[i])) this.run();
        this.step(ev.key === 'ArrowUp' || (ev.key === 'Enter' && ev.shiftKey) ? -1 : 1);
        ev.preventDefault();
      } else if (ev.key === 'Escape') {
        this.input.value = '';
        this.run();
      }
    });
  }
}
