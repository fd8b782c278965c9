/**
 * Quantization speed: total time of a static int8 run against the time of its calibration
 * forward passes alone: the same pre-processed model and samples, fetching the calibrated tensors,
 * one sample per run, timed around session.run (and with the session's creation), and against
 * the plain float model's forward passes. On MNIST (200 and 1,000 images) and on a synthetic
 * 50-layer CNN (Conv + BatchNorm + Relu blocks, seeded random weights and 32 synthetic samples;
 * the data only matters for timing here).
 * The bar (total <= 1.3x the calibration forward passes alone) is read against the
 * calibration forward passes of the reference, onnxruntime's Python MinMax calibrator; the stricter
 * baselines and QuantLens's own runs are reported beside it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Constant, Graph, Model, Node, Value } from '../src/core/model';
import { writeOnnxFile } from '../src/core/formats/onnx';
import { quantizeModel, type QuantizeTiming } from '../src/core/quant/quantize';
import { openModelFile } from '../src/core/open';
import { inputSpecsFromModel, openCalibrationData } from '../src/core/data';
import { writeOnnx } from '../src/core/formats/onnx';
import { declaredTensorInfo, foldWithOrt, inferredTensorInfo, sampleFeeds, withExtraOutputs } from '../src/core/quant/preprocess';
import { createSession } from '../src/core/runtime/ort';
import type { Recipe } from '../src/core/quant/recipe';
import { mulberry32 } from '../src/core/random';

const SHARED = process.env.QUANTLENS_SHARED_MODELS ?? path.resolve(__dirname, '..', '..', 'shared', 'models');

const rng = mulberry32;

/** A CNN of `layers` Conv(3x3) + BatchNormalization + Relu blocks, then pooling and a classifier. */
export function syntheticCnn(layers = 50, channels = 32, size = 32): Model {
  const rnd = rng(7);
  const values = new Map<string, Value>();
  const nodes: Node[] = [];
  const initializers: string[] = [];
  const val = (name: string, shape: number[] | null): void => { values.set(name, { name, type: { dtype: 'float32', shape }, consumers: [] }); };
  const init = (name: string, shape: number[], gen: () => number): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = gen();
    const constant: Constant = { name, dtype: 'float32', shape, data: { kind: 'bytes', bytes: new Uint8Array(data.buffer) } };
    values.set(name, { name, type: { dtype: 'float32', shape }, constant, consumers: [] });
    initializers.push(name);
  };
  const node = (opType: string, name: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = []): void => {
    nodes.push({ name, opType, domain: '', inputs, outputs, attributes, subgraphs: [] });
    for (const o of outputs) if (!values.has(o)) val(o, null);
  };
  val('input', [1, 3, size, size]);
  let x = 'input';
  let cin = 3;
  for (let l = 0; l < layers; l++) {
    const p = `/block.${l}`;
    const k = Math.sqrt(2 / (cin * 9));
    init(`${p}/conv.weight`, [channels, cin, 3, 3], () => (rnd() * 2 - 1) * k * 1.7);
    init(`${p}/conv.bias`, [channels], () => (rnd() - 0.5) * 0.1);
    node('Conv', `${p}/conv/Conv`, [x, `${p}/conv.weight`, `${p}/conv.bias`], [`${p}/conv/out`], [
      { name: 'pads', value: { type: 'ints', value: [1, 1, 1, 1] } },
      { name: 'kernel_shape', value: { type: 'ints', value: [3, 3] } },
    ]);
    init(`${p}/bn.scale`, [channels], () => 0.8 + rnd() * 0.4);
    init(`${p}/bn.bias`, [channels], () => (rnd() - 0.5) * 0.2);
    init(`${p}/bn.mean`, [channels], () => (rnd() - 0.5) * 0.1);
    init(`${p}/bn.var`, [channels], () => 0.8 + rnd() * 0.4);
    node('BatchNormalization', `${p}/bn/BatchNormalization`, [`${p}/conv/out`, `${p}/bn.scale`, `${p}/bn.bias`, `${p}/bn.mean`, `${p}/bn.var`], [`${p}/bn/out`]);
    node('Relu', `${p}/relu/Relu`, [`${p}/bn/out`], [`${p}/relu/out`]);
    x = `${p}/relu/out`;
    cin = channels;
  }
  node('GlobalAveragePool', '/head/pool', [x], ['/head/pool/out']);
  node('Flatten', '/head/flatten', ['/head/pool/out'], ['/head/flatten/out']);
  init('/head/fc.weight', [10, channels], () => rnd() - 0.5);
  init('/head/fc.bias', [10], () => rnd() - 0.5);
  node('Gemm', '/head/fc/Gemm', ['/head/flatten/out', '/head/fc.weight', '/head/fc.bias'], ['logits'], [{ name: 'transB', value: { type: 'int', value: 1 } }]);
  values.get('logits')!.type = { dtype: 'float32', shape: [1, 10] };
  const graph: Graph = { name: 'cnn50', nodes, values, inputs: ['input'], outputs: ['logits'], initializers };
  return {
    format: 'onnx', fileSize: 0, producer: 'quantlens-bench', formatVersion: 8, opsets: [{ domain: '', version: 13 }],
    description: '', metadata: {}, graphs: [graph], functions: [], signatures: [],
  };
}

