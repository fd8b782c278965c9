/** Key attributes shown on node boxes: worked by hand on small nodes, and on mnist-12 against python3-onnx. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { buildGraphView, keyAttributes } from '../../src/core/graphView';
import type { Attribute, Graph, Node } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { SAMPLE_MODEL, SYSTEM_PYTHON } from '../helpers/paths';

function node(opType: string, attributes: Attribute[], inputs: string[] = []): Node {
  return { name: 'n', opType, domain: '', inputs, outputs: ['y'], attributes, subgraphs: [] };
}
const ints = (name: string, value: number[]): Attribute => ({ name, value: { type: 'ints', value } });
const int = (name: string, value: number): Attribute => ({ name, value: { type: 'int', value } });
const str = (name: string, value: string): Attribute => ({ name, value: { type: 'string', value } });

function graphWith(weights: Record<string, number[]>): Graph {
  const values = new Map(Object.entries(weights).map(([name, shape]) => [name, { name, type: { dtype: 'float32' as const, shape }, consumers: [], constant: { name, dtype: 'float32' as const, shape, data: { kind: 'none' as const } } }]));
  return { name: 'g', nodes: [], values, inputs: [], outputs: [], initializers: Object.keys(weights) };
}

test('ONNX conv and pool: kernel, stride, group', () => {
  const g = graphWith({ W: [32, 1, 3, 3] });
  assert.equal(keyAttributes(node('Conv', [ints('strides', [2, 2]), int('group', 32)], ['x', 'W']), g), '3×3 /2 g32');
  assert.equal(keyAttributes(node('Conv', [ints('kernel_shape', [5, 5]), ints('strides', [1, 1])], ['x', 'W']), g), '5×5');
  assert.equal(keyAttributes(node('MaxPool', [ints('kernel_shape', [2, 2]), ints('strides', [2, 1])]), g), '2×2 /2×1');
  assert.equal(keyAttributes(node('Concat', [int('axis', 1)]), g), 'axis 1');
  assert.equal(keyAttributes(node('Gemm', [int('transB', 1)]), g), 'Bᵀ');
  assert.equal(keyAttributes(node('Relu', []), g), undefined);
});

test('TFLite conv: kernel from OHWI weights, stride, fused activation', () => {
  const g = graphWith({ w: [16, 3, 3, 8] });
  const attrs = [int('stride_h', 2), int('stride_w', 2), str('fused_activation_function', 'RELU6'), str('padding', 'SAME')];
  assert.equal(keyAttributes(node('CONV_2D', attrs, ['x', 'w']), g), '3×3 /2 +RELU6');
  assert.equal(keyAttributes(node('MAX_POOL_2D', [int('filter_height', 2), int('filter_width', 2), int('stride_h', 1), int('stride_w', 1), str('fused_activation_function', 'NONE')]), g), '2×2');
});

test('mnist-12: every Conv/MaxPool box shows its kernel_shape from the file (python3-onnx)', async () => {
  const script = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
out = {}
for n in m.graph.node:
    a = {x.name: list(x.ints) for x in n.attribute if x.name in ('kernel_shape', 'strides')}
    if n.op_type in ('Conv', 'MaxPool'): out[n.name] = a
print(json.dumps(out))`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', script, SAMPLE_MODEL], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(r.stdout) as Record<string, { kernel_shape: number[]; strides?: number[] }>;
  const view = buildGraphView(await openModelFile(SAMPLE_MODEL));
  assert.equal(Object.keys(ref).length, 4);
  for (const [name, a] of Object.entries(ref)) {
    const n = view.nodes.find((x) => x.name === name);
    assert.ok(n, name);
    const stride = a.strides && a.strides.some((s) => s !== 1) ? ` /${a.strides[0]}` : '';
    assert.equal(n.keyAttrs, `${a.kernel_shape.join('×')}${stride}`, name);
  }
});
