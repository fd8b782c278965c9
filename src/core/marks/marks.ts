/**
 * The precision marks a user puts on a model's layers: node name -> precision. One user intent
 * ("set these 3 layers to int16") is one MarkEdit that records what it replaced, so it is its own
 * inverse: undo applies `before`, redo applies `after`. The editor keeps the edits; this module
 * knows nothing of VS Code.
 */
import type { GraphView } from '../graphView';
import { PRECISIONS, type Precision } from '../quant/plan';

export type { Precision };
export { PRECISIONS };

export interface MarkChange {
  node: string;
  /** The mark before the edit; undefined = unmarked. */
  before?: Precision;
  /** The mark after the edit; undefined = unmarked. */
  after?: Precision;
}

export interface MarkEdit {
  /** What the user did, for the Edit menu: "Set 3 layers to int16". */
  label: string;
  changes: MarkChange[];
}

/** The current marks with the operations the editor needs. */
export class MarkSet {
  private readonly marks = new Map<string, Precision>();

  constructor(initial?: Readonly<Record<string, Precision>>) {
    if (initial) for (const [n, p] of Object.entries(initial)) this.marks.set(n, p);
  }

  get size(): number {
    return this.marks.size;
  }

  get(node: string): Precision | undefined {
    return this.marks.get(node);
  }

  /**
   * Sets (or with `undefined` clears) the mark of every node in `nodes` and returns the edit, or
   * undefined when nothing changed (an intent that changes nothing is no edit: no undo entry, no
   * dirty document).
   */
  set(nodes: Iterable<string>, precision: Precision | undefined, label?: string): MarkEdit | undefined {
    const changes: MarkChange[] = [];
    const seen = new Set<string>();
    for (const node of nodes) {
      if (seen.has(node)) continue;
      seen.add(node);
      const before = this.marks.get(node);
      if (before === precision) continue;
      changes.push({ node, before, after: precision });
    }
    if (changes.length === 0) return undefined;
    const edit = { label: label ?? markLabel(changes, precision), changes };
    this.apply(edit, 'redo');
    return edit;
  }

  /** Replaces every mark with `plan` (an external change of the recipe, a plan from autotune). */
  replaceAll(plan: Readonly<Record<string, Precision>>, label: string): MarkEdit | undefined {
    const changes: MarkChange[] = [];
    for (const [node, before] of this.marks) {
      const after = Object.hasOwn(plan, node) ? plan[node] : undefined;
      if (after !== before) changes.push({ node, before, after });
    }
    for (const [node, after] of Object.entries(plan)) {
      if (!this.marks.has(node)) changes.push({ node, before: undefined, after });
    }
    if (changes.length === 0) return undefined;
    const edit = { label, changes };
    this.apply(edit, 'redo');
    return edit;
  }

  /** Applies an edit forwards (redo) or backwards (undo). */
  apply(edit: MarkEdit, direction: 'undo' | 'redo'): void {
    for (const c of edit.changes) {
      const p = direction === 'redo' ? c.after : c.before;
      if (p === undefined) this.marks.delete(c.node);
      else this.marks.set(c.node, p);
    }
  }

  /** The marks as a plain object with sorted keys (stable files, stable diffs). */
  toPlan(): Record<string, Precision> {
    const out: Record<string, Precision> = {};
    for (const n of [...this.marks.keys()].sort()) out[n] = this.marks.get(n)!;
    return out;
  }

  /** Counts per precision, in PRECISIONS order: the status bar's "int8 ×48, int16 ×3". */
  counts(): Array<[Precision, number]> {
    const c = new Map<Precision, number>();
    for (const p of this.marks.values()) c.set(p, (c.get(p) ?? 0) + 1);
    return PRECISIONS.filter((p) => c.has(p)).map((p) => [p, c.get(p)!]);
  }
}

/** "Set Conv_3 to int16", "Set 3 layers to int16", "Clear the mark on Conv_3", "Clear 2 marks". */
export function markLabel(changes: readonly MarkChange[], precision: Precision | undefined): string {
  const one = changes.length === 1 ? changes[0]!.node : undefined;
  if (precision === undefined) return one !== undefined ? `Clear the mark on ${one}` : `Clear ${changes.length} marks`;
  return one !== undefined ? `Set ${one} to ${precision}` : `Set ${changes.length} layers to ${precision}`;
}

/** Summary line for the status bar: "int8 ×48, int16 ×3, float ×2", or undefined with no marks. */
export function planSummary(counts: ReadonlyArray<[Precision, number]>): string | undefined {
  return counts.length ? counts.map(([p, n]) => `${p} ×${n}`).join(', ') : undefined;
}

/** Marks naming nodes that are not in the model (the model changed since they were made). */
export function unknownMarks(plan: Readonly<Record<string, Precision>>, nodeNames: ReadonlySet<string>): string[] {
  return Object.keys(plan).filter((n) => !nodeNames.has(n)).sort();
}

/**
 * Every node name a graph view knows: its op nodes and the constant-only nodes it folded into their
 * consumers (a mark may name those too; they exist in the model).
 */
export function viewNodeNames(graph: Pick<GraphView, 'nodes' | 'tensors'>): Set<string> {
  const names = new Set<string>();
  for (const n of graph.nodes) if (n.kind === 'op') names.add(n.name);
  for (const t of graph.tensors) if (t.computedBy) names.add(t.computedBy.name);
  return names;
}