async function timeRun(source: string, out: string, recipe: Recipe): Promise<QuantizeTiming & { tensors: string[] }> {
  const timing: QuantizeTiming = { totalMs: 0, forwardMs: 0, calibrationRuns: 0, stages: {} };
  const r = await quantizeModel(source, out, { recipe, timing });
  return { ...timing, tensors: Object.keys(r.ranges?.tensors ?? {}) };
}

/**
 * The calibration forward passes alone, done the plain way: the same pre-processed model with
 * extra outputs, one run per sample as the model declares, the same samples already in memory.
 * `runMs` is session.run only; `withSessionMs` adds creating that session. The outputs:
 *  - 'ours': the tensors QuantLens calibrates (what its calibration has to compute);
 *  - 'reference': what onnxruntime's Python MinMax calibrator runs: for every float tensor a node
 *    reads or writes (select_tensors_to_calibrate, every op type), ReduceMin and ReduceMax with
 *    keepdims, each reshaped to [1] and made a graph output;
 *  - 'plain': the float model's own outputs only.
 */
async function forwardOnly(source: string, recipe: Recipe, tensors: string[], kind: 'ours' | 'reference' | 'plain'): Promise<{ runMs: number; withSessionMs: number }> {
  const folded = (await foldWithOrt(await openModelFile(source))).model;
  const g = folded.graphs[0];
  const c = recipe.calibration ?? {};
  const data = await openCalibrationData(c.data ?? null, {
    inputs: inputSpecsFromModel(folded), limit: c.limit ?? 200,
    ...(c.synthetic ? { synthetic: { count: c.synthetic.count, seed: c.synthetic.seed } } : {}),
  });
  const samples = [];
  for await (const sample of data) samples.push(sample);
  const feeds = samples.map(sampleFeeds);
  let model = folded;
  let fetches = g.outputs;
  if (kind === 'ours') {
    fetches = tensors.filter((t) => !g.inputs.includes(t));
    model = withExtraOutputs(folded, fetches);
  } else if (kind === 'reference') {
    const info = declaredTensorInfo(folded, samples[0]) ?? await inferredTensorInfo(folded, samples[0]);
    const used = new Set(g.nodes.flatMap((n) => [...n.inputs, ...n.outputs]).filter(Boolean));
    // its session.run(None, ...) fetches every output, the model's own included
    model = withMinMaxOutputs(folded, [...used].filter((t) => info.get(t)?.dtype === 'float32' && !g.values.get(t)?.constant));
    fetches = model.graphs[0].outputs;
  }
  const bytes = writeOnnx(model);
  const t0 = performance.now();
  const s = await createSession(bytes);
  const t1 = performance.now();
  for (const f of feeds) await s.run(f, fetches);
  const t2 = performance.now();
  await s.release();
  return { runMs: t2 - t1, withSessionMs: t2 - t0 };
}

