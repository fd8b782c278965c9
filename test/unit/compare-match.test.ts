/**
 * Matching a quantized graph's nodes to its float original, on models made by two quantizers:
 * onnxruntime's QOperator int8 MNIST (renamed, fused ops; the pairs below are read off its node
 * list by hand) and QuantLens's own QDQ output.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { matchNodes } from '../../src/core/compare/matchNodes';
import { buildGraphView } from '../../src/core/graphView';
import { openModelFile } from '../../src/core/open';
import { quantizeModel } from '../../src/core/quant/quantize';
import { SAMPLE_MODEL, sharedModel } from '../helpers/paths';

const view = async (f: string) => buildGraphView(await openModelFile(f));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-match-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('onnxruntime QOperator MNIST: renamed and fused ops, quantizers owned by their op', async () => {
  const m = matchNodes(await view(SAMPLE_MODEL), await view(sharedModel('onnx/mnist/mnist-12-int8.onnx')));
  const expected: Record<string, string> = {
    Convolution28_quant: 'Convolution28', // QLinearConv with the bias Add fused in
    Pooling66_quant: 'Pooling66',
    Convolution110_quant: 'Convolution110',
    Pooling160: 'Pooling160',
    Times212_reshape0: 'Times212_reshape0',
    gemm_MatMul_quant: 'Times212', // QLinearMatMul reading what Times212 read
    gemm_Add_quant: 'Plus214',
    Input3_Convolution28_QuantizeLinear: 'Input3',
    Convolution110_DequantizeLinear_0: 'Convolution110',
    Pooling160_Output_0_reshape0_gemm_MatMul_QuantizeLinear: 'Times212_reshape0',
    Plus214_Output_0_DequantizeLinear_0: 'Plus214',
  };
  for (const [q, f] of Object.entries(expected)) assert.equal(m.quantToFloat.get(q), f, q);
  assert.deepEqual(m.floatToQuant.get('Convolution110'), ['Convolution110_quant', 'Convolution110_DequantizeLinear_0']);
  // The ReLU fused into QLinearConv has no counterpart: not matched to anything.
  assert.equal(m.floatToQuant.get('ReLU32'), undefined);
});

test('QuantLens QDQ output: every float op finds its namesake; every Q/DQ belongs to a float node', async () => {
  const out = path.join(dir, 'mnist-qdq.onnx');
  await quantizeModel(SAMPLE_MODEL, out, { recipe: { version: 1, mode: 'static', calibration: { synthetic: { count: 4 } } } });
  const fv = await view(SAMPLE_MODEL);
  const qv = await view(out);
  const m = matchNodes(fv, qv);
  const qNames = new Set(qv.nodes.map((n) => n.name));
  for (const f of fv.nodes) {
    if (!qNames.has(f.name)) continue;
    assert.equal(m.floatToQuant.get(f.name)?.[0], f.name, `${f.name} matches its namesake first`);
  }
  const quantizers = qv.nodes.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
  assert.ok(quantizers.length > 0, 'the QDQ model has quantizers');
  for (const q of quantizers) assert.ok(fv.nodes.some((f) => f.name === m.quantToFloat.get(q.name)), `${q.name} belongs to a float node`);
  // A Q on an op's output belongs to that op.
  const conv = qv.nodes.find((n) => n.name === 'Convolution28')!;
  const qOut = qv.nodes.find((n) => n.opType === 'QuantizeLinear' && qv.tensors[n.inputs[0]!]?.producer === conv.id);
  if (qOut) assert.equal(m.quantToFloat.get(qOut.name), 'Convolution28');
});
