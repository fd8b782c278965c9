/**
 * Bad input: unknown ops, dynamic shapes, calibration data that does not fit, a read-only output
 * folder, cancellation. Each gets a clear ModelError, no output (nor temporary) file is left, and
 * the source model is byte-for-byte untouched.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { openModelFile } from '../../src/core/open';
import { writeOnnxFile } from '../../src/core/formats/onnx';
import { encodeNpy } from '../../src/core/data';
import { ModelError } from '../../src/core/errors';
import { quantizeModel, type QuantizeOptions } from '../../src/core/quant/quantize';
import type { Recipe } from '../../src/core/quant/recipe';
import { sharedModel } from '../helpers/paths';

const MNIST = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const IMAGES = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
const STATIC: Recipe = { version: 1, mode: 'static', perChannel: true, calibration: { data: IMAGES, limit: 60 } };

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

const made: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-err-'));
  made.push(d);
  return d;
}
test.after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

/** Runs a quantization expected to fail; checks the error, that nothing was written and the source is intact. */
async function expectFailure(source: string, outDir: string, opts: QuantizeOptions, re: RegExp, name = 'ModelError'): Promise<Error> {
  const before = sha(source);
  const listing = fs.readdirSync(outDir).sort();
  const out = path.join(outDir, 'out.onnx');
  let err: Error | undefined;
  try {
    await quantizeModel(source, out, opts);
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err, 'quantization should have failed');
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  assert.match(err.message, re);
  assert.ok(!err.message.includes('\n'), 'one line');
  assert.deepEqual(fs.readdirSync(outDir).sort(), listing, 'no output or temporary file left');
  assert.equal(sha(source), before, 'source untouched');
  return err;
}

async function mnistVariant(dir: string, edit: (m: Awaited<ReturnType<typeof openModelFile>>) => void): Promise<string> {
  const m = await openModelFile(MNIST);
  edit(m);
  const f = path.join(dir, 'variant.onnx');
  await writeOnnxFile(m, f);
  return f;
}

test('a custom-domain op onnxruntime does not know is refused up front, naming the node', async () => {
  const dir = tmp();
  const src = await mnistVariant(dir, (m) => { const n = m.graphs[0].nodes[2]; n.domain = 'com.example'; n.opType = 'FooRelu'; m.opsets.push({ domain: 'com.example', version: 1 }); });
  const out = fs.mkdtempSync(path.join(dir, 'o'));
  await expectFailure(src, out, { recipe: STATIC }, /Node 'ReLU32' uses the custom op com\.example\.FooRelu/);
});

test('an unknown op in the default domain gets onnxruntime\'s reason', async () => {
  const dir = tmp();
  const src = await mnistVariant(dir, (m) => { m.graphs[0].nodes[2].opType = 'Reluu'; });
  const out = fs.mkdtempSync(path.join(dir, 'o'));
  await expectFailure(src, out, { recipe: STATIC }, /onnxruntime cannot load the model for pre-processing.*Reluu/);
});

test('dynamic shapes: a symbolic batch dim works from run-time shapes; an unknown-rank input with synthetic data is refused', async () => {
  const dir = tmp();
  const dyn = await mnistVariant(dir, (m) => { m.graphs[0].values.get('Input3')!.type!.shape = ['N', 1, 28, 28]; });
  const res = await quantizeModel(dyn, path.join(dir, 'dyn-q.onnx'), { recipe: STATIC });
  assert.equal(res.summary.quantizedByOp.Conv, 2);
  const norank = await mnistVariant(dir, (m) => { m.graphs[0].values.get('Input3')!.type!.shape = null; });
  const out = fs.mkdtempSync(path.join(dir, 'o'));
  await expectFailure(norank, out, { recipe: { version: 1, mode: 'static', calibration: { synthetic: { count: 4 } } } }, /Input3.*unknown shape/, 'DataError');
});

