/**
 * The graph view's saved state (open groups, selection, viewport) through the webview's
 * getState/setState: which graph it belongs to, what is safe to restore from it, the groups open
 * at first when nothing is saved, and a debounced saver.
 */
import type { GraphView } from '../../src/protocol';
import type { Selection } from './properties';

/** What survives hiding the tab or reloading the window (through the webview's getState/setState). */
export interface GraphViewState {
  /** Which graph the state belongs to: it is ignored for any other. */
  key: string;
  expanded: number[];
  selection: Selection;
  viewport?: { x: number; y: number; k: number };
}

export function stateKey(fileName: string, g: GraphView): string {
  return `${fileName}|${g.nodes.length}|${g.edges.length}|${g.groups.length}`;
}

/** Items visible at first: open groups breadth-first while the view stays about this size. */
const INITIAL_BUDGET = 80;

/** Groups to open at first, breadth-first, so the first view shows structure, not one box. */
export function initialExpanded(view: GraphView, budget = INITIAL_BUDGET): number[] {
  const open = [0];
  let visible = view.groups[0].groups.length + view.groups[0].nodes.length;
  const queue = [...view.groups[0].groups];
  while (queue.length) {
    const g = queue.shift()!;
    const grp = view.groups[g];
    const extra = grp.groups.length + grp.nodes.length - 1;
    // A group of one costs nothing to open (a lone node in its own scope shows at once).
    if (extra > 0 && visible + extra > budget) continue;
    visible += extra;
    open.push(g);
    queue.push(...grp.groups);
  }
  return open;
}

export interface RestoredView {
  expanded: Set<number>;
  /** Selection and viewport to apply after the first layout (undefined: nothing saved for this graph). */
  pending: { selection: Selection; viewport?: GraphViewState['viewport'] } | undefined;
}

/** What a saved state restores for `view`: only ids and numbers that are valid for this graph. */
export function restoreView(view: GraphView, key: string, state: GraphViewState | undefined): RestoredView {
  const saved = state?.key === key ? state : undefined;
  const valid = (s: Selection): boolean => !!s && Number.isInteger(s.id) && s.id >= 0 && s.id < (s.kind === 'node' ? view.nodes.length : view.groups.length);
  return {
    pending: saved && {
      selection: valid(saved.selection) ? saved.selection : null,
      viewport: saved.viewport && [saved.viewport.x, saved.viewport.y, saved.viewport.k].every(Number.isFinite) && saved.viewport.k > 0 ? saved.viewport : undefined,
    },
    expanded: saved
      ? new Set([0, ...saved.expanded.filter((g) => Number.isInteger(g) && g > 0 && g < view.groups.length)])
      : new Set(initialExpanded(view)),
  };
}

/** Saves the state a moment after the last change (panning saves once, not every frame). */
export class StateSaver {
  private timer: number | undefined;
  private stopped = false;

  constructor(private readonly read: () => GraphViewState, private readonly save: ((state: GraphViewState) => void) | undefined) {}

  schedule(): void {
    if (!this.save) return;
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      if (!this.stopped) this.save?.(this.read());
    }, 150);
  }

  dispose(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
