/** Model → graph view model: nodes, edges, tensors, name-scope groups and chunking. */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { BLOCK_SIZE, syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, groupChain, scopeOf, type GraphView } from '../../src/core/graphView';
import type { Graph, Model, Node, Value } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, SAMPLE_MODEL, SYSTEM_PYTHON, sharedModel } from '../helpers/paths';

interface PyGraph {
  nodes: { name: string; op: string; inputs: string[]; outputs: string[] }[];
  inputs: string[];
  outputs: string[];
  inits: Record<string, number[]>;
}

/** The independent reference: python3-onnx's view of the same file. */
function pythonReference(file: string): PyGraph {
  const src = `
import json, sys, onnx
g = onnx.load(sys.argv[1]).graph
inits = {i.name: list(i.dims) for i in g.initializer}
print(json.dumps({
  'nodes': [{'name': n.name, 'op': n.op_type, 'inputs': list(n.input), 'outputs': list(n.output)} for n in g.node],
  'inputs': [i.name for i in g.input if i.name not in inits],
  'outputs': [o.name for o in g.output],
  'inits': inits,
}))`;
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', src, file], { encoding: 'utf8' })) as PyGraph;
}

function edgeSet(view: GraphView): Set<string> {
  return new Set(view.edges.map((e) => `${view.nodes[e.from].name}->${view.nodes[e.to].name}:${view.tensors[e.tensor].name}`));
}

/** Hand-built model helper for small cases. */
function modelOf(nodes: Pick<Node, 'name' | 'opType' | 'inputs' | 'outputs'>[], inputs: string[], outputs: string[], inits: string[] = []): Model {
  const values = new Map<string, Value>();
  const full: Node[] = nodes.map((n) => ({ domain: '', attributes: [], subgraphs: [], ...n }));
  const v = (name: string): Value => {
    let x = values.get(name);
    if (!x) values.set(name, (x = { name, type: { dtype: 'float32', shape: [1, 4] }, consumers: [] }));
    return x;
  };
  for (const i of inits) v(i).constant = { name: i, dtype: 'float32', shape: [4], data: { kind: 'none' } };
  full.forEach((n, idx) => {
    n.inputs.forEach((i) => i && v(i).consumers.push(idx));
    n.outputs.forEach((o) => o && (v(o).producer = idx));
  });
  inputs.forEach(v);
  const graph: Graph = { name: 'g', nodes: full, values, inputs, outputs, initializers: inits };
  return { format: 'onnx', fileSize: 0, producer: '', formatVersion: 8, opsets: [], description: '', metadata: {}, graphs: [graph], functions: [], signatures: [] };
}

describe('scopeOf', () => {
  test('ONNX exporter names: path minus the op segment', () => {
    assert.deepEqual(scopeOf('/encoder/layer.3/attn/MatMul', undefined), ['encoder', 'layer.3', 'attn']);
    assert.deepEqual(scopeOf('/MatMul', undefined), []);
    assert.deepEqual(scopeOf('Conv_0', 'conv_out'), []);
  });
  test('TFLite: falls back to the first output tensor name, first of the fused names', () => {
    assert.deepEqual(scopeOf('CONV_2D_0', 'model/conv2d/Relu;model/conv2d/BiasAdd'), ['model', 'conv2d']);
    assert.deepEqual(scopeOf('FULLY_CONNECTED_3', 'StatefulPartitionedCall:0'), []);
  });
});