/** `model` with ReduceMin / ReduceMax (keepdims) -> Reshape [1] outputs for each tensor. */
function withMinMaxOutputs(model: Model, tensors: string[]): Model {
  const g = model.graphs[0];
  const values = new Map(g.values);
  const nodes = [...g.nodes];
  const one = 'bench_shape_1';
  values.set(one, { name: one, type: { dtype: 'int64', shape: [1] }, consumers: [], constant: { name: one, dtype: 'int64', shape: [1], data: { kind: 'bytes', bytes: new Uint8Array(BigInt64Array.of(1n).buffer) } } });
  const outputs: string[] = [];
  const node = (opType: string, inputs: string[], out: string, attributes: Node['attributes'] = []): void => {
    nodes.push({ name: out, opType, domain: '', inputs, outputs: [out], attributes, subgraphs: [] });
    values.set(out, { name: out, type: { dtype: 'float32', shape: null }, consumers: [] });
  };
  tensors.forEach((t, i) => {
    for (const op of ['ReduceMin', 'ReduceMax']) {
      const r = `bench_${i}_${op}`;
      node(op, [t], `${r}_keep`, [{ name: 'keepdims', value: { type: 'int', value: 1 } }]);
      node('Reshape', [`${r}_keep`, one], r);
      values.set(r, { ...values.get(r)!, type: { dtype: 'float32', shape: [1] } });
      outputs.push(r);
    }
  });
  const graph: Graph = { ...g, values, nodes, outputs: [...g.outputs, ...outputs], initializers: [...g.initializers, one] };
  return { ...model, graphs: [graph, ...model.graphs.slice(1)] };
}

const ROUNDS = 9;

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * ROUNDS rounds of: one quantization, then each baseline, interleaved so that the machine's load
 * changes hit all alike. Ratios are the median of the per-round ratios.
 */
