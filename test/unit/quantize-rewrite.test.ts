/**
 * The QDQ rewrite on a small hand-built model (Conv -> Relu -> GlobalAveragePool -> Flatten ->
 * Gemm(transB) -> Softmax): weight scales, axes, int32 bias and zero points checked against
 * numbers computed here from first principles, and the result run in onnxruntime.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Constant, Graph, Model, Node, Value } from '../../src/core/model';
import { constantNumbers, writeOnnx, writeOnnxFile } from '../../src/core/formats/onnx';
import { openModelFile } from '../../src/core/open';
import { encodeNpy } from '../../src/core/data';
import { quantizeModel } from '../../src/core/quant/quantize';
import { loadOrt } from '../../src/core/runtime/ort';

function lcg(seed: number): () => number {
  let s = seed;
  return () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
}

function tinyModel(opset = 13, convTransposeGroups = 0): { model: Model; W: Float32Array; B: Float32Array; G: Float32Array } {
  const rnd = lcg(3);
  const values = new Map<string, Value>();
  const initializers: string[] = [];
  const nodes: Node[] = [];
  const t = (name: string, shape: number[] | null): void => { values.set(name, { name, type: { dtype: 'float32', shape }, consumers: [] }); };
  const init = (name: string, shape: number[], data: Float32Array): void => {
    const constant: Constant = { name, dtype: 'float32', shape, data: { kind: 'bytes', bytes: new Uint8Array(data.buffer) } };
    values.set(name, { name, type: { dtype: 'float32', shape }, constant, consumers: [] });
    initializers.push(name);
  };
  const W = new Float32Array(3 * 2 * 9).map((_, i) => (rnd() - 0.5) * (i < 18 ? 0.2 : i < 36 ? 2 : 0.02)); // very different channel ranges
  const B = Float32Array.of(0.1, -0.3, 0.05);
  const G = new Float32Array(5 * 3).map(() => rnd() - 0.5);
  init('W', [3, 2, 3, 3], W);
  init('B', [3], B);
  init('G', [5, 3], G);
  init('C', [5], Float32Array.of(0.01, 0.02, -0.03, 0.04, 0));
  t('x', [1, 2, 4, 4]);
  const add = (opType: string, name: string, inputs: string[], out: string, attributes: Node['attributes'] = []): void => {
    nodes.push({ name, opType, domain: '', inputs, outputs: [out], attributes, subgraphs: [] });
    t(out, null);
  };
  add('Conv', 'conv', ['x', 'W', 'B'], 'c', [{ name: 'pads', value: { type: 'ints', value: [1, 1, 1, 1] } }]);
  add('Relu', 'relu', ['c'], 'r');
  let last = 'r';
  if (convTransposeGroups) {
    const T = new Float32Array(3 * (3 / convTransposeGroups) * 4).map(() => rnd() - 0.5);
    init('T', [3, 3 / convTransposeGroups, 2, 2], T);
    add('ConvTranspose', 'deconv', ['r', 'T'], 'd', [{ name: 'group', value: { type: 'int', value: convTransposeGroups } }]);
    last = 'd';
  }
  add('GlobalAveragePool', 'gap', [last], 'p');
  add('Flatten', 'flat', ['p'], 'f');
  add('Gemm', 'fc', ['f', 'G', 'C'], 'y', [{ name: 'transB', value: { type: 'int', value: 1 } }]);
  add('Softmax', 'sm', ['y'], 'prob');
  values.get('prob')!.type = { dtype: 'float32', shape: [1, 5] };
  const graph: Graph = { name: 'tiny', nodes, values, inputs: ['x'], outputs: ['prob'], initializers };
  return {
    model: { format: 'onnx', fileSize: 0, producer: 'test', formatVersion: 8, opsets: [{ domain: '', version: opset }], description: '', metadata: {}, graphs: [graph], functions: [], signatures: [] },
    W, B, G,
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-rewrite-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function setup(name: string, m: Model): Promise<{ src: string; data: string; xs: Float32Array[] }> {
  const src = path.join(dir, `${name}.onnx`);
  await writeOnnxFile(m, src);
  const rnd = lcg(11);
  const xs = Array.from({ length: 8 }, () => new Float32Array(32).map(() => rnd() * 4 - 1));
  const data = path.join(dir, `${name}.npy`);
  const all = new Float32Array(8 * 32);
  xs.forEach((x, i) => all.set(x, i * 32));
  fs.writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [8, 1, 2, 4, 4], data: all }));
  return { src, data, xs };
}

test('per-channel weights, int32 bias and activation zero points follow the formulas', async () => {
  const { model, W, B, G } = tinyModel();
  const { src, data, xs } = await setup('tiny', model);
  const out = path.join(dir, 'tiny-q.onnx');
  const res = await quantizeModel(src, out, { recipe: { version: 1, mode: 'static', perChannel: true, calibration: { data }, preprocess: { fold: false } } });
  assert.deepEqual(res.summary.quantizedByOp, { Conv: 1, Relu: 1, GlobalAveragePool: 1, Flatten: 1, Gemm: 1, Softmax: 1 });
  const q = await openModelFile(out);
  const g = q.graphs[0];
  const prod = (t: string) => g.nodes.find((n) => n.outputs.includes(t));
  const num = (n: string) => constantNumbers(g.values.get(n)!.constant!);
  const conv = g.nodes.find((n) => n.name === 'conv')!;
  // Conv feeds Relu directly: the pair sits after the Relu (fused activation)
  assert.equal(g.nodes.find((n) => n.name === 'relu')!.inputs[0], conv.outputs[0]);
  assert.ok(!g.nodes.some((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === conv.outputs[0]));
  // weight: symmetric int8, scale = max|w_c| / 127, axis 0
  const dqW = prod(conv.inputs[1])!;
  assert.equal(dqW.attributes.find((a) => a.name === 'axis')?.value.value, 0);
  const ws = num(dqW.inputs[1]);
  const wq = num(dqW.inputs[0]);
  assert.equal(ws.length, 3);
  for (let c = 0; c < 3; c++) {
    let m = 0;
    for (let i = 0; i < 18; i++) m = Math.max(m, Math.abs(W[c * 18 + i]));
    assert.ok(Math.abs(ws[c] - m / 127) <= 1e-6 * m, `scale ${c}`);
    for (let i = 0; i < 18; i++) {
      const expect = Math.max(-127, Math.min(127, Math.round(W[c * 18 + i] / ws[c])));
      assert.ok(Math.abs(wq[c * 18 + i] - expect) <= (Math.abs(W[c * 18 + i] / ws[c] % 1) === 0.5 ? 1 : 0), `w[${c},${i}]`);
    }
  }
  // bias: int32, scale = input scale x weight scale per channel
  const dqB = prod(conv.inputs[2])!;
  const xScale = num(prod(conv.inputs[0])!.inputs[1])[0];
  const bs = num(dqB.inputs[1]);
  const bq = num(dqB.inputs[0]);
  assert.equal(g.values.get(dqB.inputs[0])!.constant!.dtype, 'int32');
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(bs[c] - xScale * ws[c]) <= 1e-6 * bs[c]);
    assert.equal(bq[c], Math.round(B[c] / bs[c]));
  }
  // input range: asymmetric int8 over the calibration data's min / max (0 included)
  let lo = 0; let hi = 0;
  for (const x of xs) for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  assert.ok(Math.abs(xScale - (hi - lo) / 255) <= 1e-6 * xScale);
  const xZp = num(prod(conv.inputs[0])!.inputs[2])[0];
  assert.equal(xZp, Math.round(-128 - lo / xScale));
  // Gemm with transB: B is [N, K], channels on axis 0 (5 scales)
  const fc = g.nodes.find((n) => n.name === 'fc')!;
  const dqG = prod(fc.inputs[1])!;
  assert.equal(dqG.attributes.find((a) => a.name === 'axis')?.value.value, 0);
  const gs = num(dqG.inputs[1]);
  assert.equal(gs.length, 5);
  for (let r = 0; r < 5; r++) assert.ok(Math.abs(gs[r] - Math.max(...Array.from(G.subarray(r * 3, r * 3 + 3), Math.abs)) / 127) < 1e-7);

  // calibrated ranges (min / max reduced inside onnxruntime) equal the extremes of the full tensors
  const ort = loadOrt();
  const probe = await openModelFile(src);
  probe.graphs[0].outputs.push('r', 'y');
  const ps = await ort.InferenceSession.create(writeOnnx(probe));
  const ext: Record<string, [number, number]> = { r: [Infinity, -Infinity], y: [Infinity, -Infinity] };
  for (const x of xs) {
    const o = await ps.run({ x: new ort.Tensor('float32', x, [1, 2, 4, 4]) });
    for (const k of ['r', 'y']) for (const v of o[k].data as Float32Array) { ext[k][0] = Math.min(ext[k][0], v); ext[k][1] = Math.max(ext[k][1], v); }
  }
  for (const k of ['r', 'y']) {
    assert.equal(res.ranges!.tensors[k].min, ext[k][0], `${k} min`);
    assert.equal(res.ranges!.tensors[k].max, ext[k][1], `${k} max`);
  }
  assert.equal(res.summary.calibration?.samples, 8);

  // the quantized model follows the float one
  const sf = await ort.InferenceSession.create(src);
  const sq = await ort.InferenceSession.create(out);
  for (const x of xs) {
    const a = (await sf.run({ x: new ort.Tensor('float32', x, [1, 2, 4, 4]) })).prob.data as Float32Array;
    const b = (await sq.run({ x: new ort.Tensor('float32', x, [1, 2, 4, 4]) })).prob.data as Float32Array;
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(a[i] - b[i]) < 0.02, `${a[i]} vs ${b[i]}`);
  }
});

test('uint8 activations: int16 node uses uint16; symmetric activations use zero point 0', async () => {
  const { model } = tinyModel();
  const { src, data } = await setup('tiny2', model);
  const out = path.join(dir, 'tiny-u8.onnx');
  await quantizeModel(src, out, { recipe: { version: 1, mode: 'static', activationType: 'uint8', calibration: { data }, plan: { fc: 'int16' }, preprocess: { fold: false } } });
  const g = (await openModelFile(out)).graphs[0];
  const zpTypes = new Map(g.nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => [n.inputs[0], g.values.get(n.inputs[2])!.constant!.dtype]));
  assert.equal(zpTypes.get('x'), 'uint8');
  assert.equal(zpTypes.get('f'), 'uint16', 'the int16 Gemm reads 16-bit input');
  assert.equal(zpTypes.get('y'), 'uint16', 'and writes 16-bit output');
  const out2 = path.join(dir, 'tiny-sym.onnx');
  await quantizeModel(src, out2, { recipe: { version: 1, mode: 'static', symmetricActivations: true, calibration: { data }, preprocess: { fold: false } } });
  const g2 = (await openModelFile(out2)).graphs[0];
  for (const n of g2.nodes.filter((x) => x.opType === 'QuantizeLinear')) assert.equal(constantNumbers(g2.values.get(n.inputs[2])!.constant!)[0], 0);
});

test('ConvTranspose: per-channel on axis 1 with group 1, per-tensor with groups', async () => {
  for (const groups of [1, 3]) {
    const { model } = tinyModel(13, groups);
    const { src, data } = await setup(`deconv${groups}`, model);
    const out = path.join(dir, `deconv${groups}-q.onnx`);
    const res = await quantizeModel(src, out, { recipe: { version: 1, mode: 'static', perChannel: true, calibration: { data }, preprocess: { fold: false } } });
    assert.equal(res.summary.quantizedByOp.ConvTranspose, 1);
    const g = (await openModelFile(out)).graphs[0];
    const d = g.nodes.find((n) => n.name === 'deconv')!;
    const dq = g.nodes.find((n) => n.outputs.includes(d.inputs[1]))!;
    const axis = dq.attributes.find((a) => a.name === 'axis')?.value.value;
    const scales = g.values.get(dq.inputs[1])!.constant!.shape;
    if (groups === 1) { assert.equal(axis, 1); assert.deepEqual(scales, [3]); } else { assert.equal(axis, undefined); assert.deepEqual(scales, []); }
  }
});
