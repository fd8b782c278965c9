/**
 * Calibration in one onnxruntime session, several samples per run when the model takes batches.
 * The reference for every range is independent of that machinery: the tensors fetched from
 * onnxruntime one sample at a time and reduced here in JavaScript.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Constant, Graph, Model, Node, Value } from '../../src/core/model';
import { writeOnnx } from '../../src/core/formats/onnx';
import { openModelFile } from '../../src/core/open';
import { inputSpecsFromModel, openCalibrationData, type Sample } from '../../src/core/data';
import { calibrateModel, withReductions } from '../../src/core/quant/calibrate';
import { createCalibrator } from '../../src/core/quant/calibrators';
import { poolEngine, WorkerPool } from '../../src/core/quant/workers';
import { batchableCopy, batchKeepsRanges, batchSizeFor, stackSamples } from '../../src/core/quant/batching';
import { declaredTensorInfo, foldWithOrt, inferredTensorInfo, sampleFeeds, withExtraOutputs, type TensorInfo } from '../../src/core/quant/preprocess';
import { createSession } from '../../src/core/runtime/ort';
import { mulberry32 } from '../../src/core/random';
import { SHARED_MODELS } from '../helpers/paths';

const MNIST = path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12.onnx');
const IMAGES = path.join(SHARED_MODELS, 'data', 'mnist', 't10k-images-idx3-ubyte.gz');

async function* iterate(samples: Sample[]): AsyncGenerator<Sample> {
  yield* samples;
}

/** Min and max of every tensor over the samples: one plain run per sample, reduced in JS. */
async function referenceRanges(model: Model, samples: Sample[], tensors: string[]): Promise<Map<string, [number, number]>> {
  const g = model.graphs[0];
  const outs = tensors.filter((t) => !g.inputs.includes(t));
  const s = await createSession(writeOnnx(withExtraOutputs(model, outs)));
  const r = new Map<string, [number, number]>();
  try {
    for (const sample of samples) {
      const res = await s.run(sampleFeeds(sample), outs);
      for (const t of tensors) {
        const data = (g.inputs.includes(t) ? sample[t].data : res[t].data) as Float32Array;
        let [lo, hi] = r.get(t) ?? [Infinity, -Infinity];
        // NaN and infinities are left out of a range (the calibrators skip them)
        for (const v of data) { if (!Number.isFinite(v)) continue; if (v < lo) lo = v; if (v > hi) hi = v; }
        r.set(t, [lo, hi]);
      }
    }
  } finally {
    await s.release();
  }
  return r;
}

function assertRangesEqual(got: Record<string, { dataMin: number; dataMax: number }>, want: Map<string, [number, number]>): void {
  assert.deepEqual(Object.keys(got).sort(), [...want.keys()].sort());
  for (const [t, [lo, hi]] of want) {
    const tol = 1e-5 * Math.max(1, Math.abs(lo), Math.abs(hi));
    assert.ok(Math.abs(got[t].dataMin - lo) <= tol, `${t}: min ${got[t].dataMin} vs ${lo}`);
    assert.ok(Math.abs(got[t].dataMax - hi) <= tol, `${t}: max ${got[t].dataMax} vs ${hi}`);
  }
}

const floatActivations = (model: Model) => (info: Map<string, TensorInfo>): string[] => {
  const g = model.graphs[0];
  return [...info.keys()].filter((k) => info.get(k)!.dtype === 'float32' && !g.initializers.includes(k));
};