test('calibration data that does not fit the model names the input and both shapes', async () => {
  const dir = tmp();
  const npy = path.join(dir, 'bad.npy');
  fs.writeFileSync(npy, encodeNpy({ dtype: 'float32', shape: [3, 5, 7], data: new Float32Array(105) }));
  const out = fs.mkdtempSync(path.join(dir, 'o'));
  const e = await expectFailure(MNIST, out, { recipe: { ...STATIC, calibration: { data: npy } } }, /Input3/, 'DataError');
  assert.match(e.message, /1,\s*1,\s*28,\s*28/);
  assert.match(e.message, /5,\s*7/);
  await expectFailure(MNIST, out, { recipe: { ...STATIC, calibration: { data: path.join(dir, 'missing.npy') } } }, /missing\.npy does not exist/, 'DataError');
  await expectFailure(MNIST, out, { recipe: { version: 1, mode: 'static' } }, /needs calibration data/);
});

test('the output may not be the source model, nor a link to it', async () => {
  const dir = tmp();
  const src = path.join(dir, 'm.onnx');
  fs.copyFileSync(MNIST, src);
  const before = sha(src);
  await assert.rejects(quantizeModel(src, src, { recipe: STATIC }), /is the source model/);
  fs.linkSync(src, path.join(dir, 'hard.onnx'));
  await assert.rejects(quantizeModel(src, path.join(dir, 'hard.onnx'), { recipe: STATIC }), /link to the source model|is the source model/);
  assert.equal(sha(src), before);
});

test('a read-only output folder is a clear error and leaves nothing behind', async () => {
  const dir = tmp();
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  let cleanup = () => fs.chmodSync(ro, 0o755);
  if (process.getuid?.() === 0) {
    // root ignores permission bits: use a read-only mount
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
    assert.equal(r.status, 0, `cannot make a read-only folder as root: ${r.stderr}`);
    cleanup = () => { spawnSync('umount', [ro]); };
  } else {
    fs.chmodSync(ro, 0o555);
  }
  try {
    await expectFailure(MNIST, ro, { recipe: STATIC }, /not writable|read-only file system|permission denied/);
  } finally {
    cleanup();
  }
});

test('cancelling during calibration or while writing leaves no file', async () => {
  const dir = tmp();
  for (const when of ['Calibrating', 'Writing the model', 'Pre-processing (folding)']) {
    const ac = new AbortController();
    const out = fs.mkdtempSync(path.join(dir, 'c'));
    let calls = 0;
    await expectFailure(MNIST, out, {
      recipe: STATIC, signal: ac.signal, rangesPath: path.join(out, 'ranges.json'),
      onProgress: (p) => {
        calls++;
        // halfway through calibration, or at the start of another step
        if (p.label === when && (when !== 'Calibrating' || (p.fraction ?? 0) >= 0.5)) ac.abort();
      },
    }, /cancel/i, 'AbortError');
    assert.ok(calls > 1);
  }
});

test('ModelError codes are used for refusals', async () => {
  await assert.rejects(quantizeModel(MNIST, path.join(tmp(), 'x.onnx'), { recipe: { version: 1, mode: 'static', plan: { Nope: 'int8' }, calibration: { data: IMAGES, limit: 2 } } }),
    (e: unknown) => e instanceof ModelError && e.code === 'unsupported' && /Nope/.test(e.message));
  await assert.rejects(quantizeModel(MNIST, '/no/such/folder/x.onnx', { recipe: STATIC }), /output folder '\/no\/such\/folder' does not exist/);
});

