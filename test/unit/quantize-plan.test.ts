/** The precision plan and per-node overrides, end to end on MNIST. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openModelFile } from '../../src/core/open';
import type { Graph } from '../../src/core/model';
import { buildPlan } from '../../src/core/quant/plan';
import { quantizeModel } from '../../src/core/quant/quantize';
import { loadOrt } from '../../src/core/runtime/ort';
import { ModelError } from '../../src/core/errors';
import { sharedModel, SYSTEM_PYTHON } from '../helpers/paths';

const MODEL = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const IMAGES = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');

const producerOf = (g: Graph, t: string) => g.nodes.find((n) => n.outputs.includes(t));

test('default plan: quantizable ops int8, others float with a reason; overrides win', async () => {
  const m = await openModelFile(MODEL);
  const plan = buildPlan(m, { overrides: { Convolution110: 'float', ReLU32: 'int16' } });
  const by = Object.fromEntries(plan.decisions.map((d) => [d.node, d]));
  assert.equal(by.Convolution28.precision, 'int8');
  assert.equal(by.Convolution28.source, 'default');
  assert.equal(by.Convolution110.precision, 'float');
  assert.equal(by.Convolution110.source, 'override');
  assert.equal(by.ReLU32.precision, 'int16');
  assert.throws(() => buildPlan(m, { overrides: { NoSuchNode: 'int8' } }), (e: unknown) => e instanceof ModelError && /NoSuchNode/.test(e.message));
  // an op without a QDQ form cannot be forced to int8
  const p2 = buildPlan(m, { overrides: {} , opTypes: ['Conv'] });
  assert.equal(p2.decisions.find((d) => d.node === 'Pooling66')?.precision, 'float');
  assert.match(p2.decisions.find((d) => d.node === 'Pooling66')?.reason ?? '', /not among the op types/);
});

test('a node marked float keeps float weights with no Q/DQ; one marked int16 uses 16-bit Q/DQ', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-plan-'));
  try {
    const out = path.join(dir, 'mixed.onnx');
    const res = await quantizeModel(MODEL, out, {
      recipe: {
        version: 1, mode: 'static', perChannel: true,
        calibration: { data: IMAGES, limit: 20 },
        plan: { Convolution110: 'float', Convolution28: 'int16', Plus30: 'int8' },
      },
    });
    assert.ok(res.summary.warnings.some((w) => /Plus30.*folded away/.test(w)), res.summary.warnings.join('\n'));
    assert.ok(res.summary.leftFloat.some((f) => f.node === 'Convolution110' && /marked float/.test(f.reason)));
    const q = await openModelFile(out);
    const g = q.graphs[0];
    const c110 = g.nodes.find((n) => n.name === 'Convolution110')!;
    // float node: weight and bias are the original float initializers, no DQ in front
    for (const k of [1, 2]) {
      const v = g.values.get(c110.inputs[k]);
      assert.equal(v?.constant?.dtype, 'float32', `input ${k} of the float conv is float`);
      assert.equal(producerOf(g, c110.inputs[k]), undefined);
    }
    // int16 node: its activation input goes through 16-bit Q/DQ, its weight through an int16 DQ
    const c28 = g.nodes.find((n) => n.name === 'Convolution28')!;
    const dqIn = producerOf(g, c28.inputs[0])!;
    assert.equal(dqIn.opType, 'DequantizeLinear');
    assert.equal(dqIn.domain, 'com.microsoft', 'opset 13 has no int16 Q/DQ: the contrib ops are used');
    assert.equal(g.values.get(dqIn.inputs[2])?.constant?.dtype, 'int16');
    const qIn = producerOf(g, dqIn.inputs[0])!;
    assert.equal(qIn.opType, 'QuantizeLinear');
    const dqW = producerOf(g, c28.inputs[1])!;
    assert.equal(g.values.get(dqW.inputs[0])?.constant?.dtype, 'int16');
    // the rest stays int8
    const gemm = g.nodes.find((n) => n.opType === 'Gemm')!;
    assert.equal(g.values.get(producerOf(g, gemm.inputs[1])!.inputs[0])?.constant?.dtype, 'int8');
    assert.ok(q.opsets.some((o) => o.domain === 'com.microsoft'));
    // valid and runnable
    const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]))', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ort = loadOrt();
    const s = await ort.InferenceSession.create(out);
    const x = new Float32Array(784).map((_, i) => (i * 37) % 255);
    const y = await s.run({ Input3: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
    assert.equal((y.Plus214_Output_0.data as Float32Array).length, 10);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a node marked fp16 in a static run computes in float16 between Casts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-plan16-'));
  try {
    const out = path.join(dir, 'fp16node.onnx');
    const res = await quantizeModel(MODEL, out, {
      recipe: { version: 1, mode: 'static', perChannel: true, calibration: { data: IMAGES, limit: 20 }, plan: { Convolution110: 'fp16' } },
    });
    assert.ok(res.summary.leftFloat.some((f) => f.node === 'Convolution110' && /float16/.test(f.reason)), JSON.stringify(res.summary.leftFloat));
    const g = (await openModelFile(out)).graphs[0];
    const conv = g.nodes.find((n) => n.name === 'Convolution110')!;
    assert.equal(g.values.get(conv.inputs[1])?.constant?.dtype, 'float16');
    assert.equal(producerOf(g, conv.inputs[0])?.opType, 'Cast');
    assert.equal(g.nodes.find((n) => n.inputs.includes(conv.outputs[0]))?.opType, 'Cast');
    const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]))', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ort = loadOrt();
    const s = await ort.InferenceSession.create(out);
    const f = await ort.InferenceSession.create(MODEL);
    const x = new Float32Array(784).map((_, i) => ((i * 37) % 255) * (i % 3 === 0 ? 1 : 0));
    const a = (await s.run({ Input3: new ort.Tensor('float32', x, [1, 1, 28, 28]) })).Plus214_Output_0.data as Float32Array;
    const b = (await f.run({ Input3: new ort.Tensor('float32', x, [1, 1, 28, 28]) })).Plus214_Output_0.data as Float32Array;
    const scale = Math.max(...Array.from(b, Math.abs));
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(a[i] - b[i]) < 0.05 * scale, `${a[i]} vs ${b[i]}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
