/**
 * Calibrating tensors inside If branches and Loop bodies. onnxruntime returns only main-graph
 * tensors, so each body reduces its own tensors to their min and max and the vectors are threaded
 * up as extra outputs of the node that holds it:
 *  - If: each branch outputs its vectors and, in the slots of the other branch, +inf / -inf
 *    (a branch that did not run leaves its tensors' ranges untouched);
 *  - Loop: the vectors become scan outputs ([iterations, k]), reduced over the iterations after
 *    the loop, with one +inf / -inf row so a loop that ran no iteration also leaves them untouched.
 * Nested bodies thread the same way through every level. Scan bodies are not calibrated.
 * Only copies are changed: nodes and graphs on the way are copied, the model is not touched.
 */
import type { Attribute, Constant, Graph, Model, Node, Value } from '../model';
import { mainGraph } from '../model';
import type { TensorRange } from './calibrators';
import { defaultOpset } from './rewrite/graph';
import { allNames } from './subgraphs';

export interface NestedReductions {
  model: Model;
  /** Main-graph outputs: per-run min and max of every name in `names`, in that order. */
  min: string;
  max: string;
  names: string[];
}

/** The copy of `model` whose main graph also outputs min / max vectors of the `wanted` body tensors. */
export function withNestedReductions(model: Model, wanted: Map<Graph, string[]>): NestedReductions | undefined {
  if (![...wanted.values()].some((l) => l.length)) return undefined;
  const taken = allNames(model);
  const opset = defaultOpset(model);
  const fresh = (base: string): string => {
    let n = base;
    for (let i = 1; taken.has(n); i++) n = `${base}_${i}`;
    taken.add(n);
    return n;
  };
  const node = (opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = []): Node => (
    { name: fresh(`quantlens_calib_${opType}`), nameSynthesised: true, opType, domain: '', inputs, outputs, attributes, subgraphs: [] });
  const ints = (name: string, v: number): Attribute => ({ name, value: { type: 'int', value: v } });

  interface Built { graph: Graph; min?: string; max?: string; names: string[] }
  /** A copy of `g` that also computes the min / max vectors of `own` and of its bodies' tensors. */
  const build = (g: Graph, own: string[]): Built => {
    const head: Node[] = [];
    const tail: Node[] = [];
    const values = new Map<string, Value>(g.values);
    const graph: Graph = { ...g, values, outputs: [...g.outputs] };
    const val = (name: string, shape: (number | null)[] | null, dtype: 'float32' | 'int64' = 'float32'): string => {
      values.set(name, { name, type: { dtype, shape }, consumers: [] });
      return name;
    };
    const constant = (into: Node[], base: string, dtype: 'float32' | 'int64', shape: number[], bytes: Uint8Array): string => {
      const out = val(fresh(base), shape, dtype);
      const c: Constant = { name: out, dtype, shape, data: { kind: 'bytes', bytes } };
      into.push(node('Constant', [], [out], [{ name: 'value', value: { type: 'tensor', value: c } }]));
      return out;
    };
    const fill = (into: Node[], shape: number[], v: number): string =>
      constant(into, `quantlens_calib_${v > 0 ? 'inf' : 'ninf'}`, 'float32', shape, new Uint8Array(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v).buffer));
    const parts: { min: string; max: string }[] = [];
    const names: string[] = [];
    let shape1: string | undefined;
    const reduce = (t: string, op: 'ReduceMin' | 'ReduceMax'): string => {
      shape1 ??= constant(head, 'quantlens_calib_shape1', 'int64', [1], new Uint8Array(new BigInt64Array([1n]).buffer));
      const r = val(fresh(`${t}__calib_${op}`), []);
      tail.push(node(op, [t], [r], [ints('keepdims', 0)]));
      const v = val(fresh(`${r}_1d`), [1]);
      tail.push(node('Reshape', [r, shape1], [v]));
      return v;
    };
    for (const t of own) { parts.push({ min: reduce(t, 'ReduceMin'), max: reduce(t, 'ReduceMax') }); names.push(t); }

    const nodes = g.nodes.map((n) => {
      if (!n.subgraphs.length || (n.domain !== '' && n.domain !== 'ai.onnx')) return n;
      const graphAttr = (a: string): Graph | undefined => { const x = n.attributes.find((y) => y.name === a)?.value; return x?.type === 'graph' ? x.value : undefined; };
      const withGraphs = (repl: Record<string, Graph>, outputs: string[]): Node => ({
        ...n, outputs: [...n.outputs, ...outputs],
        attributes: n.attributes.map((a) => (repl[a.name] ? { ...a, value: { type: 'graph' as const, value: repl[a.name] } } : a)),
        subgraphs: n.subgraphs.map((s) => Object.entries(repl).find(([k]) => graphAttr(k) === s)?.[1] ?? s),
      });
      if (n.opType === 'If') {
        const th = graphAttr('then_branch'); const el = graphAttr('else_branch');
        if (!th || !el) return n;
        const bt = build(th, wanted.get(th) ?? []);
        const be = build(el, wanted.get(el) ?? []);
        const kt = bt.names.length; const ke = be.names.length;
        if (!kt && !ke) return n;
        // each branch fills both branches' slots: its own vectors, and +inf / -inf for the other's
        const slots = (b: Built, other: number, mineFirst: boolean): string[] => {
          const mine = b.names.length ? [b.min!, b.max!] : [];
          const rest = other ? [fill(b.graph.nodes, [other], Infinity), fill(b.graph.nodes, [other], -Infinity)] : [];
          return mineFirst ? [...mine, ...rest] : [...rest, ...mine];
        };
        bt.graph.outputs.push(...slots(bt, ke, true));
        be.graph.outputs.push(...slots(be, kt, false));
        const added: string[] = [];
        for (const k of [kt, ke]) {
          if (!k) continue;
          const lo = val(fresh('quantlens_calib_if_min'), [k]);
          const hi = val(fresh('quantlens_calib_if_max'), [k]);
          parts.push({ min: lo, max: hi });
          added.push(lo, hi);
        }
        names.push(...bt.names, ...be.names);
        return withGraphs({ then_branch: bt.graph, else_branch: be.graph }, added);
      }
      if (n.opType === 'Loop') {
        const body = graphAttr('body');
        if (!body) return n;
        const bb = build(body, wanted.get(body) ?? []);
        const k = bb.names.length;
        if (!k) return n;
        bb.graph.outputs.push(bb.min!, bb.max!); // scan outputs: one row per iteration
        /** [the scan output, its reduction over the iterations] */
        const acc = (v: number, op: 'ReduceMin' | 'ReduceMax'): [string, string] => {
          const scan = val(fresh(`quantlens_calib_loop_${op}`), [null, k]);
          const rows = val(fresh(`${scan}_rows`), [null, k]);
          tail.push(node('Concat', [fill(head, [1, k], v), scan], [rows], [ints('axis', 0)]));
          const out = val(fresh(`${scan}_all`), [k]);
          if (opset >= 18) tail.push(node(op, [rows, constant(head, 'quantlens_calib_axis0', 'int64', [1], new Uint8Array(new BigInt64Array([0n]).buffer))], [out], [ints('keepdims', 0)]));
          else tail.push(node(op, [rows], [out], [{ name: 'axes', value: { type: 'ints', value: [0] } }, ints('keepdims', 0)]));
          return [scan, out];
        };
        const [scanLo, lo] = acc(Infinity, 'ReduceMin');
        const [scanHi, hi] = acc(-Infinity, 'ReduceMax');
        parts.push({ min: lo, max: hi });
        names.push(...bb.names);
        return withGraphs({ body: bb.graph }, [scanLo, scanHi]);
      }
      return n;
    });
    graph.nodes = [...head, ...nodes, ...tail];
    if (!parts.length) return { graph, names: [] };
    const cat = (which: 'min' | 'max'): string => {
      const out = val(fresh(`quantlens_calib_nested_${which}`), [names.length]);
      graph.nodes.push(node('Concat', parts.map((p) => p[which]), [out], [ints('axis', 0)]));
      return out;
    };
    return { graph, min: cat('min'), max: cat('max'), names };
  };
  const b = build(mainGraph(model), []);
  if (!b.names.length) return undefined;
  b.graph.outputs.push(b.min!, b.max!);
  return { model: { ...model, graphs: [b.graph, ...model.graphs.slice(1)] }, min: b.min!, max: b.max!, names: b.names };
}

