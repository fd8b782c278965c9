/**
 * Synthetic transformer-like graphs with name scopes, for graph-view tests and benchmarks.
 * The layout of each block follows what PyTorch's ONNX exporter emits for a BERT encoder layer
 * (decomposed LayerNorm, Q/K/V projections, reshape/transpose, softmax attention, GELU MLP,
 * residual adds), named '/encoder/layer.N/attention/self/query/MatMul' and so on.
 *
 *   npx tsx scripts/gen-synthetic-graph.ts 5000   → prints node/group counts of the graph
 */
import type { Graph, Model, Node, Value } from '../src/core/model';

interface Op {
  scope: string;
  op: string;
  /** Inputs as names of earlier ops in the same block, 'x' (block input) or 'w:<name>' (weight). */
  ins: string[];
  id: string;
}

// One encoder block. ids are local to the block; 'x' is the block input.
const BLOCK: Op[] = [
  { id: 'q', scope: 'attention/self/query', op: 'MatMul', ins: ['x', 'w:q'] },
  { id: 'qb', scope: 'attention/self/query', op: 'Add', ins: ['q', 'w:qb'] },
  { id: 'k', scope: 'attention/self/key', op: 'MatMul', ins: ['x', 'w:k'] },
  { id: 'kb', scope: 'attention/self/key', op: 'Add', ins: ['k', 'w:kb'] },
  { id: 'v', scope: 'attention/self/value', op: 'MatMul', ins: ['x', 'w:v'] },
  { id: 'vb', scope: 'attention/self/value', op: 'Add', ins: ['v', 'w:vb'] },
  { id: 'qr', scope: 'attention/self', op: 'Reshape', ins: ['qb', 'w:shape'] },
  { id: 'qt', scope: 'attention/self', op: 'Transpose', ins: ['qr'] },
  { id: 'kr', scope: 'attention/self', op: 'Reshape', ins: ['kb', 'w:shape'] },
  { id: 'kt', scope: 'attention/self', op: 'Transpose', ins: ['kr'] },
  { id: 'vr', scope: 'attention/self', op: 'Reshape', ins: ['vb', 'w:shape'] },
  { id: 'vt', scope: 'attention/self', op: 'Transpose', ins: ['vr'] },
  { id: 'qk', scope: 'attention/self', op: 'MatMul', ins: ['qt', 'kt'] },
  { id: 'sc', scope: 'attention/self', op: 'Div', ins: ['qk', 'w:scale'] },
  { id: 'sm', scope: 'attention/self', op: 'Softmax', ins: ['sc'] },
  { id: 'ctx', scope: 'attention/self', op: 'MatMul', ins: ['sm', 'vt'] },
  { id: 'ct', scope: 'attention/self', op: 'Transpose', ins: ['ctx'] },
  { id: 'cr', scope: 'attention/self', op: 'Reshape', ins: ['ct', 'w:shape2'] },
  { id: 'o', scope: 'attention/output/dense', op: 'MatMul', ins: ['cr', 'w:o'] },
  { id: 'ob', scope: 'attention/output/dense', op: 'Add', ins: ['o', 'w:ob'] },
  { id: 'r1', scope: 'attention/output', op: 'Add', ins: ['ob', 'x'] },
  { id: 'm1', scope: 'attention/output/LayerNorm', op: 'ReduceMean', ins: ['r1'] },
  { id: 's1', scope: 'attention/output/LayerNorm', op: 'Sub', ins: ['r1', 'm1'] },
  { id: 'p1', scope: 'attention/output/LayerNorm', op: 'Pow', ins: ['s1', 'w:two'] },
  { id: 'v1', scope: 'attention/output/LayerNorm', op: 'ReduceMean', ins: ['p1'] },
  { id: 'e1', scope: 'attention/output/LayerNorm', op: 'Add', ins: ['v1', 'w:eps'] },
  { id: 'q1', scope: 'attention/output/LayerNorm', op: 'Sqrt', ins: ['e1'] },
  { id: 'd1', scope: 'attention/output/LayerNorm', op: 'Div', ins: ['s1', 'q1'] },
  { id: 'g1', scope: 'attention/output/LayerNorm', op: 'Mul', ins: ['d1', 'w:g1'] },
  { id: 'b1', scope: 'attention/output/LayerNorm', op: 'Add', ins: ['g1', 'w:b1'] },
  { id: 'i', scope: 'intermediate/dense', op: 'MatMul', ins: ['b1', 'w:i'] },
  { id: 'ib', scope: 'intermediate/dense', op: 'Add', ins: ['i', 'w:ib'] },
  { id: 'gd', scope: 'intermediate/intermediate_act_fn', op: 'Div', ins: ['ib', 'w:sqrt2'] },
  { id: 'ge', scope: 'intermediate/intermediate_act_fn', op: 'Erf', ins: ['gd'] },
  { id: 'ga', scope: 'intermediate/intermediate_act_fn', op: 'Add', ins: ['ge', 'w:one'] },
  { id: 'gm', scope: 'intermediate/intermediate_act_fn', op: 'Mul', ins: ['ib', 'ga'] },
  { id: 'gh', scope: 'intermediate/intermediate_act_fn', op: 'Mul', ins: ['gm', 'w:half'] },
  { id: 'f', scope: 'output/dense', op: 'MatMul', ins: ['gh', 'w:f'] },
  { id: 'fb', scope: 'output/dense', op: 'Add', ins: ['f', 'w:fb'] },
  { id: 'r2', scope: 'output', op: 'Add', ins: ['fb', 'b1'] },
  { id: 'm2', scope: 'output/LayerNorm', op: 'ReduceMean', ins: ['r2'] },
  { id: 's2', scope: 'output/LayerNorm', op: 'Sub', ins: ['r2', 'm2'] },
  { id: 'p2', scope: 'output/LayerNorm', op: 'Pow', ins: ['s2', 'w:two'] },
  { id: 'v2', scope: 'output/LayerNorm', op: 'ReduceMean', ins: ['p2'] },
  { id: 'e2', scope: 'output/LayerNorm', op: 'Add', ins: ['v2', 'w:eps'] },
  { id: 'q2', scope: 'output/LayerNorm', op: 'Sqrt', ins: ['e2'] },
  { id: 'd2', scope: 'output/LayerNorm', op: 'Div', ins: ['s2', 'q2'] },
  { id: 'g2', scope: 'output/LayerNorm', op: 'Mul', ins: ['d2', 'w:g2'] },
  { id: 'b2', scope: 'output/LayerNorm', op: 'Add', ins: ['g2', 'w:b2'] },
];

