/**
 * Q/DQ folding in the graph view model: a QDQ model folded must read like its float original.
 * Both models are built by python3-onnx (the independent side), with hand-chosen scales.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import { openModelFile } from '../../src/core/open';
import { SYSTEM_PYTHON, sharedModel } from '../helpers/paths';

const BUILD = `
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
out = sys.argv[1]
w = np.arange(18, dtype=np.float32).reshape(2, 1, 3, 3) / 10 - 0.8
b = np.array([0.5, -0.25], dtype=np.float32)
def model(nodes, inits, name):
    g = h.make_graph(nodes, name, [h.make_tensor_value_info('x', T.FLOAT, [1, 1, 5, 5])],
                     [h.make_tensor_value_info('rq', T.UINT8, [1, 2, 3, 3])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
    onnx.checker.check_model(m)
    return m
# The float original: x -> Conv(w, b) -> Relu -> QuantizeLinear (the output stays quantized).
fl = model([
    h.make_node('Conv', ['x', 'w', 'b'], ['y'], name='conv'),
    h.make_node('Relu', ['y'], ['r'], name='relu'),
    h.make_node('QuantizeLinear', ['r', 'r_s', 'r_z'], ['rq'], name='q_out'),
], [nh.from_array(w, 'w'), nh.from_array(b, 'b'), nh.from_array(np.array(0.05, np.float32), 'r_s'), nh.from_array(np.array(0, np.uint8), 'r_z')], 'float')
onnx.save(fl, out + '/float.onnx')
# Its QDQ form: activations through Q->DQ pairs, the weight stored as int8 per channel behind a DequantizeLinear.
ws = np.array([0.01, 0.02], dtype=np.float32)
wq = np.clip(np.round(w / ws.reshape(2, 1, 1, 1)), -127, 127).astype(np.int8)
qdq = model([
    h.make_node('QuantizeLinear', ['x', 'x_s', 'x_z'], ['xq'], name='q_x'),
    h.make_node('DequantizeLinear', ['xq', 'x_s', 'x_z'], ['xd'], name='dq_x'),
    h.make_node('DequantizeLinear', ['w_q', 'w_s', 'w_z'], ['wd'], name='dq_w', axis=0),
    h.make_node('Conv', ['xd', 'wd', 'b'], ['y'], name='conv'),
    h.make_node('QuantizeLinear', ['y', 'y_s', 'y_z'], ['yq'], name='q_y'),
    h.make_node('DequantizeLinear', ['yq', 'y_s', 'y_z'], ['yd'], name='dq_y'),
    h.make_node('Relu', ['yd'], ['r'], name='relu'),
    h.make_node('QuantizeLinear', ['r', 'r_s', 'r_z'], ['rq'], name='q_out'),
], [nh.from_array(np.array(0.125, np.float32), 'x_s'), nh.from_array(np.array(3, np.uint8), 'x_z'),
    nh.from_array(wq, 'w_q'), nh.from_array(ws, 'w_s'), nh.from_array(np.zeros(2, np.int8), 'w_z'), nh.from_array(b, 'b'),
    nh.from_array(np.array(0.0625, np.float32), 'y_s'), nh.from_array(np.array(128, np.uint8), 'y_z'),
    nh.from_array(np.array(0.05, np.float32), 'r_s'), nh.from_array(np.array(0, np.uint8), 'r_z')], 'qdq')
onnx.save(qdq, out + '/qdq.onnx')
`;

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-fold-'));
  execFileSync(SYSTEM_PYTHON, ['-c', BUILD, dir]);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Structure by names: ops in order, and edges as producer -> consumer (tensor names differ by design). */
function structure(v: GraphView): { ops: string[]; edges: string[] } {
  return {
    ops: v.nodes.map((n) => `${n.kind}:${n.kind === 'op' ? n.opType : ''}`),
    edges: v.edges.map((e) => `${v.nodes[e.from].kind === 'op' ? v.nodes[e.from].name : v.nodes[e.from].kind}->${v.nodes[e.to].kind === 'op' ? v.nodes[e.to].name : v.nodes[e.to].kind}`).sort(),
  };
}

