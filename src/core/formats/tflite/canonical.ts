/**
 * A plain, order-stable snapshot of a graph model for comparisons (round-trip checks, model diffs).
 * Constant data is compared by content (SHA-256), not by where it lives, so a model read from a
 * file and one read from bytes compare equal.
 */
import { createHash } from 'node:crypto';
import type { AttributeValue, Constant, Graph, Model, Value } from '../../model';
import { readTensorDataBytes } from './reader';

function digest(c: Constant): unknown {
  const d = c.data;
  if (d.kind === 'strings') return { strings: d.values };
  if (d.kind === 'none') return { none: true };
  if (d.kind === 'sparse') return { sparse: [digest(d.values), digest(d.indices)] };
  const bytes = readTensorDataBytes(d);
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function constant(c: Constant): unknown {
  return { name: c.name, dtype: c.dtype, shape: c.shape, data: digest(c) };
}

function attr(v: AttributeValue): unknown {
  switch (v.type) {
    case 'tensor':
    case 'sparse_tensor':
      return { type: v.type, value: constant(v.value) };
    case 'tensors':
      return { type: v.type, value: v.value.map(constant) };
    case 'graph':
      return { type: v.type, value: graph(v.value) };
    case 'graphs':
      return { type: v.type, value: v.value.map(graph) };
    case 'int':
      return { type: v.type, value: String(v.value) };
    case 'ints':
      return { type: v.type, value: v.value.map(String) };
    case 'floats':
      return { type: v.type, value: v.value.map(floatKey) };
    case 'float':
      return { type: v.type, value: floatKey(v.value) };
    default:
      return v;
  }
}

/** Distinguishes -0, NaN and exact float bits (JSON would not). */
function floatKey(x: number): string {
  return Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : String(x);
}

function value(v: Value): unknown {
  return {
    name: v.name,
    type: v.type,
    constant: v.constant ? constant(v.constant) : undefined,
    quant: v.quant
      ? { ...v.quant, scale: v.quant.scale.map(floatKey), min: v.quant.min?.map(floatKey), max: v.quant.max?.map(floatKey) }
      : undefined,
    producer: v.producer,
    consumers: v.consumers,
    isVariable: v.isVariable,
    description: v.description,
  };
}

function graph(g: Graph): unknown {
  return {
    name: g.name,
    inputs: g.inputs,
    outputs: g.outputs,
    initializers: g.initializers,
    values: [...g.values.values()].map(value),
    nodes: g.nodes.map((n) => ({
      name: n.name,
      nameSynthesised: n.nameSynthesised,
      opType: n.opType,
      domain: n.domain,
      inputs: n.inputs,
      outputs: n.outputs,
      attributes: n.attributes.map((a) => ({ name: a.name, doc: a.doc, value: attr(a.value) })),
      subgraphs: n.subgraphs.map(graph),
    })),
  };
}

/** Everything a model computes with and shows, without file locations. */
export function canonicalModel(model: Model): unknown {
  return {
    format: model.format,
    producer: model.producer,
    formatVersion: model.formatVersion,
    opsets: model.opsets,
    description: model.description,
    metadata: Object.entries(model.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    graphs: model.graphs.map(graph),
    signatures: model.signatures,
  };
}
