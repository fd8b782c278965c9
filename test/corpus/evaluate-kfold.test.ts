/**
 * k-fold cross-validation on MNIST (mnist-12, the 200 labelled sample images, k = 4), checked
 * independently: the test reads the IDX files itself, checks the reported folds partition the
 * samples with no fold calibrated on its own samples, re-quantizes each fold from the reported
 * calibration indices (its own stacked .npy) and gets the same outputs as the fold's model, counts
 * each fold's accuracy from onnxruntime outputs of that model, and recomputes mean and std.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { encodeNpy } from '../../src/core/data';
import { kfoldEvaluate } from '../../src/core/eval/kfold';
import { quantizeModel } from '../../src/core/quant/quantize';
import { loadOrt } from '../../src/core/runtime/ort';
import { REPO_ROOT, sharedModel } from '../helpers/paths';

const FLOAT = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const IMAGES = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
const LABELS = path.join(REPO_ROOT, 'samples', 'mnist-200-labels-idx1-ubyte.gz');
const K = 4;

/** IDX read by hand: 16-byte header for images, 8 for labels. */
const pixels = zlib.gunzipSync(fs.readFileSync(IMAGES)).subarray(16);
const labels = zlib.gunzipSync(fs.readFileSync(LABELS)).subarray(8);
const N = labels.length;
const image = (i: number): Float32Array => Float32Array.from(pixels.subarray(i * 784, (i + 1) * 784));

async function outputs(model: string, from: number, to: number): Promise<Float32Array[]> {
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(model);
  const out: Float32Array[] = [];
  for (let i = from; i < to; i++) out.push((await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', image(i), [1, 1, 28, 28]) }))[s.outputNames[0]].data as Float32Array);
  await s.release();
  return out;
}
const argmax = (y: Float32Array): number => y.reduce((b, v, i) => (v > y[b] ? i : b), 0);
const expand = (ranges: [number, number][]): number[] => ranges.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));

test('MNIST 4-fold: folds partition the samples, no fold calibrates on its own, accuracies and their spread match an independent count', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kfold-test-'));
  try {
    const work = path.join(root, 'work');
    const keep = path.join(root, 'keep');
    fs.mkdirSync(work);
    const r = await kfoldEvaluate(FLOAT, { data: IMAGES, labels: LABELS, folds: K, workDir: work, keepModels: keep });
    assert.deepEqual(fs.readdirSync(work), [], 'the temporary folder is removed');
    assert.equal(r.samples, N);
    assert.equal(r.perFold.length, K);

    const seen = new Array<number>(N).fill(0);
    const acc: { float: number; quantized: number }[] = [];
    for (const p of r.perFold) {
      const evaluated = expand([p.evaluated]);
      const calibrated = expand(p.calibrated);
      for (const i of evaluated) seen[i]++;
      assert.ok(calibrated.every((i) => i < p.evaluated[0] || i >= p.evaluated[1]), `fold ${p.fold} calibrated on its own samples`);
      assert.equal(calibrated.length + evaluated.length, N, `fold ${p.fold} calibrates on every other sample`);
      assert.equal(new Set(calibrated).size, calibrated.length);
      assert.equal(p.calibrationSamples, calibrated.length);

      // the fold's model is the one calibrated on exactly those samples: quantize them again here
      const cal = path.join(root, `cal-${p.fold}.npy`);
      const stacked = new Float32Array(calibrated.length * 784);
      calibrated.forEach((i, j) => stacked.set(image(i), j * 784));
      fs.writeFileSync(cal, encodeNpy({ dtype: 'float32', shape: [calibrated.length, 1, 28, 28], data: stacked }));
      const again = path.join(root, `again-${p.fold}.onnx`);
      await quantizeModel(FLOAT, again, { recipe: { version: 1, mode: 'static', calibration: { data: cal, limit: calibrated.length } } });
      const model = path.join(keep, `fold-${p.fold}.onnx`);
      const [yq, yAgain, yf] = await Promise.all([outputs(model, ...p.evaluated), outputs(again, ...p.evaluated), outputs(FLOAT, ...p.evaluated)]);
      assert.deepEqual(yq, yAgain, `fold ${p.fold}: same outputs as a model calibrated on the reported samples`);

      const correct = (ys: Float32Array[]): number => ys.filter((y, j) => argmax(y) === labels[p.evaluated[0] + j]).length;
      const n = evaluated.length;
      acc.push({ float: correct(yf) / n, quantized: correct(yq) / n });
      assert.equal(p.float.top1, correct(yf) / n);
      assert.equal(p.quantized.top1, correct(yq) / n);
      assert.equal(p.comparison.top1Agreement, yq.filter((y, j) => argmax(y) === argmax(yf[j])).length / n);
    }
    assert.deepEqual(seen, new Array<number>(N).fill(1), 'each sample evaluated exactly once');
    // a different calibration set gives a different model
    const first = await outputs(path.join(keep, 'fold-1.onnx'), 0, 20);
    assert.notDeepEqual(first, await outputs(path.join(keep, 'fold-4.onnx'), 0, 20));

    for (const role of ['float', 'quantized'] as const) {
      const xs = acc.map((a) => a[role]);
      const mean = (xs[0] + xs[1] + xs[2] + xs[3]) / 4;
      const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / 3);
      const row = r.summary.find((s) => s.metric === 'top1')![role]!;
      assert.ok(Math.abs(row.mean - mean) < 1e-12 && Math.abs(row.std - std) < 1e-12, `${role}: ${JSON.stringify(row)} vs ${mean} / ${std}`);
      assert.deepEqual([row.min, row.max], [Math.min(...xs), Math.max(...xs)]);
    }
    const d = r.summary.find((s) => s.metric === 'top1')!.delta!;
    const ds = acc.map((a) => a.float - a.quantized);
    assert.ok(Math.abs(d.mean - ds.reduce((a, b) => a + b, 0) / 4) < 1e-12);
    console.log(`MNIST-200 4-fold: ${r.summary.map((s) => `${s.metric} ${JSON.stringify(s.value ?? { float: s.float, quantized: s.quantized, delta: s.delta })}`).join('; ')}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('MNIST k-fold cancelled in the second fold: rejects as cancelled and leaves no temporary files', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kfold-cancel-'));
  try {
    const ac = new AbortController();
    const stages: string[] = [];
    await assert.rejects(
      kfoldEvaluate(FLOAT, {
        data: IMAGES, labels: LABELS, folds: K, workDir: work, signal: ac.signal,
        onProgress: (p) => { stages.push(`${p.fold}:${p.stage}`); if (p.fold === 2 && p.stage === 'quantizing') ac.abort(); },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.deepEqual(stages, ['0:reading', '1:quantizing', '1:evaluating', '2:quantizing']);
    assert.deepEqual(fs.readdirSync(work), []);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
