/**
 * A QDQ model seen layer by layer. QuantLens (and onnxruntime's QDQ format) leaves each op between
 * DequantizeLinear nodes on its inputs and a QuantizeLinear on its output; ops that only move data
 * (MaxPool, Reshape, Flatten, ...) may run on the integers themselves. The canonical form built
 * here makes every op read and write float tensors: such an op reads DQ(its integer input) and its
 * output is re-quantized with the same parameters, which gives the same integers (max and copies
 * commute with a monotonic DQ, and re-quantizing a value on the grid is exact). Then every
 * quantizer is a Q -> DQ pair on a float tensor, or a DQ of a stored weight, and each can be
 * observed (per-layer error) or switched off (sensitivity).
 * Only the main graph is analysed; ops inside If / Loop bodies are not layers here.
 */
import { ModelError } from '../errors';
import { mainGraph, type Graph, type Model, type Node } from '../model';
import { readConstantValues } from '../tensor';
import { typeRange, type ActivationQuant } from './layersStats';

export const isQ = (n: Node): boolean => n.opType === 'QuantizeLinear';
export const isDQ = (n: Node): boolean => n.opType === 'DequantizeLinear';

/** One quantized input of a layer: the DQ'd tensor it reads, and the float it stands for. */
export interface QuantSlot {
  /** Input index in the op. */
  index: number;
  kind: 'activation' | 'weight';
  /** The dequantized tensor the op reads. */
  dequantized: string;
  /** Activation: the float tensor before the Q (in the same graph). Weight: the stored integer initializer. */
  source: string;
}

export interface QuantLayer {
  node: string;
  opType: string;
  slots: QuantSlot[];
  /** The op's own (float) output. */
  output: string;
  /** The dequantized output, when a Q -> DQ pair follows the op. */
  outputDequantized?: string;
  /** The names of the output quantizer's scale and zero point. */
  outputQuant?: { scale: string; zeroPoint?: string };
}

export interface QdqView {
  /** The canonical copy (the source model is not changed). */
  model: Model;
  layers: QuantLayer[];
}

const copyGraph = (g: Graph): Graph => ({
  ...g, values: new Map(g.values), initializers: [...g.initializers], inputs: [...g.inputs], outputs: [...g.outputs],
  nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })),
});

