/**
 * Layer histograms on MNIST against independent numbers: the test runs the float model as the user
 * gave it (unfolded) in its own onnxruntime session with the layer's tensor as a graph output, on
 * samples it reads itself, and counts values into the reported bins; it quantizes the model with the
 * core quantizer and reads the QuantizeLinear / DequantizeLinear parameters of that tensor back from
 * the written file; and it derives MinMax scales from the dumped extremes by onnxruntime's formula.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readIdx } from '../../src/core/data';
import { writeOnnx } from '../../src/core/formats/onnx';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { quantizeModel } from '../../src/core/quant/quantize';
import type { Recipe } from '../../src/core/quant/recipe';
import { loadOrt } from '../../src/core/runtime/ort';
import { readConstantValues } from '../../src/core/tensor';
import { layerHistograms } from '../../src/core/eval/histograms';
import type { HistogramBins } from '../../src/core/eval/histogramBins';
import { REPO_ROOT, SAMPLE_MODEL, sharedModel } from '../helpers/paths';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-histograms-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const DATA = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
const T10K = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
const EVAL = fs.existsSync(T10K) ? T10K : DATA;

/** Samples [from, from + n) of an IDX image file, as the model's float input (0..255). */
async function images(file: string, from: number, n: number): Promise<Float32Array[]> {
  const px = (await readIdx(file)).data as Uint8Array;
  return Array.from({ length: n }, (_, i) => Float32Array.from(px.subarray((from + i) * 784, (from + i + 1) * 784)));
}

/** The tensor's values per sample, from the unfolded float model in a session of the test's own. */
async function dump(model: Model, tensor: string, samples: Float32Array[]): Promise<Float32Array[]> {
  const ort = loadOrt();
  const g = model.graphs[0];
  const s = await ort.InferenceSession.create(writeOnnx({ ...model, graphs: [{ ...g, outputs: [...g.outputs, tensor] }, ...model.graphs.slice(1)] }), { graphOptimizationLevel: 'disabled' });
  const out: Float32Array[] = [];
  for (const x of samples) out.push((await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) }))[tensor].data as Float32Array);
  await s.release();
  return out;
}

/** Counts into the reported bins by explicit edges; returns how many values sit in another bin than reported. */
function binsMoved(h: HistogramBins, chunks: Float32Array[]): number {
  const n = h.counts.length;
  const want = new Array<number>(n).fill(0);
  for (const c of chunks) {
    for (const v of c) {
      let k = 0;
      while (k < n - 1 && v >= h.start + (k + 1) * h.width) k++;
      want[k]++;
    }
  }
  return want.reduce((a, w, i) => a + Math.abs(w - h.counts[i]), 0) / 2;
}

function extremes(chunks: Float32Array[]): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  for (const c of chunks) for (const v of c) { if (v < min) min = v; if (v > max) max = v; }
  return { min, max };
}

/** Values outside [scale (qmin - zp - 1/2), scale (qmax - zp + 1/2)] (ties aside). */
function clipped(chunks: Float32Array[], s: number, z: number, qmin: number, qmax: number): number {
  let n = 0;
  for (const c of chunks) for (const v of c) if (v < s * (qmin - z - 0.5) || v > s * (qmax - z + 0.5)) n++;
  return n;
}

/** The QuantizeLinear of `tensor` in a written QDQ model, and its scale and zero point. */
async function quantizerOf(file: string, tensor: string): Promise<{ scale: number; zeroPoint: number; dtype: string }> {
  const g = (await openModelFile(file)).graphs[0];
  const q = g.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === tensor);
  assert.ok(q, `a QuantizeLinear reads ${tensor}`);
  const zc = g.values.get(q.inputs[2])!.constant!;
  return { scale: (await readConstantValues(g.values.get(q.inputs[1])!.constant!))[0], zeroPoint: (await readConstantValues(zc))[0], dtype: zc.dtype };
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

