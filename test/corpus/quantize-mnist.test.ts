/**
 * MNIST acceptance: static int8, per-channel, calibrated on test images 0..199 and evaluated on
 * 200..9999 with raw 0..255 input, against the float model and onnxruntime's own int8 model.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openCalibrationData, readIdx } from '../../src/core/data';
import { openModelFile } from '../../src/core/open';
import { inputSpecsFromModel } from '../../src/core/data';
import { quantizeModel } from '../../src/core/quant/quantize';
import { floatValues } from '../../src/core/quant/rewrite/graph';
import { loadOrt } from '../../src/core/runtime/ort';
import { sharedModel, SYSTEM_PYTHON } from '../helpers/paths';

const MODEL = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const ORT_INT8 = sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx');
const IMAGES = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
const LABELS = sharedModel('data', 'mnist', 't10k-labels-idx1-ubyte.gz');

export function checkWithOnnx(file: string): void {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]))', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `onnx.checker rejected ${file}: ${r.stderr}`);
}

async function accuracy(modelPath: string, images: Float32Array[], labels: ArrayLike<number>, from: number): Promise<number> {
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(modelPath);
  let correct = 0;
  for (let i = 0; i < images.length; i++) {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', images[i], [1, 1, 28, 28]) });
    const y = out[s.outputNames[0]].data as Float32Array;
    let best = 0;
    for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
    if (best === Number(labels[from + i])) correct++;
  }
  await s.release();
  return (100 * correct) / images.length;
}

test('MNIST static int8 per-channel: accuracy, size, checker, source untouched', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-mnist-'));
  const out = path.join(dir, 'mnist-int8.onnx');
  const hash = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  const before = hash(MODEL);
  const rangesPath = path.join(dir, 'ranges.json');
  const res = await quantizeModel(MODEL, out, {
    recipe: { version: 1, mode: 'static', perChannel: true, activationType: 'int8', weightType: 'int8', calibration: { data: IMAGES, limit: 200, offset: 0, method: 'minmax' } },
    rangesPath,
  });
  assert.equal(hash(MODEL), before, 'source model changed');
  checkWithOnnx(out);
  const ranges = JSON.parse(fs.readFileSync(rangesPath, 'utf8'));
  // ranges are calibrated for the tensors that get parameters of their own: the input and the two
  // Relu outputs (MaxPool and Reshape pass their input's on; the logits leave the graph as float)
  assert.deepEqual(Object.keys(ranges.tensors).sort(), ['Input3', 'ReLU114_Output_0', 'ReLU32_Output_0']);
  assert.equal(res.summary.calibration?.samples, 200);
  assert.deepEqual(res.summary.leftFloat, []);
  assert.equal(res.summary.quantizedByOp.Conv, 2);
  assert.equal(res.summary.quantizedByOp.Gemm, 1);
  const ratio = res.summary.sizeAfter / res.summary.sizeBefore;
  assert.ok(ratio <= 0.4, `size ratio ${ratio}`);
  // inputs / outputs of the original kept, recipe in metadata
  const q = await openModelFile(out);
  const src = await openModelFile(MODEL);
  assert.deepEqual(q.graphs[0].inputs, src.graphs[0].inputs);
  assert.deepEqual(q.graphs[0].outputs, src.graphs[0].outputs);
  assert.equal(JSON.parse(q.metadata['quantlens.recipe']).perChannel, true);
  const g = q.graphs[0];
  // every activation QuantizeLinear uses the scale of one of those ranges, widened to hold 0, by hand
  const expected = Object.values(ranges.tensors as Record<string, { min: number; max: number }>).map((r) => (Math.max(0, r.max) - Math.min(0, r.min)) / 255);
  const qScales = g.nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => floatValues(g.values.get(n.inputs[1])!.constant!)[0]);
  assert.ok(qScales.length >= 3);
  for (const sc of qScales) assert.ok(expected.some((e) => Math.abs(sc - e) <= 1e-6 * e), `scale ${sc} is none of ${expected}`);
  // weights are stored as int8 with per-channel DequantizeLinear
  const conv = g.nodes.filter((n) => n.opType === 'Conv');
  for (const c of conv) {
    const dq = g.nodes.find((n) => n.outputs[0] === c.inputs[1]);
    assert.equal(dq?.opType, 'DequantizeLinear');
    assert.equal(g.values.get(dq!.inputs[0])?.constant?.dtype, 'int8');
    assert.equal(g.values.get(dq!.inputs[1])?.constant?.shape.length, 1, 'per-channel scale');
    const bias = g.nodes.find((n) => n.outputs[0] === c.inputs[2]);
    assert.equal(g.values.get(bias!.inputs[0])?.constant?.dtype, 'int32');
  }

  // evaluation on 200..9999 with raw 0..255 input
  const data = await openCalibrationData(IMAGES, { inputs: inputSpecsFromModel(src), offset: 200, limit: 9800, scale: '0-255' });
  const images: Float32Array[] = [];
  for await (const s of data) images.push(Float32Array.from(Object.values(s)[0].data as Float32Array));
  assert.equal(images.length, 9800);
  const labels = (await readIdx(LABELS)).data as Uint8Array;
  const accFloat = await accuracy(MODEL, images, labels, 200);
  const accOrt = await accuracy(ORT_INT8, images, labels, 200);
  const accOurs = await accuracy(out, images, labels, 200);
  console.log(`MNIST 200..9999 raw: float ${accFloat.toFixed(3)} %, onnxruntime int8 ${accOrt.toFixed(3)} %, QuantLens int8 ${accOurs.toFixed(3)} %, size ${(100 * ratio).toFixed(1)} % of float`);
  assert.ok(Math.abs(accOurs - accFloat) <= 0.2, `accuracy ${accOurs} vs float ${accFloat}`);
  assert.ok(accOurs >= accOrt, `accuracy ${accOurs} below onnxruntime int8 ${accOrt}`);
  fs.rmSync(dir, { recursive: true, force: true });
});
