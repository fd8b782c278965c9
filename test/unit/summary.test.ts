/**
 * Model summaries on the real corpus. Expected facts come from MANIFEST.md's independent
 * description of each file (python3-onnx, the producing tools), not from our reader.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import { sharedModel } from '../helpers/paths';

async function summaryOf(...p: string[]) {
  return summarize(await openModelFile(sharedModel(...p)));
}

test('mnist-12 float: 12 nodes, Input3 float32[1,1,28,28], no quantization', async () => {
  const s = await summaryOf('onnx', 'mnist', 'mnist-12.onnx');
  assert.equal(s.nodeCount, 12);
  assert.equal(s.opsetOrVersion, 12);
  assert.deepEqual(s.inputs, [{ name: 'Input3', dtype: 'float32', shape: [1, 1, 28, 28] }]);
  assert.equal(s.quantization.scheme, 'none');
  assert.equal(s.opHistogram.Conv, 2);
});

test('mnist-12-int8 is detected as QOperator with its quant ops', async () => {
  const s = await summaryOf('onnx', 'mnist', 'mnist-12-int8.onnx');
  assert.equal(s.nodeCount, 11);
  assert.equal(s.quantization.scheme, 'qoperator');
  assert.equal(s.quantization.quantOps.QLinearConv, 2);
  assert.equal(s.quantization.quantOps.QLinearMatMul, 1);
  assert.ok(s.quantization.quantizedTensorCount > 0);
});

test('mnist-12-uint8 is detected as dynamic quantization', async () => {
  const s = await summaryOf('onnx', 'mnist', 'mnist-12-uint8.onnx');
  assert.equal(s.nodeCount, 25);
  assert.equal(s.quantization.scheme, 'dynamic');
  assert.equal(s.quantization.quantOps.ConvInteger, 2);
  assert.equal(s.quantization.quantOps.DynamicQuantizeLinear, 3);
});

test('mnist-12-float16 is detected as fp16', async () => {
  const s = await summaryOf('onnx', 'mnist', 'mnist-12-float16.onnx');
  assert.equal(s.nodeCount, 14);
  assert.equal(s.quantization.scheme, 'fp16');
});

test('mobilenetv2-12-int8 (73 nodes, 52 QLinearConv)', async () => {
  const s = await summaryOf('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx');
  assert.equal(s.nodeCount, 73);
  assert.equal(s.quantization.quantOps.QLinearConv, 52);
  assert.equal(s.quantization.scheme, 'qoperator');
  assert.deepEqual(s.inputs[0], { name: 'input', dtype: 'float32', shape: ['batch_size', 3, 224, 224] });
});

test('TFLite: full-int8, 16x8 and hybrid models are told apart', async () => {
  const int8 = await summaryOf('tflite', 'mlperf-tiny', 'keyword_spotting', 'trained_models', 'kws_ref_model.tflite');
  assert.equal(int8.format, 'tflite');
  assert.equal(int8.quantization.scheme, 'tflite-int8');
  const hybrid = await summaryOf('tflite', 'mlperf-tiny', 'keyword_spotting', 'trained_models', 'kws_ref_model_float32.tflite');
  assert.equal(hybrid.quantization.scheme, 'tflite-dynamic-range');
  const x16 = await summaryOf('tflite', 'tflite-micro', 'models', 'keyword_scrambled.tflite');
  assert.equal(x16.quantization.scheme, 'tflite-int16x8');
  const x8 = await summaryOf('tflite', 'tflite-micro', 'models', 'keyword_scrambled_8bit.tflite');
  assert.equal(x8.quantization.scheme, 'tflite-int8');
  const f = await summaryOf('tflite', 'tflite-micro', 'hello_world', 'models', 'hello_world_float.tflite');
  assert.equal(f.quantization.scheme, 'none');
});

test('a QDQ model written by the quantizer is detected as QDQ', async () => {
  const { quantizeModel } = await import('../../src/core/quant/quantize');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-summary-'));
  try {
    const out = path.join(dir, 'q.onnx');
    await quantizeModel(sharedModel('onnx', 'mnist', 'mnist-12.onnx'), out, { recipe: { version: 1, mode: 'static', perChannel: true, calibration: { synthetic: { count: 4, seed: 1 } } } });
    const s = summarize(await openModelFile(out));
    assert.equal(s.quantization.scheme, 'qdq');
    assert.ok(s.quantization.quantOps.DequantizeLinear > 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