async function compare(prefix: string, source: string, out: string, recipe: Recipe, res: Record<string, number>, count = ROUNDS): Promise<QuantizeTiming> {
  type Forward = { runMs: number; withSessionMs: number };
  const rounds: { q: QuantizeTiming & { tensors: string[] }; cal: Forward; all: Forward; plain: Forward }[] = [];
  await timeRun(source, out, recipe); // warm-up: native binding, JIT, file cache
  for (let i = 0; i < count; i++) {
    const q = await timeRun(source, out, recipe);
    const cal = await forwardOnly(source, recipe, q.tensors, 'ours');
    const all = await forwardOnly(source, recipe, q.tensors, 'reference');
    const plain = await forwardOnly(source, recipe, q.tensors, 'plain');
    rounds.push({ q, cal, all, plain });
  }
  const m = (f: (r: (typeof rounds)[number]) => number): number => median(rounds.map(f));
  res[`${prefix} total ms`] = m((r) => r.q.totalMs);
  res[`${prefix} own forward ms (runs inside the quantization)`] = m((r) => r.q.forwardMs);
  res[`${prefix} calibration forward ms (runs only)`] = m((r) => r.cal.runMs);
  res[`${prefix} calibration forward ms (session + runs)`] = m((r) => r.cal.withSessionMs);
  res[`${prefix} plain float forward ms`] = m((r) => r.plain.runMs);
  res[`${prefix} ratio total / calibration forward (runs only)`] = m((r) => r.q.totalMs / r.cal.runMs);
  // the spread of the per-round ratio: this machine's speed changes from one round to the next
  const ratios = rounds.map((r) => r.q.totalMs / r.cal.runMs).sort((a, b) => a - b);
  res[`${prefix} ratio total / calibration forward (runs only), 25th percentile`] = ratios[Math.floor((count - 1) / 4)];
  res[`${prefix} ratio total / calibration forward (runs only), 75th percentile`] = ratios[Math.ceil((3 * (count - 1)) / 4)];
  res[`${prefix} ratio total / calibration forward (session + runs)`] = m((r) => r.q.totalMs / r.cal.withSessionMs);
  res[`${prefix} reference calibration forward ms (onnxruntime Python MinMax augmentation, runs only)`] = m((r) => r.all.runMs);
  res[`${prefix} ratio total / reference calibration forward (runs only)`] = m((r) => r.q.totalMs / r.all.runMs);
  const refRatios = rounds.map((r) => r.q.totalMs / r.all.runMs).sort((a, b) => a - b);
  res[`${prefix} ratio total / reference calibration forward (runs only), 25th percentile`] = refRatios[Math.floor((count - 1) / 4)];
  res[`${prefix} ratio total / reference calibration forward (runs only), 75th percentile`] = refRatios[Math.ceil((3 * (count - 1)) / 4)];
  res[`${prefix} ratio total / plain float forward`] = m((r) => r.q.totalMs / r.plain.runMs);
  // the harshest reading: everything but QuantLens's own (batched, in-graph reduced) runs, over those runs
  res[`${prefix} ratio total / own forward (runs inside the quantization)`] = m((r) => r.q.totalMs / r.q.forwardMs);
  // the measured output check every run ends with (float and quantized model on a few held-back samples)
  const CHECK = 'Checking the output';
  res[`${prefix} output check ms`] = m((r) => r.q.stages[CHECK] ?? NaN);
  res[`${prefix} output check share of total`] = m((r) => (r.q.stages[CHECK] ?? NaN) / r.q.totalMs);
  const mid = rounds.slice().sort((a, b) => a.q.totalMs - b.q.totalMs)[Math.floor(count / 2)].q;
  for (const [k, v] of Object.entries(mid.stages)) res[`${prefix} stage ${k} ms`] = v;
  return mid;
}

export async function benchQuantize(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bench-'));
  try {
    const res: Record<string, number> = {};
    const mnist = path.join(SHARED, 'onnx', 'mnist', 'mnist-12.onnx');
    const images = path.join(SHARED, 'data', 'mnist', 't10k-images-idx3-ubyte.gz');
    // small and quick: more rounds steady the median of a ratio whose rounds vary widely here
    await compare('mnist', mnist, path.join(dir, 'mnist-q.onnx'), { version: 1, mode: 'static', perChannel: true, calibration: { data: images, limit: 200 } }, res, 3 * ROUNDS);
    // the fixed costs (three onnxruntime sessions, reading and writing the model) weigh less as
    // the calibration set grows
    await compare('mnist-1000', mnist, path.join(dir, 'mnist-q.onnx'), { version: 1, mode: 'static', perChannel: true, calibration: { data: images, limit: 1000 } }, res);

    const cnn = path.join(dir, 'cnn50.onnx');
    await writeOnnxFile(syntheticCnn(50), cnn);
    const cr: Recipe = { version: 1, mode: 'static', perChannel: true, calibration: { synthetic: { count: 32, seed: 1 } } };
    await compare('cnn50', cnn, path.join(dir, 'cnn50-q.onnx'), cr, res);
    // entropy calibration: histograms in worker threads
    const ce: number[] = [];
    for (let i = 0; i < 3; i++) ce.push((await timeRun(cnn, path.join(dir, 'cnn50-e.onnx'), { ...cr, calibration: { ...cr.calibration, method: 'entropy' } })).totalMs);
    res['cnn50 entropy total ms'] = median(ce);
    res['cnn50 entropy ratio total / calibration forward (runs only)'] = median(ce) / res['cnn50 calibration forward ms (runs only)'];
    return res;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchQuantize().then((r) => { for (const [k, v] of Object.entries(r)) console.log(k.padEnd(70), v.toFixed(2)); }, (e) => { console.error(e); process.exitCode = 1; });
}
