/**
 * Splits a long list of graph members (nodes and groups, in graph order) into groups a reader
 * recognises, for graphs or name scopes too big to lay out flat:
 * - stages: the stretches between downsamplings (a strided conv or pool starts a new stage);
 * - blocks: the stretches between the points where a single tensor carries everything forward
 *   (a residual block, a LayerNorm, an attention block end there);
 * - repeats: runs of blocks with the same op sequence (a transformer layer is four such blocks);
 * - where nothing else applies, balanced runs cut where the fewest tensors cross, labelled by the
 *   members at their ends ('layer.0 … layer.12'), never by index ranges.
 */
import type { GvGroup, GvNode, GvTensor } from './graphView';

export interface Unit {
  kind: 'g' | 'n';
  id: number;
}

export type SplitMember = Unit | { kind: 'split'; label: string; members: SplitMember[] };

export interface SplitContext {
  nodes: GvNode[];
  groups: GvGroup[];
  /** Raw members of every group (before splitting), to find the nodes below a group unit. */
  members: (readonly ['g' | 'n', number])[][];
  tensors: GvTensor[];
  /** Largest number of members a made group keeps. */
  cap: number;
  /** Tensor -> consuming node ids (built on first use). */
  consumers?: number[][];
}

interface Analysis {
  /** crossing[b]: tensors alive across the boundary between unit b and unit b + 1. */
  crossing: Int32Array;
  /** Whether a unit holds a downsampling node (a strided conv or pool). */
  down: boolean[];
  /** Op types of the unit's nodes, in order (for repeat detection). */
  sig: string[];
  /** The first downsampling node of each unit, or -1. */
  downNode: number[];
}

/** A strided conv or pool: graphView's key attributes show the stride as '/2'. */
export function isDownsampling(n: GvNode): boolean {
  return n.kind === 'op' && !!n.keyAttrs && /(^|\s)\/\d/.test(n.keyAttrs) && /conv|pool/i.test(n.opType);
}

function nodesUnder(ctx: SplitContext, u: Unit, out: number[]): void {
  if (u.kind === 'n') {
    out.push(u.id);
    return;
  }
  for (const [kind, id] of ctx.members[u.id]) nodesUnder(ctx, { kind, id }, out);
}

function analyse(units: Unit[], ctx: SplitContext): Analysis {
  if (!ctx.consumers) {
    const cons: number[][] = ctx.tensors.map(() => []);
    for (const n of ctx.nodes) for (const t of n.inputs) if (t >= 0) cons[t].push(n.id);
    ctx.consumers = cons;
  }
  const consumers = ctx.consumers;
  const len = units.length;
  const pos = new Map<number, number>();
  const under: number[][] = units.map((u, i) => {
    const list: number[] = [];
    nodesUnder(ctx, u, list);
    for (const n of list) pos.set(n, i);
    return list;
  });
  const diff = new Int32Array(len + 1);
  const down: boolean[] = [];
  const downNode: number[] = [];
  const sig: string[] = [];
  under.forEach((list, i) => {
    let dn = -1;
    for (const id of list) {
      const n = ctx.nodes[id];
      if (dn < 0 && isDownsampling(n)) dn = id;
      for (const t of n.outputs) {
        if (t < 0 || ctx.tensors[t].constant) continue;
        let last = -1;
        for (const c of consumers[t]) {
          const pc = pos.get(c);
          const at = pc === undefined ? len : pc;
          if (at > i && at > last) last = at;
        }
        if (last > i) {
          diff[i]++;
          diff[last]--;
        }
      }
    }
    down.push(dn >= 0);
    downNode.push(dn);
    sig.push(list.map((id) => ctx.nodes[id].opType).join(','));
  });
  const crossing = new Int32Array(Math.max(0, len - 1));
  let run = 0;
  for (let b = 0; b < len - 1; b++) {
    run += diff[b];
    crossing[b] = run;
  }
  return { crossing, down, sig, downNode };
}

/** Cuts the list before the given unit indices (sorted, each in 1..len-1). */
function cutAt(units: Unit[], cuts: number[]): Unit[][] {
  const parts: Unit[][] = [];
  let from = 0;
  for (const c of cuts) {
    if (c <= from || c >= units.length) continue;
    parts.push(units.slice(from, c));
    from = c;
  }
  parts.push(units.slice(from));
  return parts;
}

/** Stage boundaries: before each downsampling, moved back to where a single tensor crosses. */
function stageCuts(a: Analysis): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < a.down.length; i++) {
    if (!a.down[i]) continue;
    let b = i - 1;
    while (b >= 0 && a.crossing[b] > 1) b--;
    if (b >= 0 && b + 1 - (cuts.length ? cuts[cuts.length - 1] : 0) >= 3) cuts.push(b + 1);
  }
  return cuts;
}

/** Block boundaries: where one tensor carries everything and a branching stretch begins. */
function blockCuts(a: Analysis, len: number): number[] {
  const cuts: number[] = [];
  let start = 0;
  let branchy = false;
  let i = 0;
  while (i < len) {
    // A piece: units glued by boundaries that more than one tensor crosses.
    let j = i;
    while (j < len - 1 && a.crossing[j] > 1) j++;
    const isBranchy = j > i;
    if (isBranchy && i > start && (branchy || i - start >= 3)) {
      cuts.push(i);
      start = i;
      branchy = false;
    }
    branchy ||= isBranchy;
    i = j + 1;
  }
  return cuts;
}