/** Ops per encoder block. */
export const BLOCK_SIZE = BLOCK.length;
const HIDDEN = 768;

/**
 * A graph of exactly `nodeCount` op nodes: an embedding Gather, then encoder blocks (the last
 * one possibly cut short), in graph (topological) order. Every value has a dtype and shape.
 * `scopes: false` names nodes and tensors without '/' scopes, as many exporters do.
 */
export function syntheticTransformer(nodeCount: number, opts: { scopes?: boolean } = {}): Model {
  const scoped = opts.scopes ?? true;
  const nodes: Node[] = [];
  const values = new Map<string, Value>();
  const initializers: string[] = [];
  const value = (name: string, shape: (number | string)[], constant = false): void => {
    if (values.has(name)) return;
    values.set(name, {
      name, type: { dtype: constant && name.endsWith('shape') ? 'int64' : 'float32', shape }, consumers: [],
      constant: constant ? { name, dtype: 'float32', shape: shape as number[], data: { kind: 'none' } } : undefined,
    });
    if (constant) initializers.push(name);
  };
  const push = (n: Node): void => {
    const idx = nodes.length;
    nodes.push(n);
    for (const i of n.inputs) values.get(i)?.consumers.push(idx);
    for (const o of n.outputs) {
      const v = values.get(o);
      if (v) v.producer = idx;
    }
  };
  value('input_ids', ['batch', 'seq']);
  value('embeddings.word_embeddings.weight', [30522, HIDDEN], true);
  let x = scoped ? '/embeddings/word_embeddings/Gather_output_0' : 'Gather_0_output_0';
  value(x, ['batch', 'seq', HIDDEN]);
  if (nodeCount > 0) {
    push({ name: scoped ? '/embeddings/word_embeddings/Gather' : 'Gather_0', opType: 'Gather', domain: '', inputs: ['embeddings.word_embeddings.weight', 'input_ids'], outputs: [x], attributes: [{ name: 'axis', value: { type: 'int', value: 0 } }], subgraphs: [] });
  }
  for (let layer = 0; nodes.length < nodeCount; layer++) {
    const local = new Map<string, string>([['x', x]]);
    for (const op of BLOCK) {
      if (nodes.length >= nodeCount) break;
      const scope = `/encoder/layer.${layer}/${op.scope}`;
      // Without scopes, names look like an exporter that names ops by type and index ('MatMul_12').
      const name = scoped ? `${scope}/${op.op}_${op.id}` : `${op.op}_${nodes.length}`;
      const inputs = op.ins.map((i) => {
        if (i.startsWith('w:')) {
          const w = `encoder.layer.${layer}.${i.slice(2)}`;
          value(w, i === 'w:q' || i === 'w:k' || i === 'w:v' || i === 'w:o' ? [HIDDEN, HIDDEN] : i === 'w:i' ? [HIDDEN, 4 * HIDDEN] : i === 'w:f' ? [4 * HIDDEN, HIDDEN] : [HIDDEN], true);
          return w;
        }
        return local.get(i)!;
      });
      const out = `${name}_output_0`;
      value(out, op.scope.startsWith('intermediate') ? ['batch', 'seq', 4 * HIDDEN] : ['batch', 'seq', HIDDEN]);
      const attributes = op.op === 'Softmax' ? [{ name: 'axis', value: { type: 'int' as const, value: -1 } }]
        : op.op === 'Transpose' ? [{ name: 'perm', value: { type: 'ints' as const, value: [0, 2, 1, 3] } }] : [];
      push({ name, opType: op.op, domain: '', inputs, outputs: [out], attributes, subgraphs: [] });
      local.set(op.id, out);
    }
    x = local.get('b2') ?? x;
  }
  const lastOut = nodes.length ? nodes[nodes.length - 1].outputs[0] : 'input_ids';
  const graph: Graph = { name: 'synthetic_transformer', nodes, values, inputs: ['input_ids'], outputs: [lastOut], initializers };
  return {
    format: 'onnx', fileSize: 0, producer: 'gen-synthetic-graph', formatVersion: 9, opsets: [{ domain: '', version: 17 }],
    description: '', metadata: {}, graphs: [graph], functions: [], signatures: [],
  };
}

if (process.argv[1] && /gen-synthetic-graph\.ts$/.test(process.argv[1])) {
  const n = Number(process.argv[2] ?? 2000);
  void import('../src/core/graphView').then(({ buildGraphView }) => {
    const t0 = performance.now();
    const view = buildGraphView(syntheticTransformer(n));
    console.log(JSON.stringify({ ops: view.opCount, nodes: view.nodes.length, edges: view.edges.length, groups: view.groups.length, buildMs: Math.round(performance.now() - t0) }));
  });
}
