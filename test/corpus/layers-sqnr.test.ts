/**
 * Per-layer error acceptance: on MNIST and on the synthetic 50-layer CNN, each quantized by
 * QuantLens, every layer's SQNR from `layerErrors` equals an independent computation within
 * 0.01 dB. The test dumps the activations itself: it adds a DequantizeLinear after every
 * QuantizeLinear of the quantized model, makes every tensor a graph output of both models (the
 * float model unfolded, as the user gave it), runs them in its own onnxruntime sessions with
 * optimisations off, and sums f^2 and (f - q)^2 per tensor. It also counts clipped values from
 * the Q nodes' parameters where the data lies outside the calibration data's range.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../src/core/data';
import { writeOnnx, writeOnnxFile } from '../../src/core/formats/onnx';
import type { Model, Node } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { quantizeModel } from '../../src/core/quant/quantize';
import { readConstantValues } from '../../src/core/tensor';
import { loadOrt } from '../../src/core/runtime/ort';
import { mulberry32 } from '../../src/core/random';
import { layerErrors, type LayersReport } from '../../src/core/eval/layers';
import { syntheticCnn } from '../../bench/quantize';
import { REPO_ROOT } from '../helpers/paths';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-layers-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * The model with every node output as a graph output, and a DQ of every integer activation: the
 * output of each Q, and of each op on integers (which carries its input's parameters).
 */
function dumpAll(m: Model): Model {
  const g = m.graphs[0];
  const nodes: Node[] = [...g.nodes];
  const outputs = [...g.outputs];
  const params = new Map<string, { inputs: string[]; domain: string }>();
  const dump = (t: string): void => {
    const p = params.get(t)!;
    const out = `dump:${t}`;
    nodes.push({ name: `dump_dq:${t}`, opType: 'DequantizeLinear', domain: p.domain, inputs: [t, ...p.inputs], outputs: [out], attributes: [], subgraphs: [] });
    g.values.set(out, { name: out, type: null, consumers: [] });
    outputs.push(out);
  };
  for (const n of g.nodes) {
    for (const o of n.outputs) if (o && !outputs.includes(o)) outputs.push(o);
    if (n.opType === 'QuantizeLinear') {
      params.set(n.outputs[0], { inputs: n.inputs.slice(1), domain: n.domain });
      dump(n.outputs[0]);
    } else if (n.opType !== 'DequantizeLinear' && params.has(n.inputs[0])) {
      params.set(n.outputs[0], params.get(n.inputs[0])!);
      dump(n.outputs[0]);
    }
  }
  return { ...m, graphs: [{ ...g, nodes, outputs }] };
}

async function runAll(m: Model, samples: Float32Array[], shape: number[]): Promise<Map<string, Float32Array[]>> {
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(writeOnnx(dumpAll(m)), { graphOptimizationLevel: 'disabled' });
  const got = new Map<string, Float32Array[]>();
  for (const x of samples) {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, shape) });
    for (const [k, v] of Object.entries(out)) if (v.type === 'float32') { const l = got.get(k) ?? []; l.push(v.data as Float32Array); got.set(k, l); }
  }
  await s.release();
  return got;
}

/** Checks every layer of the report against the dumped activations. */
async function checkAgainstDump(report: LayersReport, floatPath: string, quantPath: string, samples: Float32Array[], shape: number[]): Promise<number> {
  const fm = await openModelFile(floatPath);
  const qm = await openModelFile(quantPath);
  const qg = qm.graphs[0];
  const f = await runAll(fm, samples, shape);
  const q = await runAll(qm, samples, shape);
  let worst = 0;
  for (const l of report.layers) {
    const n = qg.nodes.find((x) => x.name === l.node && x.opType === l.opType);
    assert.ok(n, `layer ${l.node} is a node of the quantized model`);
    const o = n.outputs[0];
    const qReader = qg.nodes.find((x) => x.opType === 'QuantizeLinear' && x.inputs[0] === o);
    const intReader = qg.nodes.find((x) => x.opType === 'DequantizeLinear' && x.inputs[0] === o);
    // an op on integers writes '<name>_q' (QuantLens's naming); its float counterpart is '<name>'
    const onInts = !fm.graphs[0].values.has(o) && o.endsWith('_q');
    const original = intReader ? intReader.outputs[0] : onInts ? o.slice(0, -2) : o;
    const quantized = qReader ? `dump:${qReader.outputs[0]}` : intReader ? intReader.outputs[0] : onInts ? `dump:${o}` : o;
    assert.equal(l.floatTensor, original, `${l.node}: compared with the float tensor of the same name`);
    assert.equal(l.outputQuantized, !!(qReader || intReader || onInts), `${l.node}: output quantized`);
    const fa = f.get(original);
    const qa = q.get(quantized);
    assert.ok(fa && qa, `${l.node}: ${original} and ${quantized} were dumped`);
    let sig = 0;
    let noise = 0;
    for (let i = 0; i < fa.length; i++) for (let k = 0; k < fa[i].length; k++) { sig += fa[i][k] ** 2; noise += (fa[i][k] - qa[i][k]) ** 2; }
    const expected = 10 * Math.log10(sig / noise);
    const diff = Math.abs(expected - l.activation.sqnrDb);
    assert.ok(diff <= 0.01, `${l.node}: SQNR ${l.activation.sqnrDb} dB, independently ${expected} dB`);
    worst = Math.max(worst, diff);
    // saturation: values beyond half a step outside the Q node's range
    if (qReader) {
      const s = (await readConstantValues(qg.values.get(qReader.inputs[1])!.constant!))[0];
      const zc = qg.values.get(qReader.inputs[2])!.constant!;
      const z = (await readConstantValues(zc))[0];
      const [lo, hi] = zc.dtype === 'uint8' ? [0, 255] : [-128, 127];
      let out = 0;
      let total = 0;
      for (const a of fa) for (const v of a) { total++; if (v < s * (lo - z - 0.5) || v > s * (hi - z + 0.5)) out++; }
      assert.ok(l.saturation, `${l.node}: saturation reported`);
      // values on the very edge may fall either side between the folded and the unfolded float model
      assert.ok(Math.abs(l.saturation.rate - out / total) <= 1e-4, `${l.node}: saturation ${l.saturation.rate}, independently ${out / total}`);
    }
  }
  return worst;
}