/** Running min / max of body tensors over the runs they ran in. */
export class NestedRanges {
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly seen: Int32Array;
  constructor(readonly names: string[]) {
    this.lo = new Float64Array(names.length).fill(Infinity);
    this.hi = new Float64Array(names.length).fill(-Infinity);
    this.seen = new Int32Array(names.length);
  }

  /** One run's vectors: +inf / -inf mark a body that did not run, NaN a tensor whose extremes are unknown. */
  add(lo: ArrayLike<number>, hi: ArrayLike<number>): void {
    for (let i = 0; i < this.names.length; i++) {
      if (!Number.isFinite(lo[i]) || !Number.isFinite(hi[i])) continue;
      if (lo[i] < this.lo[i]) this.lo[i] = lo[i];
      if (hi[i] > this.hi[i]) this.hi[i] = hi[i];
      this.seen[i]++;
    }
  }

  /**
   * Ranges of the tensors that ran at least once (symmetric: [-m, m]). A name listed twice (an
   * outer tensor both branches read) merges its entries.
   */
  ranges(symmetric: boolean): Record<string, TensorRange> {
    const merged = new Map<string, { lo: number; hi: number; seen: number }>();
    this.names.forEach((name, i) => {
      if (!this.seen[i]) return;
      const m = merged.get(name);
      if (!m) merged.set(name, { lo: this.lo[i], hi: this.hi[i], seen: this.seen[i] });
      else { m.lo = Math.min(m.lo, this.lo[i]); m.hi = Math.max(m.hi, this.hi[i]); m.seen += this.seen[i]; }
    });
    const out: Record<string, TensorRange> = {};
    for (const [name, { lo, hi, seen }] of merged) {
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      out[name] = { min: symmetric ? -m : lo, max: symmetric ? m : hi, dataMin: lo, dataMax: hi, count: 2 * seen, nonFinite: 0, batches: seen };
    }
    return out;
  }
}
