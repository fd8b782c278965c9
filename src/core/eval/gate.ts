/**
 * Switching layers' quantization on and off. A layer's quantization is what its op reads through
 * DequantizeLinear: its quantized input activations and its stored weights (see layersGraph.ts).
 * Switched off, the op reads the float tensors instead: the activation before its Q, and the float
 * model's weight. With every layer off the model computes the float model; with every layer on,
 * the QDQ model. configModel gives the model of one configuration (./sweep.ts runs them, whole or
 * below one layer).
 */
import { mainGraph, type Graph, type Model, type Node } from '../model';
import { unusedName, type QdqView, type QuantLayer } from './layersGraph';

export interface GateChoice {
  /** Input index of the op. */
  index: number;
  quantized: string;
  /** The float tensor; undefined when the float model has no such weight (the read stays quantized). */
  float?: string;
}

export interface GateLayer {
  node: string;
  opType: string;
  choices: GateChoice[];
}

interface Prepared {
  graph: Graph;
  layers: GateLayer[];
  nodeOf: Map<string, Node>;
}

/** A working copy of the canonical graph with the float weights added and every layer's choices. */
function prepare(view: QdqView, reference: Model): Prepared {
  const src = mainGraph(view.model);
  const graph: Graph = {
    ...src, values: new Map(src.values), initializers: [...src.initializers], inputs: [...src.inputs], outputs: [...src.outputs],
    nodes: src.nodes.map((n) => ({ ...n, inputs: [...n.inputs] })),
  };
  const taken = new Set<string>();
  const ref = mainGraph(reference);
  const refNodes = new Map(ref.nodes.map((n) => [n.name, n]));
  const nodeOf = new Map(graph.nodes.filter((n) => !n.nameSynthesised).map((n) => [n.name, n]));
  const floatCopy = new Map<string, string>();
  const layers: GateLayer[] = [];
  for (const l of view.layers) {
    if (!l.slots.length || !nodeOf.has(l.node)) continue;
    const choices = l.slots.map((s) => {
      if (s.kind === 'activation') return { index: s.index, quantized: s.dequantized, float: s.source };
      return { index: s.index, quantized: s.dequantized, float: floatWeight(l, s.index, refNodes, ref, graph, taken, floatCopy) };
    });
    layers.push({ node: l.node, opType: l.opType, choices });
  }
  return { graph, layers, nodeOf };
}

/** The float model's weight for a layer's input, added to the graph once. */
function floatWeight(l: QuantLayer, index: number, refNodes: Map<string, Node>, ref: Graph, g: Graph, taken: Set<string>, added: Map<string, string>): string | undefined {
  const name = refNodes.get(l.node)?.inputs[index];
  const c = name ? ref.values.get(name)?.constant : undefined;
  if (!c || c.dtype !== 'float32') return undefined;
  let copy = added.get(name!);
  if (!copy) {
    copy = unusedName(g, `${name}_float`, taken);
    g.values.set(copy, { name: copy, type: { dtype: 'float32', shape: c.shape.slice() }, constant: { ...c, name: copy }, consumers: [] });
    g.initializers.push(copy);
    added.set(name!, copy);
  }
  return copy;
}

const modelWith = (view: QdqView, g: Graph): Model => ({ ...view.model, graphs: [g, ...view.model.graphs.slice(1)] });

/** The layers a gate can switch (those reading anything quantized), in graph order. */
export function gateLayers(view: QdqView, reference: Model): GateLayer[] {
  return prepare(view, reference).layers;
}

/** The model of one configuration: layer i reads quantized tensors where on[i], float ones elsewhere. */
export function configModel(view: QdqView, reference: Model, on: readonly boolean[]): Model {
  const { graph: g, layers, nodeOf } = prepare(view, reference);
  layers.forEach((l, i) => {
    const op = nodeOf.get(l.node)!;
    for (const c of l.choices) if (c.float && !on[i]) op.inputs[c.index] = c.float;
  });
  return modelWith(view, g);
}
