/**
 * Sensitivity acceptance on MNIST and the synthetic 50-layer CNN:
 *  - the sweep (whole-model runs reused, each layer's configurations run below that layer) gives
 *    exactly the numbers of the naive method (one model and one session per configuration, run
 *    here in the test's own sessions), for several layers' configurations;
 *  - the all-quantized configuration's SQNR matches the test's own run of the quantized file
 *    against the float model;
 *  - sensitivity is causal: quantizing again with the most sensitive layer kept float (recipe plan
 *    {node: 'float'}) gives a better output SQNR than keeping the least sensitive one, measured by
 *    the test in its own sessions on samples not used for the ranking.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, readIdx } from '../../src/core/data';
import { writeOnnxFile } from '../../src/core/formats/onnx';
import { openModelFile } from '../../src/core/open';
import { quantizeModel } from '../../src/core/quant/quantize';
import { loadOrt } from '../../src/core/runtime/ort';
import { mulberry32 } from '../../src/core/random';
import { sensitivity } from '../../src/core/eval/sensitivity';
import { configModel, gateLayers } from '../../src/core/eval/gate';
import { openPair } from '../../src/core/eval/layers';
import { writeOnnx } from '../../src/core/formats/onnx';
import { syntheticCnn } from '../../bench/quantize';
import { REPO_ROOT } from '../helpers/paths';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-sens-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Output SQNR (dB) of `model` against `float` over the samples, in plain sessions. */
async function outputSqnr(float: string | Uint8Array, model: string | Uint8Array, samples: Float32Array[], shape: number[], opts = {}): Promise<number> {
  const ort = loadOrt();
  const f = await ort.InferenceSession.create(float as string, opts);
  const q = await ort.InferenceSession.create(model as string, opts);
  let sig = 0;
  let noise = 0;
  for (const x of samples) {
    const feeds = { [f.inputNames[0]]: new ort.Tensor('float32', x, shape) };
    const a = (await f.run(feeds))[f.outputNames[0]].data as Float32Array;
    const b = (await q.run(feeds))[q.outputNames[0]].data as Float32Array;
    for (let k = 0; k < a.length; k++) { sig += a[k] ** 2; noise += (a[k] - b[k]) ** 2; }
  }
  await f.release();
  await q.release();
  return 10 * Math.log10(sig / noise);
}

interface Case { float: string; data: string; calib: number; rankFrom: number; rankN: number; heldOut: Float32Array[]; shape: number[]; rankSamples: Float32Array[] }

async function mnistCase(): Promise<Case> {
  const data = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
  const px = (await readIdx(data)).data as Uint8Array;
  const img = (i: number) => Float32Array.from(px.subarray(i * 784, (i + 1) * 784));
  return {
    float: path.join(REPO_ROOT, 'samples', 'mnist-12.onnx'), data, calib: 100, rankFrom: 100, rankN: 50,
    rankSamples: Array.from({ length: 50 }, (_, i) => img(100 + i)), heldOut: Array.from({ length: 50 }, (_, i) => img(150 + i)), shape: [1, 1, 28, 28],
  };
}

async function cnnCase(): Promise<Case> {
  const float = path.join(tmp, 'cnn50.onnx');
  await writeOnnxFile(syntheticCnn(50), float);
  const rnd = mulberry32(5);
  const n = 32;
  const all = new Float32Array(n * 3072).map(() => rnd() * 2 - 1);
  const data = path.join(tmp, 'cnn.npy');
  fs.writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [n, 3, 32, 32], data: all }));
  const s = (i: number) => all.slice(i * 3072, (i + 1) * 3072);
  return { float, data, calib: 16, rankFrom: 16, rankN: 6, rankSamples: Array.from({ length: 6 }, (_, i) => s(16 + i)), heldOut: Array.from({ length: 10 }, (_, i) => s(22 + i)), shape: [1, 3, 32, 32] };
}