test('MNIST ReLU32 (recipe, MinMax): range, counts, grid and saturation match an own onnxruntime run and the quantizer\'s written parameters', async () => {
  const recipe: Recipe = { version: 1, mode: 'static', perChannel: true, calibration: { data: DATA, limit: 20 } };
  const r = await layerHistograms(SAMPLE_MODEL, 'ReLU32', { recipe, evaluation: { data: EVAL, offset: 0, limit: 100 } });
  const act = r.activation;
  assert.equal(r.analysedNode, 'ReLU32');
  assert.equal(act.tensor, 'ReLU32_Output_0');
  assert.equal(act.samples, 20, 'the recipe\'s calibration samples');
  assert.equal(act.histogram.counts.length, 128);

  const float = await openModelFile(SAMPLE_MODEL);
  const cal = await dump(float, 'ReLU32_Output_0', await images(DATA, 0, 20));
  const e = extremes(cal);
  assert.equal(act.histogram.values, 20 * 8 * 28 * 28);
  assert.ok(rel(act.histogram.min, e.min) < 1e-5 || Math.abs(act.histogram.min - e.min) < 1e-6, `min ${act.histogram.min} vs ${e.min}`);
  assert.ok(rel(act.histogram.max, e.max) < 1e-5, `max ${act.histogram.max} vs ${e.max}`);
  // the histogram runs the model folded as the quantizer does: values on a bin edge may move by an ulp
  const moved = binsMoved(act.histogram, cal);
  assert.ok(moved <= 1e-4 * act.histogram.values, `${moved} values in another bin`);

  // the grid is what the quantizer writes for this tensor
  const qPath = path.join(tmp, 'mnist-pc.onnx');
  await quantizeModel(SAMPLE_MODEL, qPath, { recipe });
  const q = await quantizerOf(qPath, 'ReLU32_Output_0');
  const grid = act.grid!;
  assert.ok(grid, 'ReLU32 is followed by Q/DQ');
  assert.deepEqual([grid.scales[0], grid.zeroPoints[0], grid.dtype], [q.scale, q.zeroPoint, q.dtype]);
  assert.ok(Math.abs(grid.low - q.scale * (grid.qmin - q.zeroPoint)) < 1e-9 && Math.abs(grid.high - q.scale * (grid.qmax - q.zeroPoint)) < 1e-9);
  // MinMax: [min(0, lo), max(0, hi)] over 255 steps, from the dumped extremes
  assert.ok(rel(q.scale, (Math.max(0, e.max) - Math.min(0, e.min)) / 255) < 1e-5, `scale ${q.scale} from extremes ${e.min} .. ${e.max}`);
  assert.equal(act.calibrated?.method, 'minmax');
  assert.ok(rel(act.calibrated!.max, e.max) < 1e-5);
  assert.equal(grid.lines.length, grid.step > act.histogram.width ? grid.lines.length : 0);

  // saturation: none on the calibration samples, and the evaluation samples counted independently
  assert.equal(act.saturation!.below + act.saturation!.above, clipped(cal, q.scale, q.zeroPoint, grid.qmin, grid.qmax));
  const ev = await dump(float, 'ReLU32_Output_0', await images(EVAL, 0, 100));
  const evClipped = clipped(ev, q.scale, q.zeroPoint, grid.qmin, grid.qmax);
  assert.equal(act.evaluation!.samples, 100);
  assert.ok(Math.abs(act.evaluation!.below + act.evaluation!.above - evClipped) <= 2, `evaluation clips ${act.evaluation!.above}, independently ${evClipped}`);
  assert.ok(evClipped > 0, 'outside 20 calibration samples some values clip (the check can fail)');
  console.log(`ReLU32: ${act.histogram.values} values in [${e.min}, ${e.max}], ${moved} moved; scale ${q.scale} zp ${q.zeroPoint}; evaluation clips ${act.evaluation!.below + act.evaluation!.above} of ${act.evaluation!.values} values (${evClipped} independently)`);

  // per-channel Conv weights: the DequantizeLinear's scales in the written file, absmax / 127 per channel
  const c = await layerHistograms(SAMPLE_MODEL, 'Convolution28', { recipe });
  const w = c.weights.find((x) => x.input === 1)!;
  assert.equal(w.tensor, 'Parameter5');
  const qg = (await openModelFile(qPath)).graphs[0];
  const conv = qg.nodes.find((n) => n.name === 'Convolution28')!;
  const dq = qg.nodes.find((n) => n.outputs[0] === conv.inputs[1])!;
  const stored = await readConstantValues(qg.values.get(dq.inputs[1])!.constant!);
  assert.deepEqual(w.grid!.scales, stored);
  assert.equal(w.grid!.axis, 0);
  const wv = await readConstantValues(float.graphs[0].values.get('Parameter5')!.constant!);
  stored.forEach((s, ch) => {
    const absmax = Math.max(...wv.slice(ch * 25, ch * 25 + 25).map(Math.abs));
    assert.ok(rel(s, absmax / 127) < 1e-6, `channel ${ch}: scale ${s}, absmax / 127 = ${absmax / 127}`);
  });
  assert.equal(w.clipped!.share, 0, 'MinMax weights never clip');
  assert.equal(binsMoved(w.histogram, [Float32Array.from(wv)]), 0);
  assert.equal(c.activation.grid, undefined, 'the Conv output is fused into ReLU32 (no quantizer of its own)');
});