/** Up to `k` parts of about equal size, each cut where the fewest tensors cross nearby. */
function balancedCuts(a: Analysis, len: number, k: number): number[] {
  const cuts: number[] = [];
  const step = len / k;
  for (let j = 1; j < k; j++) {
    const ideal = Math.round(j * step);
    let best = -1;
    const lo = Math.max(cuts.length ? cuts[cuts.length - 1] + 1 : 1, Math.round(ideal - step / 3));
    const hi = Math.min(len - 1, Math.round(ideal + step / 3));
    for (let c = lo; c <= hi; c++) if (best < 0 || a.crossing[c - 1] < a.crossing[best - 1]) best = c;
    if (best > 0) cuts.push(best);
  }
  return cuts;
}

function unitLabel(ctx: SplitContext, u: SplitMember | undefined): string {
  if (!u) return '';
  if (u.kind === 'split') return u.label;
  return u.kind === 'n' ? ctx.nodes[u.id].name || ctx.nodes[u.id].opType : ctx.groups[u.id].label;
}

/** '28×28' from a 4-D NCHW or NHWC shape with a square picture, else ''. */
function resolution(ctx: SplitContext, node: number): string {
  const t = ctx.nodes[node]?.outputs[0];
  const s = t !== undefined && t >= 0 ? ctx.tensors[t].shape : null;
  if (!s || s.length !== 4) return '';
  if (typeof s[2] === 'number' && s[2] === s[3]) return ` · ${s[2]}×${s[3]}`;
  if (typeof s[1] === 'number' && s[1] === s[2]) return ` · ${s[1]}×${s[2]}`;
  return '';
}

interface Item {
  label: string;
  units: Unit[];
  children?: Item[];
}

/** Groups consecutive items that repeat with a period of 2..8 items ('repeat 3' holds items 7-9 of period 3). */
function groupRepeats(items: Item[], sigs: string[]): Item[] {
  const m = items.length;
  for (let p = 2; p <= 8 && 2 * p <= m; p++) {
    let same = 0;
    for (let i = 0; i + p < m; i++) if (sigs[i] === sigs[i + p]) same++;
    if (same < 0.8 * (m - p)) continue;
    let i0 = 0;
    while (i0 + p < m && sigs[i0] !== sigs[i0 + p]) i0++;
    const out: Item[] = items.slice(0, i0);
    let k = 1;
    for (let i = i0; i < m; i += p) {
      const run = items.slice(i, i + p);
      out.push(run.length === 1 ? run[0] : { label: `repeat ${k++}`, units: run.flatMap((x) => x.units), children: run });
    }
    return out;
  }
  return items;
}

/** Balanced runs of items, labelled by the items at their ends. */
function groupRuns(items: Item[], cap: number): Item[] {
  const k = Math.min(cap, Math.ceil(Math.sqrt(items.length)));
  const size = Math.ceil(items.length / k);
  const out: Item[] = [];
  for (let i = 0; i < items.length; i += size) {
    const run = items.slice(i, i + size);
    out.push(run.length === 1 ? run[0] : { label: `${run[0].label} … ${run[run.length - 1].label}`, units: run.flatMap((x) => x.units), children: run });
  }
  return out;
}

/** Splits `units` into at most `ctx.cap` members, recursively, by the structure described above. */
export function structuralSplit(units: Unit[], ctx: SplitContext): SplitMember[] {
  if (units.length <= ctx.cap) return units;
  const a = analyse(units, ctx);
  let items: Item[];
  const stageParts = cutAt(units, stageCuts(a));
  if (stageParts.length >= 2) {
    let at = 0;
    items = stageParts.map((p, i) => {
      const first = a.downNode.slice(at, at + p.length).find((d) => d >= 0);
      at += p.length;
      return { label: `stage ${i + 1}${first !== undefined ? resolution(ctx, first) : ''}`, units: p };
    });
  } else {
    const blockParts = cutAt(units, blockCuts(a, units.length));
    if (blockParts.length >= 2) {
      let at = 0;
      const sigs: string[] = [];
      items = blockParts.map((p, i) => {
        sigs.push(a.sig.slice(at, at + p.length).join(';'));
        at += p.length;
        return { label: p.length === 1 ? unitLabel(ctx, p[0]) : `block ${i + 1}`, units: p };
      });
      if (items.length > ctx.cap) items = groupRepeats(items, sigs);
    } else {
      items = cutAt(units, balancedCuts(a, units.length, Math.ceil(units.length / ctx.cap))).map((p) => ({
        label: `${unitLabel(ctx, p[0])} … ${unitLabel(ctx, p[p.length - 1])}`,
        units: p,
      }));
    }
  }
  while (items.length > ctx.cap) items = groupRuns(items, ctx.cap);
  const materialise = (it: Item): SplitMember => {
    if (it.units.length === 1) return it.units[0];
    if (it.children) {
      let kids = it.children;
      while (kids.length > ctx.cap) kids = groupRuns(kids, ctx.cap);
      return { kind: 'split', label: it.label, members: kids.map(materialise) };
    }
    // No structure found that makes progress: equal parts, so the recursion always ends.
    if (it.units.length === units.length) {
      const size = Math.ceil(units.length / Math.ceil(units.length / ctx.cap));
      const parts: SplitMember[] = [];
      for (let i = 0; i < units.length; i += size) {
        const p = units.slice(i, i + size);
        parts.push(p.length === 1 ? p[0] : { kind: 'split', label: `${unitLabel(ctx, p[0])} … ${unitLabel(ctx, p[p.length - 1])}`, members: p });
      }
      return { kind: 'split', label: it.label, members: parts };
    }
    return { kind: 'split', label: it.label, members: structuralSplit(it.units, ctx) };
  };
  return items.map(materialise);
}