test('MNIST: batched MinMax calibration gives the ranges of one run per sample', async () => {
  const model = (await foldWithOrt(await openModelFile(MNIST))).model;
  const samples: Sample[] = [];
  for await (const s of await openCalibrationData(IMAGES, { inputs: inputSpecsFromModel(model), limit: 70 })) samples.push(s);
  const select = floatActivations(model);
  const batched = await calibrateModel(model, iterate(samples), select, createCalibrator({ method: 'minmax' }));
  assert.ok(batched.batch > 1, `MNIST (fixed batch 1, Reshape to [1,256]) should run in batches, got ${batched.batch}`);
  assert.equal(batched.samples, 70);
  const single = await calibrateModel(model, iterate(samples), select, createCalibrator({ method: 'minmax' }), { batch: false });
  assert.equal(single.batch, 1);
  const want = await referenceRanges(model, samples, batched.tensors);
  assert.ok(want.size >= 8, `expected MNIST's activations, got ${[...want.keys()].join(', ')}`);
  assertRangesEqual(batched.result.tensors, want);
  assertRangesEqual(single.result.tensors, want);
  // a limit that is not a multiple of the batch stops exactly there
  const limited = await calibrateModel(model, iterate(samples), select, createCalibrator({ method: 'minmax' }), { limit: 45 });
  assert.equal(limited.samples, 45);
  assertRangesEqual(limited.result.tensors, await referenceRanges(model, samples.slice(0, 45), limited.tensors));
});

/** x[1,4] -> f(x) -> Relu, with f built by `body`. */
function smallModel(body: (add: (op: string, inputs: string[], out: string, attrs?: Node['attributes']) => void, init: (name: string, c: Constant) => void) => string): Model {
  const values = new Map<string, Value>();
  const nodes: Node[] = [];
  const initializers: string[] = [];
  values.set('x', { name: 'x', type: { dtype: 'float32', shape: [1, 4] }, consumers: [] });
  const add = (op: string, inputs: string[], out: string, attributes: Node['attributes'] = []): void => {
    nodes.push({ name: out, opType: op, domain: '', inputs, outputs: [out], attributes, subgraphs: [] });
    values.set(out, { name: out, type: { dtype: 'float32', shape: null }, consumers: [] });
  };
  const init = (name: string, c: Constant): void => {
    values.set(name, { name, type: { dtype: c.dtype, shape: c.shape }, constant: c, consumers: [] });
    initializers.push(name);
  };
  const last = body(add, init);
  add('Relu', [last], 'y');
  values.get('y')!.type = { dtype: 'float32', shape: [1, 4] };
  const graph: Graph = { name: 'g', nodes, values, inputs: ['x'], outputs: ['y'], initializers };
  return { format: 'onnx', fileSize: 0, producer: 'test', formatVersion: 8, opsets: [{ domain: '', version: 13 }], description: '', metadata: {}, graphs: [graph], functions: [], signatures: [] };
}

function randomSamples(n: number, seed: number): Sample[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => ({ x: { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array(4).map(() => rnd() * 4 - 2) } }));
}

async function foldedWithTypes(m: Model): Promise<Model> {
  return (await foldWithOrt(m)).model;
}

/** x + mean over the batch axis: 2x for one sample, something else for two. */
async function mixingModel(): Promise<Model> {
  return foldedWithTypes(smallModel((add) => {
    add('ReduceMean', ['x'], 'm', [{ name: 'axes', value: { type: 'ints', value: [0] } }, { name: 'keepdims', value: { type: 'int', value: 1 } }]);
    add('Add', ['x', 'm'], 's');
    return 's';
  }));
}

test('MinMax inside onnxruntime: a tensor holding -Infinity or NaN still gets the range of its finite values', async () => {
  // log(0) = -Infinity, log(negative) = NaN: a reduction over the whole tensor would return those
  const model = await foldedWithTypes(smallModel((add, init) => {
    add('Log', ['x'], 'l');
    init('c', { name: 'c', dtype: 'float32', shape: [1], data: { kind: 'bytes', bytes: new Uint8Array(Float32Array.of(0.5).buffer) } });
    add('Add', ['l', 'c'], 's');
    return 's';
  }));
  const samples = randomSamples(40, 11).map((smp) => ({ x: { ...smp.x, data: (smp.x.data as Float32Array).map(Math.abs) } }));
  for (const k of [5, 17, 33]) (samples[k].x.data as Float32Array)[1] = 0;
  (samples[21].x.data as Float32Array)[2] = -1;
  for (const batch of [true, false]) {
    const run = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax' }), { batch });
    assert.equal(run.batch > 1, batch, `batching ${batch}`);
    const want = await referenceRanges(model, samples, run.tensors);
    assert.ok(Number.isFinite(want.get('l')![0]) && want.get('l')![0] < -1, 'the reference min of l is finite and well below 0');
    assertRangesEqual(run.result.tensors, want);
    // the three infinities are seen (onnxruntime's reductions pass a NaN over, so it may not show)
    assert.ok(run.result.tensors.l.nonFinite >= 3, `non-finite values seen: ${run.result.tensors.l.nonFinite}`);
  }
});