test('MNIST quantized model given: MaxPool shares its input\'s grid; fused and folded names resolve; the cache answers the second request', async () => {
  const qPath = path.join(tmp, 'mnist-pt.onnx');
  await quantizeModel(SAMPLE_MODEL, qPath, { recipe: { version: 1, mode: 'static', calibration: { data: DATA, limit: 50 } } });
  const cacheDir = path.join(tmp, 'cache');
  const opts = { quantized: qPath, data: DATA, offset: 100, limit: 30, cacheDir };
  const p = await layerHistograms(SAMPLE_MODEL, 'Pooling66', opts);
  const q = await quantizerOf(qPath, 'ReLU32_Output_0');
  assert.equal(p.gridSource, 'quantized-model');
  assert.deepEqual([p.activation.grid!.scales[0], p.activation.grid!.zeroPoints[0]], [q.scale, q.zeroPoint]);
  const pooled = await dump(await openModelFile(SAMPLE_MODEL), 'Pooling66_Output_0', await images(DATA, 100, 30));
  assert.ok(binsMoved(p.activation.histogram, pooled) <= 1e-4 * p.activation.histogram.values);
  assert.ok(Math.abs(p.activation.saturation!.above + p.activation.saturation!.below - clipped(pooled, q.scale, q.zeroPoint, p.activation.grid!.qmin, p.activation.grid!.qmax)) <= 2);

  // activations too many to keep run a second pass: the same bins
  const twice = await layerHistograms(SAMPLE_MODEL, 'Pooling66', { ...opts, cacheDir: undefined, keepBytes: 0 });
  assert.deepEqual(twice.activation, p.activation);

  const again = await layerHistograms(SAMPLE_MODEL, 'Pooling66', opts);
  assert.equal(again.cached, true);
  assert.deepEqual(again.activation.histogram, p.activation.histogram);
  assert.equal((await layerHistograms(SAMPLE_MODEL, 'Pooling66', { ...opts, limit: 31 })).cached, false, 'other samples miss');

  const gemm = await layerHistograms(SAMPLE_MODEL, 'Times212', { quantized: qPath, data: DATA, limit: 10 });
  assert.equal(gemm.analysedNode, 'Times212/MatMulAddFusion');
  assert.match(gemm.notes.join('\n'), /runs fused as 'Times212\/MatMulAddFusion'/);
  const add = await layerHistograms(SAMPLE_MODEL, 'Plus30', { quantized: qPath, data: DATA, limit: 10 });
  assert.equal(add.analysedNode, 'Convolution28');
  await assert.rejects(layerHistograms(SAMPLE_MODEL, 'Times212_reshape1', { quantized: qPath, data: DATA, limit: 10 }), /folded into constants/);
  await assert.rejects(layerHistograms(SAMPLE_MODEL, 'NoSuchNode', { quantized: qPath, data: DATA, limit: 10 }), /no node named 'NoSuchNode'/);
});

test('MNIST ReLU114 (recipe, percentile 99.9): the grid is the quantizer\'s, its range cuts the tail, and the clipped share is counted independently', async () => {
  const recipe: Recipe = { version: 1, mode: 'static', calibration: { data: DATA, limit: 20, method: 'percentile', percentile: 99.9 } };
  const r = await layerHistograms(SAMPLE_MODEL, 'ReLU114', { recipe });
  const act = r.activation;
  const qPath = path.join(tmp, 'mnist-percentile.onnx');
  await quantizeModel(SAMPLE_MODEL, qPath, { recipe });
  const q = await quantizerOf(qPath, 'ReLU114_Output_0');
  const grid = act.grid!;
  assert.deepEqual([grid.scales[0], grid.zeroPoints[0], grid.dtype], [q.scale, q.zeroPoint, q.dtype]);
  assert.equal(act.calibrated?.method, 'percentile');
  const cal = await dump(await openModelFile(SAMPLE_MODEL), 'ReLU114_Output_0', await images(DATA, 0, 20));
  const e = extremes(cal);
  assert.ok(act.calibrated!.max < e.max && grid.high < e.max, `the 99.9th percentile (${act.calibrated!.max}) is below the largest value (${e.max})`);
  const n = clipped(cal, q.scale, q.zeroPoint, grid.qmin, grid.qmax);
  assert.ok(n > 0);
  assert.ok(Math.abs(act.saturation!.below + act.saturation!.above - n) <= 2, `clips ${act.saturation!.above}, independently ${n}`);
  // the bins reach past the grid to the largest value, and the clipping edge falls inside them
  assert.ok(act.histogram.start + act.histogram.counts.length * act.histogram.width >= e.max * (1 - 1e-6));
  assert.ok(binsMoved(act.histogram, cal) <= 1e-4 * act.histogram.values);
  console.log(`ReLU114 percentile: range ${act.calibrated!.min} .. ${act.calibrated!.max} of values up to ${e.max}; clips ${(100 * act.saturation!.share).toFixed(3)} % (${n} values independently)`);
});