test('an opset 9 model is raised to 10 for Q/DQ when no op changed form, and refused (naming the op) when one is not carried over', async () => {
  const dir = tmp();
  const plain = await mnistVariant(dir, (m) => { m.opsets.find((o) => o.domain === '')!.version = 9; });
  const out = tmp();
  const res = await quantizeModel(plain, path.join(out, 'q9.onnx'), { recipe: { ...STATIC, perChannel: false } });
  assert.equal(res.summary.opset, 10);
  assert.ok(res.summary.warnings.some((w) => /raised from 9 to 10/.test(w)), res.summary.warnings.join(' | '));
  assert.ok(res.summary.quantizedCount > 0);
  // an Upsample (replaced by Resize in opset 10) blocks the raise
  const upsampled = path.join(tmp(), 'up.onnx');
  const m = await openModelFile(plain);
  const g = m.graphs[0];
  const relu = g.nodes.findIndex((n) => n.opType === 'Relu');
  const x = g.nodes[relu].outputs[0];
  g.values.set('ones', { name: 'ones', type: { dtype: 'float32', shape: [4] }, consumers: [], constant: { name: 'ones', dtype: 'float32', shape: [4], data: { kind: 'bytes', bytes: new Uint8Array(Float32Array.of(1, 1, 1, 1).buffer) } } });
  g.initializers.push('ones');
  g.values.set('up', { name: 'up', type: null, consumers: [] });
  g.nodes.splice(relu + 1, 0, { name: 'up', opType: 'Upsample', domain: '', inputs: [x, 'ones'], outputs: ['up'], attributes: [], subgraphs: [] });
  for (const n of g.nodes.slice(relu + 2)) n.inputs = n.inputs.map((i) => (i === x ? 'up' : i));
  await writeOnnxFile(m, upsampled);
  for (const [mode, need] of [['static', 10], ['dynamic', 11]] as const) {
    await expectFailure(upsampled, out, { recipe: { ...STATIC, mode } }, new RegExp(`opset 9; ${mode} quantization .* need opset ${need}, and raising it is not possible: node 'up' \\(Upsample\\) changed form in opset 10 and is not carried over`));
  }
  const half = await quantizeModel(upsampled, path.join(out, 'half.onnx'), { recipe: { version: 1, mode: 'fp16' } });
  assert.ok(half.summary.quantizedCount > 0, 'fp16 needs no Q/DQ and works at opset 9');
});

test('per-channel on an opset 10 model with Clip attributes: Clip carried over to opset 13 (min / max as inputs), weights per channel, outputs follow the float model', async () => {
  const dir = tmp();
  const src = await mnistVariant(dir, (m) => {
    m.opsets.find((o) => o.domain === '')!.version = 10;
    const relu = m.graphs[0].nodes.find((n) => n.opType === 'Relu')!;
    relu.opType = 'Clip';
    relu.attributes = [{ name: 'min', value: { type: 'float', value: 0 } }, { name: 'max', value: { type: 'float', value: 6 } }];
  });
  const out = path.join(tmp(), 'q.onnx');
  const res = await quantizeModel(src, out, { recipe: STATIC });
  assert.equal(res.summary.opset, 13);
  assert.ok(res.summary.warnings.some((w) => /raised from 10 to 13 for per-channel weights; ops carried over: Clip \(min\/max to inputs\)/.test(w)), res.summary.warnings.join(' | '));
  const q = await openModelFile(out);
  const clip = q.graphs[0].nodes.find((n) => n.opType === 'Clip')!;
  assert.equal(clip.attributes.length, 0);
  assert.equal(clip.inputs.length, 3);
  assert.ok(q.graphs[0].nodes.some((n) => n.opType === 'DequantizeLinear' && n.attributes.some((a) => a.name === 'axis')), 'per-channel weights');
  assert.ok(!res.summary.check.poor && res.summary.check.sqnrDb >= 20, `check ${res.summary.check.sqnrDb} dB`);
});

