/**
 * The sweep's reuse method: each layer's configurations run only the graph below that layer, fed
 * with the whole-model runs' values.
 *  - cutBelow on a hand-made graph with a branch and a constant-only node: which nodes are kept
 *    and which tensors are fed; the cut model run in onnxruntime on the whole model's values gives
 *    the whole model's output bit for bit;
 *  - on MNIST, every layer's numbers equal the naive method's (one model and one session per
 *    configuration) exactly, for SQNR and top-1, and also when the memory bound forces the whole
 *    model to run again per group of layers.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Graph, Model, Node, Value } from '../../src/core/model';
import { writeOnnx } from '../../src/core/formats/onnx';
import { loadOrt } from '../../src/core/runtime/ort';
import { cutBelow, cutModel } from '../../src/core/eval/cut';
import { sensitivity } from '../../src/core/eval/sensitivity';
import { REPO_ROOT } from '../helpers/paths';

const MODEL = path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
const DATA = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
const LABELS = path.join(REPO_ROOT, 'samples', 'mnist-200-labels-idx1-ubyte.gz');

/**
 *   x -> A(MatMul w1) -> a -> B(MatMul wk) -> b -> D(Add b, c) -> d (output)
 *                          \-> C(Relu)     -> c -/
 *   w2 -> K(Neg) -> wk (constant-only);  a -> E(Sigmoid) -> e (a dead end)
 */
function branchModel(): Model {
  const values = new Map<string, Value>();
  const initializers: string[] = [];
  const val = (name: string, shape: number[] | null): void => { values.set(name, { name, type: shape ? { dtype: 'float32', shape } : null, consumers: [] }); };
  const init = (name: string, data: number[], shape: number[]): void => {
    values.set(name, { name, type: { dtype: 'float32', shape }, consumers: [], constant: { name, dtype: 'float32', shape, data: { kind: 'bytes', bytes: new Uint8Array(Float32Array.from(data).buffer) } } });
    initializers.push(name);
  };
  val('x', [1, 3]);
  init('w1', [0.3, -1.2, 0.7, 2.1, -0.4, 0.9, 1.5, 0.2, -0.8], [3, 3]);
  init('w2', [1.1, 0.5, -0.3, 0.6, -1.7, 0.4, 0.25, 0.9, -2.2], [3, 3]);
  const node = (name: string, opType: string, inputs: string[], output: string): Node => {
    val(output, null);
    return { name, opType, domain: '', inputs, outputs: [output], attributes: [], subgraphs: [] };
  };
  const nodes = [
    node('A', 'MatMul', ['x', 'w1'], 'a'), node('K', 'Neg', ['w2'], 'wk'), node('C', 'Relu', ['a'], 'c'),
    node('B', 'MatMul', ['a', 'wk'], 'b'), node('E', 'Sigmoid', ['a'], 'e'), node('D', 'Add', ['b', 'c'], 'd'),
  ];
  values.get('d')!.type = { dtype: 'float32', shape: [1, 3] };
  const graph: Graph = { name: 'branch', nodes, values, inputs: ['x'], outputs: ['d'], initializers };
  return { format: 'onnx', fileSize: 0, producer: 'test', formatVersion: 8, opsets: [{ domain: '', version: 13 }], description: '', metadata: {}, graphs: [graph], functions: [], signatures: [] };
}

test('cutBelow keeps the downstream nodes leading to the output and the constant-only ones feeding them', async () => {
  const model = branchModel();
  const g = model.graphs[0];
  const at = (name: string): Node => g.nodes.find((n) => n.name === name)!;
  const cut = cutBelow(g, at('B'), 'd')!;
  assert.deepEqual(cut.nodes.map((n) => n.name), ['K', 'B', 'D']);
  assert.deepEqual(cut.frontier.sort(), ['a', 'c']);
  // the graph input itself can be on the frontier
  assert.deepEqual(cutBelow(g, at('A'), 'd')!.frontier, ['x']);
  // the dead end does not lead to the output
  assert.equal(cutBelow(g, at('E'), 'd'), undefined);
  assert.equal(cutBelow(g, at('E'), 'e')!.nodes.length, 1);

  // the cut, fed with the whole model's values, computes the whole model's output bit for bit
  const ort = loadOrt();
  const whole = { ...model, graphs: [{ ...g, outputs: ['d', 'a', 'c'] }] };
  const full = await ort.InferenceSession.create(writeOnnx(whole));
  const x = new ort.Tensor('float32', Float32Array.of(0.37, -1.91, 2.05), [1, 3]);
  const r = await full.run({ x });
  const types = new Map(['a', 'c'].map((n) => [n, { dtype: 'float32' as const, shape: [1, 3] }]));
  const part = await ort.InferenceSession.create(writeOnnx(cutModel(model, cut, 'd', types)));
  assert.deepEqual([...part.inputNames].sort(), ['a', 'c']);
  const p = await part.run({ a: r.a, c: r.c });
  assert.deepEqual(Array.from(p.d.data as Float32Array), Array.from(r.d.data as Float32Array));
  // and differs when fed other values (the feeds are really used)
  const other = await part.run({ a: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]), c: r.c });
  assert.notDeepEqual(Array.from(other.d.data as Float32Array), Array.from(r.d.data as Float32Array));
  await full.release();
  await part.release();
});

test('MNIST: the reuse method gives the naive method\'s numbers exactly, for SQNR and top-1, in one group of layers or many', async () => {
  for (const labels of [undefined, LABELS]) {
    const opts = { data: DATA, offset: 150, limit: 24, labels };
    const naive = await sensitivity(MODEL, { ...opts, method: 'naive' });
    const reuse = await sensitivity(MODEL, { ...opts, method: 'reuse' });
    const grouped = await sensitivity(MODEL, { ...opts, method: 'reuse', keptBytes: 1 });
    assert.equal(naive.timing.sessions, 2 * naive.layers.length + 2);
    for (const r of [reuse, grouped]) {
      assert.equal(r.method, 'reuse');
      assert.deepEqual(r.layers, naive.layers);
      assert.equal(r.float, naive.float);
      assert.equal(r.quantized, naive.quantized);
      assert.deepEqual(r.ranking, naive.ranking);
    }
    // SQNR: the layers' numbers are not all alike (the comparison can tell layers apart)
    if (!labels) assert.ok(new Set(naive.layers.map((l) => l.onlyThis)).size > 2);
    // one group per layer: the whole models run again for each layer's values
    assert.ok(grouped.timing.runs > reuse.timing.runs, `${grouped.timing.runs} runs against ${reuse.timing.runs}`);
  }
});