async function check(name: string, c: Case, naiveLayers: number[]): Promise<void> {
  const recipe = { version: 1 as const, mode: 'static' as const, calibration: { data: c.data, limit: c.calib } };
  const qPath = path.join(tmp, `${name}-int8.onnx`);
  await quantizeModel(c.float, qPath, { recipe });
  const opts = { data: c.data, quantized: qPath, offset: c.rankFrom, limit: c.rankN };
  const sweep = await sensitivity(c.float, opts);
  assert.equal(sweep.samples, c.rankN);
  assert.equal(sweep.method, 'reuse');

  // the naive method on a few layers' configurations: the same numbers, exactly
  const { float, reference, view } = await openPair(c.float, qPath);
  void float;
  const layers = gateLayers(view, reference);
  assert.deepEqual(layers.map((l) => l.node), sweep.layers.map((l) => l.node));
  // the session options the sensitivity run uses (integer-kernel fusion and pre-packing off)
  const so = { graphOptimizationLevel: 'basic' as const, extra: { session: { disable_prepacking: '1' } } };
  const refBytes = writeOnnx(configModel(view, reference, layers.map(() => false)));
  for (const i of naiveLayers) {
    const only = writeOnnx(configModel(view, reference, layers.map((_, k) => k === i)));
    const allBut = writeOnnx(configModel(view, reference, layers.map((_, k) => k !== i)));
    assert.equal(await outputSqnr(refBytes, only, c.rankSamples, c.shape, so), sweep.layers[i].onlyThis, `${layers[i].node}: only this`);
    assert.equal(await outputSqnr(refBytes, allBut, c.rankSamples, c.shape, so), sweep.layers[i].allButThis, `${layers[i].node}: all but this`);
  }
  // every layer quantized is the quantized file itself, against the float model as given
  const direct = await outputSqnr(c.float, qPath, c.rankSamples, c.shape, so);
  assert.ok(Math.abs(direct - sweep.quantized) < 0.01, `all quantized: ${sweep.quantized} dB, the file itself ${direct} dB`);

  // causal: keep the most / the least sensitive layer float, quantize, measure on held-out samples
  const top = sweep.ranking[0];
  const bottom = sweep.ranking[sweep.ranking.length - 1];
  const keep = async (node: string): Promise<number> => {
    const out = path.join(tmp, `${name}-keep-${sweep.ranking.indexOf(node)}.onnx`);
    await quantizeModel(c.float, out, { recipe: { ...recipe, plan: { [node]: 'float' } } });
    return outputSqnr(c.float, out, c.heldOut, c.shape);
  };
  const base = await outputSqnr(c.float, qPath, c.heldOut, c.shape);
  const sTop = await keep(top);
  const sBottom = await keep(bottom);
  console.log(`${name}: ${layers.length} layers, all quantized ${sweep.quantized.toFixed(2)} dB; most sensitive ${top} (recovery ${sweep.layers.find((l) => l.node === top)!.recovery.toFixed(2)} dB), least ${bottom}; held-out SQNR: int8 ${base.toFixed(2)}, ${top} float ${sTop.toFixed(2)}, ${bottom} float ${sBottom.toFixed(2)}`);
  assert.ok(sTop > sBottom, `keeping ${top} float (${sTop} dB) beats keeping ${bottom} float (${sBottom} dB)`);
}

test('MNIST: the sweep equals naive exactly, and keeping the most sensitive layer float helps more than the least', async () => {
  await check('mnist', await mnistCase(), [0, 2, 5]);
});

test('50-layer CNN: the sweep equals naive exactly, and keeping the most sensitive layer float helps more than the least', async () => {
  await check('cnn50', await cnnCase(), [0, 1, 25, 50, 52]);
});

test('a model file the sensitivity run quantizes is never left behind, and the open model is read-only', async () => {
  const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('quantlens-sensitivity-')).length;
  const c = await mnistCase();
  const bytes = fs.readFileSync(c.float);
  const r = await sensitivity(c.float, { data: c.data, limit: 8 });
  assert.ok(r.timing.quantizeMs > 0 && r.layers.length === 6);
  assert.equal(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('quantlens-sensitivity-')).length, before);
  assert.deepEqual(fs.readFileSync(c.float), bytes);
  void openModelFile;
});
