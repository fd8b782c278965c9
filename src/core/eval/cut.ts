/**
 * Cutting a model below one node: the part of the graph whose values change when that node's
 * inputs change. In a sensitivity configuration that switches one layer (layer i alone quantized,
 * or every layer but i), every node that is not downstream of layer i computes exactly what it
 * computes in the base configuration (all float, or all quantized); only the downstream part has
 * to run again, fed with the base run's values at the cut. The cut keeps the nodes' names, inputs,
 * attributes and constant weights, so onnxruntime runs the same kernels on the same values as in
 * the whole configuration model, and the output is bit-identical.
 */
import { mainGraph, type Graph, type Model, type Node, type TensorType } from '../model';

export interface Cut {
  /** The nodes to run, in graph order: `start`, what depends on it and leads to the output, and the constant-only nodes feeding those. */
  nodes: Node[];
  /** Tensors the cut reads that the rest of the graph computes (or graph inputs): fed from the base run. */
  frontier: string[];
}

/**
 * The cut of `g` at `start` (a node of g) for `output`; undefined when the output does not depend
 * on `start`, or when a node it would keep holds subgraphs (their outer-scope reads are not
 * followed), and the configuration is then run whole.
 */
export function cutBelow(g: Graph, start: Node, output: string): Cut | undefined {
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const x of n.inputs) if (x) (consumers.get(x) ?? consumers.set(x, []).get(x)!).push(n);
  }
  const downstream = new Set<Node>([start]);
  const queue = [start];
  while (queue.length) {
    for (const o of queue.pop()!.outputs) for (const c of consumers.get(o) ?? []) if (!downstream.has(c)) { downstream.add(c); queue.push(c); }
  }
  const last = producer.get(output);
  if (!last || !downstream.has(last)) return undefined;
  const isConstant = constantNodes(g, producer);
  // from the output back: downstream nodes it depends on, and constant-only nodes feeding them
  const keep = new Set<Node>([last]);
  const back = [last];
  while (back.length) {
    for (const x of back.pop()!.inputs) {
      const p = x ? producer.get(x) : undefined;
      if (p && !keep.has(p) && (downstream.has(p) || isConstant.has(p))) { keep.add(p); back.push(p); }
    }
  }
  const nodes = g.nodes.filter((n) => keep.has(n));
  if (nodes.some((n) => n.subgraphs.length)) return undefined;
  const frontier = new Set<string>();
  for (const n of nodes) {
    for (const x of n.inputs) {
      if (!x || g.values.get(x)?.constant) continue;
      const p = producer.get(x);
      if (!p || !keep.has(p)) frontier.add(x);
    }
  }
  return { nodes, frontier: [...frontier] };
}

/** Nodes whose inputs are all constants or outputs of such nodes (no graph input behind them). */
function constantNodes(g: Graph, producer: Map<string, Node>): Set<Node> {
  const memo = new Map<Node, boolean>();
  const visit = (n: Node): boolean => {
    const known = memo.get(n);
    if (known !== undefined) return known;
    memo.set(n, false); // a cycle is not constant
    const c = n.subgraphs.length === 0 && n.inputs.every((x) => {
      if (!x || g.values.get(x)?.constant) return true;
      const p = producer.get(x);
      return !!p && visit(p);
    });
    memo.set(n, c);
    return c;
  };
  return new Set(g.nodes.filter(visit));
}

/** The cut as a model: the frontier tensors become inputs of the given types, `output` its only output. */
export function cutModel(model: Model, cut: Cut, output: string, types: ReadonlyMap<string, TensorType>): Model {
  const src = mainGraph(model);
  const used = new Set<string>();
  for (const n of cut.nodes) for (const x of [...n.inputs, ...n.outputs]) if (x) used.add(x);
  const values = new Map([...src.values].filter(([name]) => used.has(name)));
  for (const f of cut.frontier) values.set(f, { ...(values.get(f) ?? { name: f, consumers: [] }), name: f, type: types.get(f) ?? null, constant: undefined, inferred: undefined });
  const graph: Graph = {
    name: src.name, nodes: cut.nodes, values, inputs: [...cut.frontier], outputs: [output],
    initializers: src.initializers.filter((name) => used.has(name)),
  };
  return { ...model, graphs: [graph, ...model.graphs.slice(1)] };
}
