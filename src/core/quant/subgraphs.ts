/**
 * Nested graphs (If branches, Loop and Scan bodies) for the rewriters: which names a body reads
 * from the scopes around it, the constants it can see there, and the element types of its tensors
 * as onnxruntime infers them. onnxruntime's session metadata covers only the main graph, so a body
 * is inferred as a model of its own: its formal inputs and the outer tensors it reads become
 * inputs (typed from the enclosing graph), the outer constants it reads come along as initializers.
 */
import type { Constant, Graph, Model, Node, Value } from '../model';
import { allGraphs, mainGraph } from '../model';
import { inferredTensorInfo, type TensorInfo } from './preprocess';

/** A nested graph, the node that holds it and the graphs around it (outermost first). */
export interface NestedGraph {
  graph: Graph;
  owner: Node;
  /** Which attribute of the owner: then_branch, else_branch, body. */
  attribute: string;
  /** Enclosing graphs, main graph first, the owner's graph last. */
  scopes: Graph[];
  /** 'branch/then_branch' style label for messages. */
  label: string;
}

/** Every nested graph of the main graph, outer ones before the ones inside them. */
export function nestedGraphs(model: Model): NestedGraph[] {
  const out: NestedGraph[] = [];
  const walk = (g: Graph, scopes: Graph[], prefix: string): void => {
    for (const n of g.nodes) {
      for (const a of n.attributes) {
        const gs = a.value.type === 'graph' ? [a.value.value] : a.value.type === 'graphs' ? a.value.value : [];
        gs.forEach((sg, i) => {
          const label = `${prefix}${n.name}/${a.name}${gs.length > 1 ? `[${i}]` : ''}`;
          out.push({ graph: sg, owner: n, attribute: a.name, scopes: [...scopes, g], label });
          walk(sg, [...scopes, g], `${label}/`);
        });
      }
    }
  };
  walk(mainGraph(model), [], '');
  return out;
}

/**
 * Every tensor and node name in the model, bodies included: names new nodes add inside a body
 * must not shadow one outside it (nor the other way round).
 */
export function allNames(model: Model): Set<string> {
  const names = new Set<string>();
  for (const g of allGraphs(model)) {
    for (const k of g.values.keys()) names.add(k);
    for (const n of g.nodes) { names.add(n.name); for (const o of n.outputs) if (o) names.add(o); }
  }
  return names;
}

/** Names defined inside `g` (inputs, initializers, node outputs), nested graphs excluded. */
function definedIn(g: Graph): Set<string> {
  const d = new Set<string>([...g.inputs, ...g.initializers]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) d.add(o);
  return d;
}

/** Names `g` (or a graph inside it) reads that are defined in an enclosing scope. */
export function outerRefs(g: Graph): string[] {
  const own = definedIn(g);
  const refs = new Set<string>();
  for (const n of g.nodes) {
    for (const x of n.inputs) if (x && !own.has(x)) refs.add(x);
    for (const s of n.subgraphs) for (const x of outerRefs(s)) if (!own.has(x)) refs.add(x);
  }
  for (const o of g.outputs) if (!own.has(o)) refs.add(o);
  return [...refs];
}

/** Every name read by the nodes of `g` and the graphs inside them (uses, for liveness). */
export function namesReadIn(g: Graph, into = new Set<string>()): Set<string> {
  for (const n of g.nodes) {
    for (const x of n.inputs) if (x) into.add(x);
    for (const s of n.subgraphs) { namesReadIn(s, into); for (const o of s.outputs) into.add(o); }
  }
  return into;
}

/** The enclosing graph that holds `name` as a constant (the innermost one), if any. */
export function constantHome(scopes: Graph[], name: string): Graph | undefined {
  const c = outerConstant(scopes, name);
  return c && [...scopes].reverse().find((g) => g.values.get(name)?.constant === c);
}

/** The constant an enclosing scope holds under `name` (the innermost one wins). */
export function outerConstant(scopes: Graph[], name: string): Constant | undefined {
  for (let i = scopes.length - 1; i >= 0; i--) {
    const v = scopes[i].values.get(name);
    if (v?.constant) return v.constant;
    if (v && scopes[i].nodes.some((n) => n.outputs.includes(name))) return undefined;
    if (scopes[i].inputs.includes(name)) return undefined;
  }
  return undefined;
}

/**
 * Runs `fn` with the outer constants `g` reads visible in g.values (as the rewriters look weights
 * up there), then restores the entries: the constants stay where they live.
 */
export async function withOuterConstants<T>(g: Graph, scopes: Graph[], fn: () => T | Promise<T>): Promise<T> {
  const saved = new Map<string, Value | undefined>();
  for (const name of outerRefs(g)) {
    const c = outerConstant(scopes, name);
    if (!c) continue;
    saved.set(name, g.values.get(name));
    g.values.set(name, { ...(g.values.get(name) ?? { name, consumers: [] }), name, type: { dtype: c.dtype, shape: c.shape.slice() }, constant: c });
  }
  try {
    return await fn();
  } finally {
    for (const [name, v] of saved) {
      if (v) g.values.set(name, v);
      else g.values.delete(name);
    }
  }
}

/**
 * Element type and shape of every tensor of `g` (outer tensors it reads included), inferred by
 * onnxruntime on the body as a model of its own. `outer` holds the types of the enclosing
 * graph's tensors; an outer tensor of unknown type makes the body's inference fail (undefined).
 */
export async function nestedTensorInfo(model: Model, n: NestedGraph, outer: Map<string, TensorInfo>): Promise<Map<string, TensorInfo> | undefined> {
  const g = n.graph;
  const values = new Map(g.values);
  const inputs = [...g.inputs];
  const initializers = [...g.initializers];
  const info = new Map<string, TensorInfo>();
  for (const name of outerRefs(g)) {
    const c = outerConstant(n.scopes, name);
    if (c) {
      values.set(name, { name, type: { dtype: c.dtype, shape: c.shape.slice() }, constant: c, consumers: [] });
      initializers.push(name);
      continue;
    }
    const t = outer.get(name);
    if (!t) return undefined;
    values.set(name, { name, type: { dtype: t.dtype, shape: t.shape ? t.shape.slice() : null }, consumers: [] });
    inputs.push(name);
    info.set(name, t);
  }
  // formal inputs (Loop / Scan bodies) are declared; a missing declaration leaves it unknown
  for (const name of g.inputs) {
    const t = g.values.get(name)?.type;
    if (!t?.dtype) return undefined;
  }
  const standalone: Model = { ...model, graphs: [{ ...g, values, inputs, initializers }], functions: model.functions };
  try {
    const inferred = await inferredTensorInfo(standalone, {});
    for (const [k, v] of info) inferred.set(k, v);
    return inferred;
  } catch {
    return undefined;
  }
}
