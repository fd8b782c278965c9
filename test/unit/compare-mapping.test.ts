/**
 * The compare view's translation between mnist-12 and onnxruntime's QOperator int8 MNIST (renamed
 * and fused ops; the pairs are the ones read off its node list by hand in compare-match.test.ts):
 * selections both ways with the op first, the node to centre, and the float overlay re-keyed.
 */
import * as assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import { openModelFile } from '../../src/core/open';
import { CompareMapping } from '../../src/host/compareMapping';
import type { LayerResultsMessage } from '../../src/protocol';
import { SAMPLE_MODEL, sharedModel } from '../helpers/paths';

let fv: GraphView;
let qv: GraphView;
let map: CompareMapping;
before(async () => {
  fv = buildGraphView(await openModelFile(SAMPLE_MODEL));
  qv = buildGraphView(await openModelFile(sharedModel('onnx/mnist/mnist-12-int8.onnx')));
  map = new CompareMapping(fv, qv);
});

test('a float selection becomes its quantized op first, then the quantizers it owns', () => {
  assert.deepEqual(map.selectionInPeer('float', ['Convolution110']), ['Convolution110_quant', 'Convolution110_DequantizeLinear_0']);
  assert.deepEqual(map.selectionInPeer('float', ['Times212', 'Plus214']).slice(0, 2), ['gemm_MatMul_quant', 'gemm_Add_quant']);
  // ReLU32 was fused into the QLinearConv: nothing stands for it.
  assert.deepEqual(map.selectionInPeer('float', ['ReLU32']), []);
  assert.deepEqual(map.selectionInPeer('float', []), []);
});

test('a quantized selection (an op or one of its quantizers) becomes the float op', () => {
  assert.deepEqual(map.selectionInPeer('quantized', ['Convolution110_quant']), ['Convolution110']);
  assert.deepEqual(map.selectionInPeer('quantized', ['Convolution110_DequantizeLinear_0', 'Convolution110_quant']), ['Convolution110']);
  assert.deepEqual(map.selectionInPeer('quantized', ['Input3_Convolution28_QuantizeLinear']), ['Input3']);
  assert.deepEqual(map.selectionInPeer('quantized', ['no such node']), []);
});

test('the node to centre is the op, never a quantizer', () => {
  assert.equal(map.centreInPeer('float', 'Convolution110'), 'Convolution110_quant');
  assert.equal(map.centreInPeer('float', 'Pooling160'), 'Pooling160');
  assert.equal(map.centreInPeer('quantized', 'gemm_Add_quant'), 'Plus214');
  assert.equal(map.centreInPeer('quantized', 'Convolution110_DequantizeLinear_0'), 'Convolution110');
  assert.equal(map.centreInPeer('float', 'ReLU32'), undefined);
});

test('the float overlay on the quantized graph: renamed ops get their layer\'s values, quantizers none', () => {
  const floatOps = fv.nodes.filter((n) => n.kind === 'op');
  const value = new Map(floatOps.map((n, i) => [n.name, 10 + i]));
  const msg: LayerResultsMessage = { type: 'layerResults', run: 'r1', source: 'compare', metric: 'sqnrDb', done: true,
    results: floatOps.map((n) => ({ node: n.name, values: { sqnrDb: value.get(n.name)! } })) };
  const out = map.overlayForQuantized(msg);
  const got = new Map(out.results.map((r) => [r.node, r.values.sqnrDb]));
  assert.equal(out.run, 'r1');
  assert.equal(got.get('Convolution110_quant'), value.get('Convolution110'));
  assert.equal(got.get('Convolution28_quant'), value.get('Convolution28'));
  assert.equal(got.get('gemm_MatMul_quant'), value.get('Times212'));
  assert.equal(got.get('gemm_Add_quant'), value.get('Plus214'));
  const byName = new Map(qv.nodes.map((n) => [n.name, n]));
  for (const r of out.results) {
    const n = byName.get(r.node);
    assert.ok(n, `${r.node} is a node of the quantized graph`);
    assert.ok(!/QuantizeLinear$/.test(n.opType), `${r.node} (${n.opType}) is not a quantizer`);
  }
  assert.ok(!got.has('Convolution110_DequantizeLinear_0'));
  assert.equal(new Set(out.results.map((r) => r.node)).size, out.results.length, 'each node once');
});
