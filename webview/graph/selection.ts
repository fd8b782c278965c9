/**
 * The graph's multi-selection: a set of node ids with an anchor for Shift ranges. Single click
 * replaces, Ctrl/Cmd-click toggles, Shift-click adds the range between the anchor and the clicked
 * row in outline order, a rubber band adds what it encloses. Every change is reported once
 * (`onChange`), so the host always knows what "Mark Selected Layers As…" acts on.
 */
export class NodeSelection {
  private readonly set = new Set<number>();
  /** The row (in outline order: a list of node-id lists) a Shift range starts from. */
  anchor: number[] | undefined;
  onChange: ((nodes: number[]) => void) | undefined;

  has(node: number): boolean {
    return this.set.has(node);
  }

  get size(): number {
    return this.set.size;
  }

  /** The selected node ids, ascending. */
  nodes(): number[] {
    return [...this.set].sort((a, b) => a - b);
  }

  /** Replaces the selection. */
  replace(nodes: Iterable<number>, anchor?: number[]): void {
    const next = new Set(nodes);
    if (anchor) this.anchor = anchor;
    if (next.size === this.set.size && [...next].every((n) => this.set.has(n))) return;
    this.set.clear();
    for (const n of next) this.set.add(n);
    this.changed();
  }

  /** Ctrl/Cmd-click and Space: removes `nodes` when all are selected, else adds them. */
  toggle(nodes: number[]): void {
    if (!nodes.length) return;
    const all = nodes.every((n) => this.set.has(n));
    for (const n of nodes) {
      if (all) this.set.delete(n);
      else this.set.add(n);
    }
    this.anchor = nodes;
    this.changed();
  }

  add(nodes: Iterable<number>): void {
    const before = this.set.size;
    for (const n of nodes) this.set.add(n);
    if (this.set.size !== before) this.changed();
  }

  clear(): void {
    this.anchor = undefined;
    if (!this.set.size) return;
    this.set.clear();
    this.changed();
  }

  private changed(): void {
    this.onChange?.(this.nodes());
  }
}

/**
 * The node ids of the rows between `from` and `to` inclusive (indices into `rows`, outline order,
 * either direction); a row is the list of nodes it shows (one node, or a collapsed group's members).
 */
export function rangeOf(rows: number[][], from: number, to: number): number[] {
  if (from < 0 || to < 0) return [];
  const [a, b] = from <= to ? [from, to] : [to, from];
  const out: number[] = [];
  for (let i = a; i <= b && i < rows.length; i++) out.push(...rows[i]);
  return out;
}

/** Whether two rectangles (x, y, w, h) overlap. */
export function intersects(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