test('MNIST quantized by QuantLens: per-layer SQNR equals the dumped activations within 0.01 dB', async () => {
  const qPath = path.join(tmp, 'mnist-int8.onnx');
  const floatPath = path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
  const images = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
  await quantizeModel(floatPath, qPath, { recipe: { version: 1, mode: 'static', calibration: { data: images, limit: 100 } } });
  // samples 100..199 were not calibrated on
  const report = await layerErrors(floatPath, qPath, { data: images, offset: 100, limit: 100 });
  assert.equal(report.samples, 100);
  assert.deepEqual(report.layers.map((l) => l.opType), ['Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Reshape', 'Gemm']);
  assert.equal(report.unmatched.length, 0);
  const { readIdx } = await import('../../src/core/data');
  const idx = await readIdx(images);
  const pixels = idx.data as Uint8Array;
  const samples = Array.from({ length: 100 }, (_, i) => Float32Array.from(pixels.subarray((100 + i) * 784, (101 + i) * 784)));
  const worst = await checkAgainstDump(report, floatPath, qPath, samples, [1, 1, 28, 28]);
  console.log(`MNIST: ${report.layers.length} layers, largest SQNR difference ${worst.toExponential(2)} dB; ` + report.layers.map((l) => `${l.node} ${l.activation.sqnrDb.toFixed(2)}`).join(', '));
  // weights: the Conv weights' own error is that of int8 per-tensor rounding (30 .. 60 dB)
  const conv = report.layers.find((l) => l.node === 'Convolution28')!;
  assert.ok(conv.weights[0].error.sqnrDb > 30 && conv.weights[0].error.sqnrDb < 60, `weight SQNR ${conv.weights[0].error.sqnrDb}`);
});

test('50-layer CNN: per-layer SQNR equals the dumped activations; shifted data is flagged as saturating', async () => {
  const floatPath = path.join(tmp, 'cnn50.onnx');
  await writeOnnxFile(syntheticCnn(50), floatPath);
  const rnd = mulberry32(11);
  const n = 24;
  const all = new Float32Array(n * 3 * 32 * 32);
  // the last 8 samples are twice as large as the calibration samples
  for (let i = 0; i < all.length; i++) all[i] = (rnd() * 2 - 1) * (i >= 16 * 3072 ? 2 : 1);
  const data = path.join(tmp, 'cnn-data.npy');
  fs.writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [n, 3, 32, 32], data: all }));
  const qPath = path.join(tmp, 'cnn50-int8.onnx');
  await quantizeModel(floatPath, qPath, { recipe: { version: 1, mode: 'static', calibration: { data, limit: 16 } } });
  const report = await layerErrors(floatPath, qPath, { data, offset: 12, limit: 12 });
  assert.equal(report.layers.length, 103, '50 Conv + 50 Relu + pool, flatten, Gemm');
  const samples = Array.from({ length: 12 }, (_, i) => all.slice((12 + i) * 3072, (13 + i) * 3072));
  const worst = await checkAgainstDump(report, floatPath, qPath, samples, [1, 3, 32, 32]);
  console.log(`CNN: largest SQNR difference ${worst.toExponential(2)} dB; lowest ${report.summary.worst.map((w) => `${w.node} ${w.sqnrDb.toFixed(2)}`).join(', ')}; saturated ${report.summary.saturated.length}`);
  assert.ok(report.summary.saturated.length > 0, 'inputs twice the calibration range clip');
  assert.match(report.warnings.join('\n'), /calibration data does not represent these inputs/);
});