test('a model that mixes samples along the batch axis keeps one sample per run', async () => {
  const model = await mixingModel();
  const samples = randomSamples(20, 5);
  const run = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax' }));
  assert.equal(run.batch, 1);
  assert.equal(run.samples, 20);
  assertRangesEqual(run.result.tensors, await referenceRanges(model, samples, run.tensors));
});

test('two equal first samples cannot show mixing, so they never open batching', async () => {
  const model = await mixingModel();
  const samples = randomSamples(20, 8);
  samples[1] = { x: { ...samples[0].x, data: (samples[0].x.data as Float32Array).slice() } };
  const run = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax' }));
  assert.equal(run.batch, 1);
  assertRangesEqual(run.result.tensors, await referenceRanges(model, samples, run.tensors));
});

test('a model whose batched run fails keeps one sample per run', async () => {
  // Reshape to a constant [2, 2]: fine for one sample, an error for two
  const model = await foldedWithTypes(smallModel((add, init) => {
    init('shape', { name: 'shape', dtype: 'int64', shape: [2], data: { kind: 'bytes', bytes: new Uint8Array(BigInt64Array.of(2n, 2n).buffer) } });
    add('Reshape', ['x', 'shape'], 'r');
    add('Neg', ['r'], 'n');
    return 'n';
  }));
  const samples = randomSamples(10, 6);
  const run = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax' }));
  assert.equal(run.batch, 1);
  assertRangesEqual(run.result.tensors, await referenceRanges(model, samples, run.tensors));
});

test('the moving average (which weighs each run) never batches; a per-sample model does', async () => {
  const model = await foldedWithTypes(smallModel((add) => { add('Neg', ['x'], 'n'); return 'n'; }));
  const samples = randomSamples(12, 7);
  const ma = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax', movingAverage: true }));
  assert.equal(ma.batch, 1);
  const plain = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax' }));
  assert.ok(plain.batch > 1);
  assertRangesEqual(plain.result.tensors, await referenceRanges(model, samples, plain.tensors));
});

test('batchableCopy frees the leading dimension and rewrites only batch-leading Reshapes', async () => {
  const model = await foldedWithTypes(smallModel((add, init) => {
    init('to18', { name: 'to18', dtype: 'int64', shape: [2], data: { kind: 'bytes', bytes: new Uint8Array(BigInt64Array.of(1n, 4n).buffer) } });
    add('Reshape', ['x', 'to18'], 'r');
    return 'r';
  }));
  const info = await inferredTensorInfo(model, randomSamples(1, 1)[0]);
  const copy = batchableCopy(model, info)!;
  const g = copy.graphs[0];
  assert.deepEqual(g.values.get('x')!.type!.shape, ['quantlens_batch', 4]);
  const reshape = g.nodes.find((n) => n.opType === 'Reshape')!;
  assert.notEqual(reshape.inputs[1], 'to18');
  const shape = g.values.get(reshape.inputs[1])!.constant!.data as { kind: 'bytes'; bytes: Uint8Array };
  assert.deepEqual([...new BigInt64Array(shape.bytes.slice().buffer)], [0n, 4n]);
  // the source model is untouched
  assert.equal(model.graphs[0].nodes.find((n) => n.opType === 'Reshape')!.inputs[1], 'to18');
  // and the copy runs three samples at once, giving each one's own result
  const s = await createSession(writeOnnx(copy));
  const xs = randomSamples(3, 9);
  const res = await s.run(sampleFeeds(stackSamples(xs)));
  await s.release();
  const want = xs.flatMap((x) => [...(x.x.data as Float32Array)].map((v) => Math.max(0, v)));
  assert.deepEqual([...(res.y.data as Float32Array)], want.map((v) => Math.fround(v)));
  assert.deepEqual(res.y.dims, [3, 4]);
});

