/** Small graph-editing helpers shared by the rewriters (QDQ, dynamic, fp16). */
import { constantBytes } from '../../formats/onnx';
import type { Constant, Dim, DType, Graph, Model, Node, Value } from '../../model';
import { namesReadIn } from '../subgraphs';

/** A name not yet used in the graph, based on `base`. */
export function freshName(g: Graph, base: string, taken?: Set<string>): string {
  let name = base;
  let i = 1;
  while (g.values.has(name) || taken?.has(name)) name = `${base}_${i++}`;
  taken?.add(name);
  return name;
}

export function addValue(g: Graph, name: string, dtype: DType | null, shape: Dim[] | null): Value {
  const v: Value = { name, type: dtype ? { dtype, shape } : null, consumers: [] };
  g.values.set(name, v);
  return v;
}

export function addInitializer(g: Graph, name: string, dtype: DType, shape: number[], bytes: Uint8Array): void {
  const constant: Constant = { name, dtype, shape, data: { kind: 'bytes', bytes } };
  g.values.set(name, { name, type: { dtype, shape }, constant, consumers: [] });
  g.initializers.push(name);
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function i32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

/** A zero-point tensor's bytes for a quantized type (int4 packed, 16-bit little-endian). */
export function zeroPointBytes(values: ArrayLike<number>, dtype: DType): Uint8Array {
  switch (dtype) {
    case 'int8': return new Uint8Array(Int8Array.from(values).buffer);
    case 'uint8': return Uint8Array.from(values);
    case 'int16': return new Uint8Array(Int16Array.from(values).buffer);
    case 'uint16': return new Uint8Array(Uint16Array.from(values).buffer);
    case 'int32': return i32Bytes(values);
    case 'int4': case 'uint4': {
      const out = new Uint8Array((values.length + 1) >> 1);
      for (let i = 0; i < values.length; i++) out[i >> 1] |= (values[i] & 0x0f) << ((i & 1) * 4);
      return out;
    }
    default: throw new Error(`not a zero-point type: ${dtype}`);
  }
}

/** A float32 constant's values (copied into an aligned array). */
export function floatValues(c: Constant): Float32Array {
  const b = constantBytes(c);
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new Float32Array(copy.buffer, 0, b.length >> 2);
}

/**
 * A new node. Its name is shown by viewers but not written (nameSynthesised): inserted Q/DQ nodes
 * are many and their names would be a visible share of a small model's file.
 */
export function makeNode(opType: string, name: string, inputs: string[], outputs: string[], domain = '', attrs: Record<string, number> = {}): Node {
  return {
    name, nameSynthesised: true, opType, domain, inputs, outputs, subgraphs: [],
    attributes: Object.entries(attrs).map(([n, v]) => ({ name: n, value: { type: 'int' as const, value: v } })),
  };
}

/** Recomputes every value's producer / consumers after nodes moved. */
export function relink(g: Graph): void {
  for (const v of g.values.values()) { v.producer = undefined; v.consumers = []; }
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) { const v = o && g.values.get(o); if (v) v.producer = i; }
    for (const x of n.inputs) { const v = x && g.values.get(x); if (v) v.consumers.push(i); }
  });
}

/**
 * Removes initializers nothing reads any more: inputs of any node, of any node in a nested graph
 * (an If / Loop body reads the enclosing scopes' tensors by name), nested graphs' outputs, or
 * graph outputs.
 */
export function dropUnusedInitializers(model: Model, g: Graph): number {
  const used = namesReadIn(g, new Set<string>(g.outputs));
  let dropped = 0;
  g.initializers = g.initializers.filter((name) => {
    if (used.has(name)) return true;
    g.values.delete(name);
    dropped++;
    return false;
  });
  void model;
  return dropped;
}

export function ensureOpset(model: Model, domain: string, version: number): void {
  const o = model.opsets.find((x) => x.domain === domain || (domain === '' && x.domain === 'ai.onnx'));
  if (!o) model.opsets.push({ domain, version });
  else if (o.version < version) o.version = version;
}

export function defaultOpset(model: Model): number {
  return model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1;
}

/** Drops values no node, graph input / output or initializer mentions any more (stale value_info). */
export function pruneValues(g: Graph): void {
  const used = new Set<string>([...g.inputs, ...g.outputs, ...g.initializers]);
  const walk = (gr: Graph): void => {
    for (const n of gr.nodes) {
      for (const x of n.inputs) used.add(x);
      for (const x of n.outputs) used.add(x);
      for (const s of n.subgraphs) walk(s);
    }
  };
  walk(g);
  for (const name of [...g.values.keys()]) if (!used.has(name)) g.values.delete(name);
}