/** A name unused in the graph. */
export function unusedName(g: Graph, base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; g.values.has(name) || taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function qdqNode(opType: string, name: string, inputs: string[], output: string, domain: string): Node {
  return { name, nameSynthesised: true, opType, domain, inputs, outputs: [output], attributes: [], subgraphs: [] };
}

/** The canonical view of a QDQ model; a model without Q/DQ nodes gets one clear message. */
export function qdqView(model: Model, what = 'The quantized model'): QdqView {
  const src = mainGraph(model);
  // quantized operators (QLinearConv, MatMulInteger, QGemm, ...) compute on integers inside: no float activation to compare
  const qlinear = src.nodes.find((n) => /^QLinear|^Q[A-Z]|Integer$/.test(n.opType) && !isQ(n));
  if (qlinear || !src.nodes.some(isQ) || !src.nodes.some(isDQ)) {
    throw new ModelError('unsupported', `${what} is not in QDQ form (no QuantizeLinear / DequantizeLinear pairs)${qlinear ? `: it uses quantized operators (${qlinear.opType})` : ''}; per-layer results need a QDQ model such as 'quantlens quantize' writes.`);
  }
  const g = copyGraph(src);
  const taken = new Set<string>();
  const isInit = (t: string): boolean => !!g.values.get(t)?.constant;
  /** Integer activation -> its quantizer's inputs [scale, zero point] and the float it quantizes. */
  const qOf = new Map<string, { scale: string; zeroPoint?: string; source: string; domain: string }>();
  /** Integer activation -> a DQ output of it. */
  const dqOf = new Map<string, string>();
  const nodes: Node[] = [];
  const dequantized = (t: string): string => {
    let out = dqOf.get(t);
    if (!out) {
      const p = qOf.get(t)!;
      out = unusedName(g, `${t}_deq`, taken);
      g.values.set(out, { name: out, type: null, consumers: [] });
      nodes.push(qdqNode('DequantizeLinear', unusedName(g, `${t}_DQ`, taken), [t, p.scale, ...(p.zeroPoint ? [p.zeroPoint] : [])], out, p.domain));
      dqOf.set(t, out);
    }
    return out;
  };
  // a DQ's own parameters for an integer tensor it reads (what the int-data op's output carries)
  const dqParams = new Map<string, Node>();
  for (const n of g.nodes) if (isDQ(n) && !isInit(n.inputs[0])) dqParams.set(n.inputs[0], n);

  for (const n of g.nodes) {
    if (isQ(n)) {
      qOf.set(n.outputs[0], { scale: n.inputs[1], zeroPoint: n.inputs[2] || undefined, source: n.inputs[0], domain: n.domain });
      nodes.push(n);
      continue;
    }
    if (isDQ(n)) {
      nodes.push(n);
      if (qOf.has(n.inputs[0]) && !dqOf.has(n.inputs[0])) dqOf.set(n.inputs[0], n.outputs[0]);
      continue;
    }
    const intIn = n.inputs.map((x, k) => (x && qOf.has(x) ? k : -1)).filter((k) => k >= 0);
    if (!intIn.length) { nodes.push(n); continue; }
    // an op on integers: it reads their dequantized values and its integer outputs are re-quantized
    const params = qOf.get(n.inputs[intIn[0]])!;
    for (const k of intIn) n.inputs[k] = dequantized(n.inputs[k]);
    const requant: Node[] = [];
    n.outputs = n.outputs.map((o) => {
      if (!o) return o;
      const raw = unusedName(g, `${o}_float`, taken);
      g.values.set(raw, { name: raw, type: null, consumers: [] });
      const dq = dqParams.get(o);
      const p = dq ? { scale: dq.inputs[1], zeroPoint: dq.inputs[2] || undefined, domain: dq.domain } : params;
      requant.push(qdqNode('QuantizeLinear', unusedName(g, `${o}_Q`, taken), [raw, p.scale, ...(p.zeroPoint ? [p.zeroPoint] : [])], o, p.domain));
      qOf.set(o, { ...p, source: raw });
      return raw;
    });
    nodes.push(n, ...requant);
  }
  g.nodes = nodes;

  // every op that reads a DQ output or whose output is quantized is a layer
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const qReading = new Map<string, Node>();
  for (const n of g.nodes) if (isQ(n) && !qReading.has(n.inputs[0])) qReading.set(n.inputs[0], n);
  const layers: QuantLayer[] = [];
  for (const n of g.nodes) {
    if (isQ(n) || isDQ(n)) continue;
    const slots: QuantSlot[] = [];
    n.inputs.forEach((x, index) => {
      const p = x ? producer.get(x) : undefined;
      if (!p || !isDQ(p)) return;
      const stored = p.inputs[0];
      if (isInit(stored)) slots.push({ index, kind: 'weight', dequantized: x, source: stored });
      else if (qOf.has(stored)) slots.push({ index, kind: 'activation', dequantized: x, source: qOf.get(stored)!.source });
    });
    const output = n.outputs[0];
    const q = output ? qReading.get(output) : undefined;
    if (!slots.length && !q) continue;
    const layer: QuantLayer = { node: n.name, opType: n.opType, slots, output };
    if (q) {
      layer.outputDequantized = dequantized(q.outputs[0]);
      layer.outputQuant = { scale: q.inputs[1], zeroPoint: q.inputs[2] || undefined };
    }
    layers.push(layer);
  }
  // DQs added for outputs come last; keep the order topological
  g.nodes = topoSort(g);
  return { model: { ...model, graphs: [g, ...model.graphs.slice(1)] }, layers };
}

/** Nodes in an order where every tensor is written before it is read (stable otherwise). */
export function topoSort(g: Graph): Node[] {
  const ready = new Set<string>([...g.inputs, ...g.initializers, '']);
  for (const [name, v] of g.values) if (v.constant) ready.add(name);
  const made = new Set<string>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) made.add(o);
  const left = [...g.nodes];
  const out: Node[] = [];
  while (left.length) {
    const i = left.findIndex((n) => n.inputs.every((x) => !x || ready.has(x) || !made.has(x)));
    if (i < 0) throw new ModelError('corrupt', 'The graph has a cycle.');
    const [n] = left.splice(i, 1);
    out.push(n);
    for (const o of n.outputs) if (o) ready.add(o);
  }
  return out;
}

/** The activation quantizer's parameters (scalar scale / zero point initializers), if readable. */
export async function activationQuant(model: Model, q: { scale: string; zeroPoint?: string }): Promise<ActivationQuant | undefined> {
  const g = mainGraph(model);
  const s = g.values.get(q.scale)?.constant;
  const z = q.zeroPoint ? g.values.get(q.zeroPoint)?.constant : undefined;
  if (!s || s.shape.reduce((a, b) => a * b, 1) !== 1 || (q.zeroPoint && !z)) return undefined;
  const range = typeRange(z?.dtype ?? 'uint8');
  if (!range) return undefined;
  const [scale] = await readConstantValues(s);
  const zeroPoint = z ? (await readConstantValues(z))[0] : 0;
  return { scale, zeroPoint, ...range };
}