test('stackSamples and batchKeepsRanges, by hand', () => {
  const a: Sample = { x: { dtype: 'float32', shape: [1, 2], data: Float32Array.of(1, 2) } };
  const b: Sample = { x: { dtype: 'float32', shape: [1, 2], data: Float32Array.of(3, 4) } };
  assert.deepEqual(stackSamples([a, b]).x, { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
  assert.throws(() => stackSamples([a, { x: { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) } }]), /cannot be stacked/);
  const r = (lo: number[], hi: number[]): [Float32Array, Float32Array] => [Float32Array.from(lo), Float32Array.from(hi)];
  assert.equal(batchKeepsRanges(r([0, -1], [1, 5]), r([-2, 0], [3, 4]), r([-2, -1], [3, 5])), true);
  assert.equal(batchKeepsRanges(r([0, -1], [1, 5]), r([-2, 0], [3, 4]), r([-2, -1], [3, 4.5])), false);
  assert.equal(batchKeepsRanges(r([0], [1]), r([0], [1]), r([0, 0], [1, 1])), false);
});

test('batchSizeFor: batch-of-one inputs only, and not for big samples', () => {
  const model = smallModel((add) => { add('Neg', ['x'], 'n'); return 'n'; });
  const info = new Map<string, TensorInfo>([['x', { dtype: 'float32', shape: [1, 4] }], ['n', { dtype: 'float32', shape: [1, 4] }], ['y', { dtype: 'float32', shape: [1, 4] }]]);
  assert.equal(batchSizeFor(model, info, randomSamples(1, 1)[0]), 32);
  assert.equal(batchSizeFor(model, info, { x: { dtype: 'float32', shape: [2, 4], data: new Float32Array(8) } }), 1);
  const symbolic = new Map(info);
  symbolic.set('n', { dtype: 'float32', shape: [1, 'seq'] }); // no memory bound
  assert.equal(batchSizeFor(model, symbolic, randomSamples(1, 1)[0]), 1);
  const big = new Map(info);
  big.set('n', { dtype: 'float32', shape: [1, 64, 128, 128] }); // 4 MiB per sample
  assert.equal(batchSizeFor(model, big, randomSamples(1, 1)[0]), 1);
});

test('tensor types: declared ones when complete, else onnxruntime\'s inference without a run', async () => {
  const raw = smallModel((add) => { add('Neg', ['x'], 'n'); return 'n'; }); // 'n' has no declared shape
  const sample = randomSamples(1, 1)[0];
  assert.equal(declaredTensorInfo(raw, sample), undefined);
  const inferred = await inferredTensorInfo(raw, sample);
  assert.deepEqual(inferred.get('n'), { dtype: 'float32', shape: [1, 4] });
  assert.deepEqual(inferred.get('y'), { dtype: 'float32', shape: [1, 4] });
  raw.graphs[0].values.get('n')!.type = { dtype: 'float32', shape: ['b', 4] };
  assert.deepEqual(declaredTensorInfo(raw, sample)!.get('n'), { dtype: 'float32', shape: ['b', 4] });
  raw.graphs[0].values.get('n')!.type = { dtype: 'float32', shape: null };
  // without declared types the calibration asks onnxruntime
  const run = await calibrateModel(raw, iterate(randomSamples(6, 2)), floatActivations(raw), createCalibrator({ method: 'minmax' }));
  assert.equal(run.samples, 6);
  assert.deepEqual(run.info.get('n'), { dtype: 'float32', shape: [1, 4] });
});

test('withReductions: two vectors, the min and max of each tensor in order', async () => {
  const model = await foldedWithTypes(smallModel((add) => { add('Neg', ['x'], 'n'); return 'n'; }));
  const red = withReductions(model, ['n', 'y']);
  const s = await createSession(writeOnnx(red.model));
  const x = Float32Array.of(-1.5, 0.25, 2, -0.5);
  const res = await s.run(sampleFeeds({ x: { dtype: 'float32', shape: [1, 4], data: x } }), [red.min, red.max]);
  await s.release();
  assert.deepEqual([...(res[red.min].data as Float32Array)], [-2, 0]); // min(-x), min(relu(-x))
  assert.deepEqual([...(res[red.max].data as Float32Array)], [1.5, 1.5]);
});

test('a two-input model batches both inputs together and keeps the ranges', async () => {
  const values = new Map<string, Value>();
  for (const n of ['x', 'y']) values.set(n, { name: n, type: { dtype: 'float32', shape: [1, 4] }, consumers: [] });
  values.set('s', { name: 's', type: null, consumers: [] });
  values.set('z', { name: 'z', type: { dtype: 'float32', shape: [1, 4] }, consumers: [] });
  const nodes: Node[] = [
    { name: 'mul', opType: 'Mul', domain: '', inputs: ['x', 'y'], outputs: ['s'], attributes: [], subgraphs: [] },
    { name: 'relu', opType: 'Relu', domain: '', inputs: ['s'], outputs: ['z'], attributes: [], subgraphs: [] },
  ];
  const model = await foldedWithTypes({
    format: 'onnx', fileSize: 0, producer: 'test', formatVersion: 8, opsets: [{ domain: '', version: 13 }], description: '', metadata: {},
    graphs: [{ name: 'g', nodes, values, inputs: ['x', 'y'], outputs: ['z'], initializers: [] }], functions: [], signatures: [],
  });
  const rnd = mulberry32(12);
  const samples: Sample[] = Array.from({ length: 40 }, () => ({
    x: { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array(4).map(() => rnd() * 4 - 2) },
    y: { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array(4).map(() => rnd() * 2 - 1) },
  }));
  const run = await calibrateModel(model, iterate(samples), floatActivations(model), createCalibrator({ method: 'minmax' }));
  assert.ok(run.batch > 1);
  assert.equal(run.samples, 40);
  assertRangesEqual(run.result.tensors, await referenceRanges(model, samples, run.tensors));
});

test('histograms in a worker while onnxruntime runs the next sample give the ranges of the in-thread run; samples stay whole', async () => {
  const model = (await foldWithOrt(await openModelFile(MNIST))).model;
  const samples: Sample[] = [];
  for await (const s of await openCalibrationData(IMAGES, { inputs: inputSpecsFromModel(model), limit: 12 })) samples.push(s);
  const select = floatActivations(model);
  const pool = new WorkerPool({ size: 1 });
  try {
    for (const method of ['entropy', 'percentile'] as const) {
      const local = await calibrateModel(model, iterate(samples), select, createCalibrator({ method }));
      // MNIST's ~10k activations per sample are below the default threshold: a low one sends every batch out
      const moved = await calibrateModel(model, iterate(samples), select, createCalibrator({ method, engine: poolEngine(pool, { minElements: 1000 }) }), { statsInWorker: true });
      assert.ok(moved.tensors.includes(model.graphs[0].inputs[0]), 'the graph input is calibrated too (it is copied, not moved)');
      assert.deepEqual(moved.result, local.result, method);
    }
    // the fed inputs were copied before moving: every sample still holds its data
    for (const s of samples) for (const t of Object.values(s)) assert.equal(t.data.length, 784);
  } finally {
    await pool.close();
  }
});