describe('Q/DQ folding', () => {
  test('a folded QDQ model has the structure of its float original', async () => {
    const float = buildGraphView(await openModelFile(path.join(dir, 'float.onnx')));
    const qdqModel = await openModelFile(path.join(dir, 'qdq.onnx'));
    const plain = buildGraphView(qdqModel);
    const folded = buildGraphView(qdqModel, { foldQdq: true });
    // Unfolded: all 8 ops; folded: the 5 Q/DQ nodes inside the graph go, the output's Q stays.
    assert.equal(plain.opCount, 8);
    assert.equal(plain.qdqCount, 6);
    assert.equal(plain.foldedQdq, undefined);
    // The unfolded view already says what folding would remove: the webview offers it on that.
    assert.equal(plain.qdqFoldable, 5);
    assert.equal(folded.opCount, 3);
    assert.equal(folded.foldedQdq, 5);
    assert.deepEqual(structure(folded), structure(float));
  });

  test('folded edges and weights carry the quantization parameters (hand-chosen scales)', async () => {
    const folded = buildGraphView(await openModelFile(path.join(dir, 'qdq.onnx')), { foldQdq: true });
    const conv = folded.nodes.find((n) => n.name === 'conv')!;
    const ins = conv.inputs.map((t) => folded.tensors[t]);
    assert.deepEqual(ins.map((t) => t.name), ['x', 'w_q', 'b']);
    // The activation edge: x with its Q/DQ pair's parameters, marked folded.
    assert.equal(ins[0].folded, true);
    assert.deepEqual(ins[0].q && { scale: ins[0].q.scale, zeroPoint: ins[0].q.zeroPoint }, { scale: [0.125], zeroPoint: [3] });
    // The weight: the stored int8 constant, per-channel along axis 0.
    assert.equal(ins[1].constant, true);
    assert.equal(ins[1].dtype, 'int8');
    assert.deepEqual(ins[1].shape, [2, 1, 3, 3]);
    assert.equal(ins[1].folded, true);
    assert.equal(ins[1].q?.axis, 0);
    assert.deepEqual(ins[1].q?.scale.map((s) => Math.fround(s)), [Math.fround(0.01), Math.fround(0.02)]);
    assert.deepEqual(ins[1].q?.zeroPoint, [0, 0]);
    // Conv -> Relu runs over y, which carries y's pair (scale 1/16, zero point 128).
    const edge = folded.edges.find((e) => folded.nodes[e.from].name === 'conv' && folded.nodes[e.to].name === 'relu')!;
    const y = folded.tensors[edge.tensor];
    assert.equal(y.name, 'y');
    assert.equal(y.folded, true);
    assert.deepEqual(y.q && [y.q.scale, y.q.zeroPoint], [[0.0625], [128]]);
    // No tensor in the folded view is the output of a removed node.
    for (const t of ['xq', 'xd', 'wd', 'yq', 'yd']) assert.ok(!folded.tensors.some((x) => x.name === t), t);
    // Groups still account for every node.
    assert.equal(folded.groups[0].size, folded.nodes.length);
  });

  test('Q/DQ that do not form foldable pairs are left alone (mnist-12-int8: QOperator with boundary Q and DQ)', async () => {
    const model = await openModelFile(sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx'));
    const plain = buildGraphView(model);
    const folded = buildGraphView(model, { foldQdq: true });
    assert.equal(plain.qdqCount, 4);
    assert.equal(plain.qdqFoldable, 0);
    assert.equal(folded.foldedQdq, 0);
    assert.deepEqual(structure(folded), structure(plain));
  });

  test('a DequantizeLinear whose input is a graph input (onnx-node-quant test_dequantizelinear) stays', async () => {
    const file = sharedModel('onnx', 'onnx-node-quant', 'test_dequantizelinear', 'model.onnx');
    const folded = buildGraphView(await openModelFile(file), { foldQdq: true });
    assert.equal(folded.foldedQdq, 0);
    assert.deepEqual(folded.nodes.filter((n) => n.kind === 'op').map((n) => n.opType), ['DequantizeLinear']);
  });
});