describe('buildGraphView on mnist-12 (checked against python3-onnx)', async () => {
  const ref = pythonReference(SAMPLE_MODEL);
  const view = buildGraphView(await openModelFile(SAMPLE_MODEL));

  test('12 op nodes plus one input and one output node, names and op types in file order', () => {
    assert.equal(ref.nodes.length, 12);
    assert.equal(view.opCount, 12);
    const ops = view.nodes.filter((n) => n.kind === 'op');
    assert.deepEqual(ops.map((n) => [n.name, n.opType]), ref.nodes.map((n) => [n.name, n.op]));
    assert.deepEqual(view.nodes.filter((n) => n.kind === 'input').map((n) => n.name), ref.inputs);
    assert.deepEqual(view.nodes.filter((n) => n.kind === 'output').map((n) => n.name), ref.outputs);
  });

  test('edges are exactly the producer→consumer pairs of non-constant tensors', () => {
    const producer = new Map<string, string>();
    for (const i of ref.inputs) producer.set(i, i);
    for (const n of ref.nodes) for (const o of n.outputs) producer.set(o, n.name);
    const expected = new Set<string>();
    for (const n of ref.nodes) for (const i of n.inputs) if (producer.has(i)) expected.add(`${producer.get(i)}->${n.name}:${i}`);
    for (const o of ref.outputs) expected.add(`${producer.get(o)}->${o}:${o}`);
    assert.equal(expected.size, 13);
    assert.deepEqual(edgeSet(view), expected);
  });

  test('constants carry dtype and shape from the initializers', () => {
    for (const [name, dims] of Object.entries(ref.inits)) {
      const t = view.tensors.find((x) => x.name === name);
      assert.ok(t, name);
      assert.equal(t.constant, true, name);
      assert.deepEqual(t.shape, dims, name);
    }
    const input = view.tensors.find((t) => t.name === 'Input3')!;
    assert.equal(input.constant, false);
    assert.deepEqual([input.dtype, input.shape], ['float32', [1, 1, 28, 28]]);
  });

  test('no name scopes: everything sits in the root group; Conv attributes are displayed', () => {
    assert.equal(view.groups.length, 1);
    assert.equal(view.groups[0].size, 14);
    assert.ok(view.nodes.every((n) => n.group === 0));
    const conv = view.nodes.find((n) => n.name === 'Convolution28')!;
    const attrs = Object.fromEntries(conv.attrs.map((a) => [a.name, a.value]));
    assert.equal(attrs.kernel_shape, '[5, 5]');
    assert.equal(attrs.auto_pad, 'SAME_UPPER');
  });

  test('the view survives structured cloning unchanged (no Maps, no bigint)', () => {
    assert.deepEqual(structuredClone(view), view);
    assert.deepEqual(JSON.parse(JSON.stringify(view)), view);
  });
});

interface FlatTensor { name: string; quantization?: { scale?: number[]; zero_point?: number[] } }
interface FlatModel { subgraphs: { tensors: FlatTensor[]; inputs: number[]; outputs: number[]; operators: { inputs: number[]; outputs: number[] }[] }[] }

