/**
 * Robustness on MNIST: mnist-12 against onnxruntime's int8 model on the 200 labelled sample images.
 * Level 0 equals the plain evaluation exactly; every level's numbers equal an independent
 * computation here: the test reads the IDX files itself, shifts the images with its own code (its
 * own mulberry32 / Box-Muller noise with the documented seed, a direct 2-D Gaussian convolution
 * with the edge repeated), runs both models in its own sessions and counts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { evaluateModels } from '../../src/core/eval/evaluate';
import { robustness } from '../../src/core/eval/robustness';
import { loadOrt } from '../../src/core/runtime/ort';
import { REPO_ROOT, sharedModel } from '../helpers/paths';

const FLOAT = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const INT8 = sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx');
const IMAGES = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
const LABELS = path.join(REPO_ROOT, 'samples', 'mnist-200-labels-idx1-ubyte.gz');
const SEED = 5;

const pixels = zlib.gunzipSync(fs.readFileSync(IMAGES)).subarray(16);
const labels = zlib.gunzipSync(fs.readFileSync(LABELS)).subarray(8);
const N = labels.length;

function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** n standard normal values: Box-Muller pairs (cos first, then sin). */
function normals(seed: number, n: number): number[] {
  const u = uniform(seed);
  const out: number[] = [];
  while (out.length < n) {
    const r = Math.sqrt(-2 * Math.log(u() || 2 ** -32));
    const th = 2 * Math.PI * u();
    out.push(r * Math.cos(th), r * Math.sin(th));
  }
  return out.slice(0, n);
}
/** The documented per-sample seed: seed * 0x9e3779b1 ^ (sample + 1) * 0x85ebca6b ^ (input + 1) * 0xc2b2ae35, 32-bit. */
const sampleSeed = (sample: number): number => (Math.imul(SEED, 0x9e3779b1) ^ Math.imul(sample + 1, 0x85ebca6b) ^ Math.imul(1, 0xc2b2ae35)) >>> 0;

/** Direct (not separable) 2-D Gaussian blur of a 28x28 image, radius ceil(3 sigma), edge repeated. */
function blur2d(x: Float32Array, sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const w: number[] = [];
  for (let i = -r; i <= r; i++) w.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
  const sum = w.reduce((a, b) => a + b, 0);
  const out = new Float32Array(784);
  const at = (v: number): number => Math.min(27, Math.max(0, v));
  for (let y = 0; y < 28; y++) {
    for (let c = 0; c < 28; c++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) s += (w[dy + r] * w[dx + r]) / (sum * sum) * x[at(y + dy) * 28 + at(c + dx)];
      out[y * 28 + c] = s;
    }
  }
  return out;
}

test('MNIST float vs int8 under shifts: level 0 is the plain evaluation, every level matches an independent count', async () => {
  const levels = { noise: [0.2, 0.5], brightness: [-0.5, 1], scale: [0.5], blur: [1] };
  const shifts = Object.entries(levels).map(([kind, lv]) => ({ kind: kind as 'noise', levels: lv }));
  const r = await robustness(FLOAT, INT8, { data: IMAGES, labels: LABELS, shifts, seed: SEED });
  const plain = await evaluateModels(FLOAT, INT8, { data: IMAGES, labels: LABELS });
  const base = r.rows[0];
  assert.deepEqual([base.kind, base.level], ['none', 0]);
  assert.equal(base.float, plain.models[0].classification!.top1);
  assert.equal(base.quantized, plain.models[1].classification!.top1);
  assert.equal(base.top1Agreement, plain.comparison!.top1Agreement);
  assert.equal(base.sqnrDb, plain.comparison!.sqnrDb);

  // the data's std over every pixel
  let s = 0, ss = 0;
  for (const v of pixels) { s += v; ss += v * v; }
  const std = Math.sqrt(ss / pixels.length - (s / pixels.length) ** 2);
  assert.ok(Math.abs(r.dataStd.Input3 - std) < 1e-9 * std);

  const ort = loadOrt();
  const sessions = await Promise.all([FLOAT, INT8].map((m) => ort.InferenceSession.create(m)));
  const shift = (kind: string, level: number, i: number, x: Float32Array): Float32Array => {
    if (kind === 'noise') { const z = normals(sampleSeed(i), 784); return x.map((v, j) => v + level * std * z[j]); }
    if (kind === 'brightness') return x.map((v) => v + level * std);
    if (kind === 'scale') return x.map((v) => v * (1 + level));
    if (kind === 'blur') return blur2d(x, level);
    return x;
  };
  const table: string[] = [];
  let fragileSeen = 0;
  for (const row of r.rows) {
    let cf = 0, cq = 0, same = 0, sig = 0, noise = 0;
    for (let i = 0; i < N; i++) {
      const x = shift(row.kind, row.level, i, Float32Array.from(pixels.subarray(i * 784, (i + 1) * 784)));
      const ys = [];
      for (const sess of sessions) ys.push((await sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) }))[sess.outputNames[0]].data as Float32Array);
      const pred = ys.map((y) => y.reduce((b, v, k) => (v > y[b] ? k : b), 0));
      cf += +(pred[0] === labels[i]); cq += +(pred[1] === labels[i]); same += +(pred[0] === pred[1]);
      for (let k = 0; k < 10; k++) { sig += ys[0][k] ** 2; noise += (ys[0][k] - ys[1][k]) ** 2; }
    }
    const what = `${row.kind} ${row.level}`;
    assert.equal(row.float, cf / N, `${what} float`);
    assert.equal(row.quantized, cq / N, `${what} int8`);
    assert.equal(row.top1Agreement, same / N, `${what} agreement`);
    assert.ok(Math.abs(row.sqnrDb - 10 * Math.log10(sig / noise)) < 1e-6, `${what} SQNR ${row.sqnrDb} vs ${10 * Math.log10(sig / noise)}`);
    const drops: [number, number] = [base.float! - cf / N, base.quantized! - cq / N];
    assert.equal(row.fragile, drops[1] - drops[0] > 0.01 + 1e-12, `${what} flag`);
    fragileSeen += +row.fragile;
    table.push(`${what}: float ${(100 * cf / N).toFixed(1)} %, int8 ${(100 * cq / N).toFixed(1)} %, agreement ${(100 * same / N).toFixed(1)} %, SQNR ${row.sqnrDb.toFixed(2)} dB${row.fragile ? ' FRAGILE' : ''}`);
  }
  for (const sess of sessions) await sess.release();
  console.log(`MNIST-200 robustness (std ${std.toFixed(3)}):\n  ${table.join('\n  ')}`);
  // the shifts are real: noise at 0.5 std and brightness +1 std move the outputs away from level 0
  const sqnr = (kind: string, level: number): number => r.rows.find((x) => x.kind === kind && x.level === level)!.sqnrDb;
  assert.ok(sqnr('noise', 0.5) < base.sqnrDb - 3 && sqnr('brightness', 1) < base.sqnrDb - 3);
  // brightness +1 std costs int8 two points more than float on these images: flagged
  assert.ok(fragileSeen > 0);
});

test('robustness: an unknown shift kind gets one clear message; cancel rejects', async () => {
  await assert.rejects(robustness(FLOAT, INT8, { data: IMAGES, shifts: [{ kind: 'fog' as 'noise', levels: [1] }] }), /Unknown shift kind 'fog'/);
  const ac = new AbortController();
  await assert.rejects(
    robustness(FLOAT, INT8, { data: IMAGES, signal: ac.signal, onProgress: (p) => { if (p.done === 10) ac.abort(); } }),
    (e: Error) => e.name === 'AbortError',
  );
});