test('an already quantized model is refused while reading, naming what it holds', async () => {
  const out = tmp();
  for (const [file, what] of [['mnist-12-int8.onnx', /already quantized \(quantized operators: .*QLinearConv x2/], ['mnist-12-uint8.onnx', /already quantized \(dynamic quantization: .*ConvInteger x2/], ['mnist-12-float16.onnx', /already quantized \(float16 weights\)/]] as const) {
    const steps: string[] = [];
    await expectFailure(sharedModel('onnx', 'mnist', file), out, { recipe: STATIC, onProgress: (p) => steps.push(p.label) }, what);
    assert.deepEqual(steps, ['Reading the model']);
  }
});

test('opset 12 -> 13 for per-channel weights: a Softmax over a trailing axis of size-1 dims is kept; one over real dims is flattened explicitly', async () => {
  const { loadOrt } = await import('../../src/core/runtime/ort');
  const ort = loadOrt();
  for (const [hw, flattened] of [[1, false], [2, true]] as const) {
    const m = await openModelFile(MNIST);
    const g = m.graphs[0];
    // keep MNIST up to its first Relu, then a 1x1 Conv to 3 channels, pooling to hw x hw, and Softmax(axis=1)
    const relu = g.nodes.findIndex((n) => n.opType === 'Relu');
    const r = g.nodes[relu].outputs[0];
    g.nodes.splice(relu + 1);
    const w = new Float32Array(3 * 8).map((_, i) => Math.sin(i) * 0.5);
    g.values.set('w1', { name: 'w1', type: { dtype: 'float32', shape: [3, 8, 1, 1] }, consumers: [], constant: { name: 'w1', dtype: 'float32', shape: [3, 8, 1, 1], data: { kind: 'bytes', bytes: new Uint8Array(w.buffer) } } });
    g.initializers.push('w1');
    const add = (opType: string, inputs: string[], out: string, attributes: typeof g.nodes[number]['attributes'] = []) => {
      g.nodes.push({ name: out, opType, domain: '', inputs, outputs: [out], attributes, subgraphs: [] });
      g.values.set(out, { name: out, type: null, consumers: [] });
    };
    add('Conv', [r, 'w1'], 'c1');
    add('AveragePool', ['c1'], 'p1', [{ name: 'kernel_shape', value: { type: 'ints', value: [28 / hw, 28 / hw] } }, { name: 'strides', value: { type: 'ints', value: [28 / hw, 28 / hw] } }]);
    add('Softmax', ['p1'], 'prob', [{ name: 'axis', value: { type: 'int', value: 1 } }]);
    g.outputs = ['prob'];
    g.values.set('prob', { name: 'prob', type: { dtype: 'float32', shape: [1, 3, hw, hw] }, consumers: [] });
    g.initializers = g.initializers.filter((n) => g.nodes.some((x) => x.inputs.includes(n)));
    const dir = tmp();
    const src = path.join(dir, `softmax${hw}.onnx`);
    await writeOnnxFile(m, src);
    const out = path.join(dir, 'q.onnx');
    const res = await quantizeModel(src, out, { recipe: STATIC });
    assert.equal(res.summary.opset, 13, res.summary.warnings.join(' | '));
    assert.equal(res.summary.warnings.some((w) => /Softmax \(flattened explicitly\)/.test(w)), flattened, res.summary.warnings.join(' | '));
    // the quantized model's probabilities follow the float model's, per pixel over the 3 channels
    const x = new Float32Array(784).map((_, i) => ((i * 37) % 255) / 255 * 200);
    const run = async (f: string) => {
      const s = await ort.InferenceSession.create(f);
      const o = await s.run({ Input3: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
      await s.release();
      return o.prob.data as Float32Array;
    };
    const [pf, pq] = [await run(src), await run(out)];
    for (let i = 0; i < pf.length; i++) assert.ok(Math.abs(pf[i] - pq[i]) < 0.05, `prob[${i}] ${pq[i]} vs float ${pf[i]}`);
  }
});

test('a model whose weights are in an external data file quantizes like the self-contained one', async () => {
  const dir = tmp();
  const src = path.join(dir, 'ext.onnx');
  // every tensor external, even the Reshape's shape (onnxruntime cannot infer shapes from those itself)
  await writeOnnxFile(await openModelFile(MNIST), src, { externalData: 'always', externalMinBytes: 16 });
  assert.ok(fs.existsSync(`${src}.data`));
  const a = await quantizeModel(src, path.join(dir, 'a.onnx'), { recipe: STATIC });
  const b = await quantizeModel(MNIST, path.join(dir, 'b.onnx'), { recipe: STATIC });
  assert.equal(a.summary.quantizedCount, b.summary.quantizedCount);
  assert.deepEqual(a.ranges?.tensors, b.ranges?.tensors);
});