/** Debian's flatc reads the .tflite with the schema: the independent reference for TFLite. */
function flatcJson(file: string): FlatModel {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-gv-'));
  try {
    execFileSync('flatc', ['--json', '--raw-binary', '--strict-json', '-o', dir, path.join(REPO_ROOT, 'src/core/generated/tflite/schema_flatc2.fbs'), '--', file]);
    return JSON.parse(fs.readFileSync(path.join(dir, path.basename(file, '.tflite') + '.json'), 'utf8')) as FlatModel;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('buildGraphView on TFLite models (checked against flatc --json)', () => {
  for (const rel of [['tflite-micro', 'hello_world', 'models', 'hello_world_int8.tflite'], ['mlperf-tiny', 'visual_wake_words', 'trained_models', 'vww_96_int8.tflite']]) {
    test(rel[rel.length - 1], async () => {
      const file = sharedModel('tflite', ...rel);
      const ref = flatcJson(file).subgraphs[0];
      const view = buildGraphView(await openModelFile(file));
      assert.equal(view.opCount, ref.operators.length);
      const ops = view.nodes.filter((n) => n.kind === 'op');
      const producedBy = new Map<number, number>();
      ref.operators.forEach((op, i) => op.outputs.forEach((t) => producedBy.set(t, i)));
      let expectedEdges = 0;
      ref.operators.forEach((op, i) => {
        const out = ref.tensors[op.outputs[0]];
        // Scope: the first of the fused names, its path minus the last segment.
        const segs = out.name.split(';')[0].split('/').filter((x) => x);
        segs.pop();
        assert.equal(view.groups[ops[i].group].path, segs.map((x) => '/' + x).join(''), out.name);
        const q = view.tensors[ops[i].outputs[0]].quant;
        if (out.quantization?.scale?.length === 1) {
          // flatc prints floats rounded to about 6 digits: compare values, not text.
          const m = /^scale (\S+) zp (-?\d+)$/.exec(q ?? '');
          assert.ok(m, `${out.name}: ${q}`);
          assert.ok(Math.abs(Number(m[1]) / out.quantization.scale[0] - 1) < 1e-3, `${q} vs ${out.quantization.scale[0]}`);
          assert.equal(Number(m[2]), out.quantization.zero_point?.[0] ?? 0);
        }
        const seen = new Set<number>();
        for (const t of op.inputs) {
          if (t < 0 || seen.has(t)) continue;
          seen.add(t);
          if (producedBy.has(t) || ref.inputs.includes(t)) expectedEdges++;
        }
      });
      expectedEdges += ref.outputs.length; // each graph output node has one incoming edge
      assert.equal(view.edges.length, expectedEdges);
    });
  }
});

describe('buildGraphView on a synthetic scoped transformer', () => {
  const n = 3 * BLOCK_SIZE + 1; // embedding Gather + 3 encoder blocks
  const view = buildGraphView(syntheticTransformer(n));

  test('groups follow the name scopes, with correct parents, depths and sizes', () => {
    const byPath = new Map(view.groups.map((g) => [g.path, g]));
    const enc = byPath.get('/encoder')!;
    assert.equal(enc.parent, 0);
    assert.equal(enc.depth, 1);
    assert.equal(enc.size, 3 * BLOCK_SIZE);
    const layer1 = byPath.get('/encoder/layer.1')!;
    assert.equal(layer1.parent, enc.id);
    assert.equal(layer1.label, 'layer.1');
    assert.equal(layer1.size, BLOCK_SIZE);
    const q = byPath.get('/encoder/layer.1/attention/self/query')!;
    assert.equal(q.depth, 5);
    assert.deepEqual(q.nodes.map((i) => view.nodes[i].opType), ['MatMul', 'Add']);
    assert.equal(view.groups[0].size, n + 2);
    // Every node is listed by exactly one group, and that group is its own.
    const listed = new Map<number, number>();
    for (const g of view.groups) for (const i of g.nodes) listed.set(i, g.id);
    assert.equal(listed.size, view.nodes.length);
    for (const node of view.nodes) assert.equal(listed.get(node.id), node.group);
  });

  test('collapsed groups summarise their op mix', () => {
    const ln = view.groups.find((g) => g.path === '/encoder/layer.0/output/LayerNorm')!;
    assert.deepEqual(ln.opMix, [['Add', 2], ['ReduceMean', 2], ['Div', 1], ['Mul', 1]]);
  });

  test('edges: residual connections cross scopes; each op input has an edge or is a constant', () => {
    const set = edgeSet(view);
    assert.ok(set.has('/encoder/layer.0/output/LayerNorm/Add_b2->/encoder/layer.1/attention/output/Add_r1:/encoder/layer.0/output/LayerNorm/Add_b2_output_0'));
    let inputs = 0;
    for (const node of view.nodes) for (const t of node.inputs) if (t >= 0 && !view.tensors[t].constant) inputs++;
    assert.equal(view.edges.length, inputs);
  });

  test('groupChain lists the ancestors outermost first', () => {
    const node = view.nodes.find((x) => x.name === '/encoder/layer.2/attention/self/Softmax_sm')!;
    assert.deepEqual(groupChain(view, node.id).map((g) => view.groups[g].path), ['', '/encoder', '/encoder/layer.2', '/encoder/layer.2/attention', '/encoder/layer.2/attention/self']);
  });
});

describe('chunking bounds every group', () => {
  test('a flat graph of 1,000 nodes is split into chunks of at most `chunk` members, nested if needed', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({ name: `n${i}`, opType: 'Relu', inputs: [i ? `t${i - 1}` : 'x'], outputs: [`t${i}`] }));
    const view = buildGraphView(modelOf(nodes, ['x'], ['t999']), { chunk: 16 });
    for (const g of view.groups) assert.ok(g.groups.length + g.nodes.length <= 16, `${g.path} has ${g.groups.length + g.nodes.length}`);
    assert.equal(view.groups[0].size, 1002);
    // Chunks keep graph order: walking the tree depth-first yields nodes 0..1001 in order.
    const order: number[] = [];
    const walk = (g: number): void => {
      const gr = view.groups[g];
      // Members interleave by first node; chunks hold consecutive runs so nodes-then-groups is enough here.
      for (const i of gr.nodes) order.push(i);
      for (const c of gr.groups) walk(c);
    };
    walk(0);
    assert.deepEqual(order, Array.from({ length: 1002 }, (_, i) => i));
    assert.ok(view.groups.every((g) => g.id === 0 || g.synthetic));
    // Depth is consistent with parents.
    for (const g of view.groups) if (g.parent >= 0) assert.equal(g.depth, view.groups[g.parent].depth + 1);
  });

  test('50,000 synthetic nodes: bounded groups (the time it takes is in npm run bench)', () => {
    const view = buildGraphView(syntheticTransformer(50_000));
    assert.equal(view.opCount, 50_000);
    for (const g of view.groups) assert.ok(g.groups.length + g.nodes.length <= 64);
  });
});

describe('hostile and odd inputs', () => {
  test('omitted optional inputs are -1; duplicate inputs give one edge; names are kept verbatim', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const view = buildGraphView(modelOf([
      { name: evil, opType: 'Relu', inputs: ['x'], outputs: ['a'] },
      { name: 'mul', opType: 'Mul', inputs: ['a', 'a', ''], outputs: ['b'] },
    ], ['x'], ['b']));
    assert.equal(view.nodes[1].name, evil);
    assert.deepEqual(view.nodes[2].inputs.slice(2), [-1]);
    assert.equal(view.edges.filter((e) => e.to === 2).length, 1);
  });
});
