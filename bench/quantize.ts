/**
 * Quantization speed: total time of a static int8 run against the time of its calibration
 * forward passes alone: the same pre-processed model and samples, fetching the calibrated tensors,
 * timed around session.run only (and, stricter, against the plain float model's forward passes).
 * On MNIST (200 images) and on a synthetic 50-layer CNN (Conv + BatchNorm + Relu blocks, seeded
 * random weights and 32 synthetic samples; the data only matters for timing here).
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
import { foldWithOrt, sampleFeeds, withExtraOutputs } from '../src/core/quant/preprocess';
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
 * The calibration forward passes alone: the same pre-processed model with the same extra outputs,
 * the same samples and fetches, timed around session.run only, with no statistics.
 */
async function forwardOnly(source: string, recipe: Recipe, tensors: string[], plain = false): Promise<number> {
  const folded = (await foldWithOrt(await openModelFile(source))).model;
  const g = folded.graphs[0];
  const all = g.nodes.flatMap((n) => n.outputs).filter((o) => o && !g.initializers.includes(o));
  const s = await createSession(writeOnnx(plain ? folded : withExtraOutputs(folded, all)));
  const c = recipe.calibration ?? {};
  const data = await openCalibrationData(c.data ?? null, {
    inputs: inputSpecsFromModel(folded), limit: c.limit ?? 200,
    ...(c.synthetic ? { synthetic: { count: c.synthetic.count, seed: c.synthetic.seed } } : {}),
  });
  const fetches = tensors.filter((t) => !g.inputs.includes(t));
  let ms = 0;
  let first = true;
  for await (const sample of data) {
    const feeds = sampleFeeds(sample);
    const t0 = performance.now();
    await (plain ? s.run(feeds) : s.run(feeds, first ? all : fetches));
    ms += performance.now() - t0;
    first = false;
  }
  await s.release();
  return ms;
}

const ROUNDS = 5;

async function median(run: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await run());
  return xs.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

/** The run whose total time is the median of ROUNDS runs (its stages come with it). */
async function medianRuns<T extends { totalMs: number }>(run: () => Promise<T>): Promise<T> {
  const xs: T[] = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await run());
  return xs.sort((a, b) => a.totalMs - b.totalMs)[Math.floor(ROUNDS / 2)];
}

export async function benchQuantize(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bench-'));
  try {
    const res: Record<string, number> = {};
    const mnist = path.join(SHARED, 'onnx', 'mnist', 'mnist-12.onnx');
    const images = path.join(SHARED, 'data', 'mnist', 't10k-images-idx3-ubyte.gz');
    const mr: Recipe = { version: 1, mode: 'static', perChannel: true, calibration: { data: images, limit: 200 } };
    await timeRun(mnist, path.join(dir, 'warm.onnx'), mr); // warm-up: native binding, JIT
    // This machine is noisy: each figure is the median of ROUNDS runs, quantization and baselines
    // interleaved so that load changes hit both alike.
    const m = await medianRuns(() => timeRun(mnist, path.join(dir, 'mnist-q.onnx'), mr));
    const mf = await median(() => forwardOnly(mnist, mr, m.tensors));
    const mp = await median(() => forwardOnly(mnist, mr, m.tensors, true));
    res['mnist total ms'] = m.totalMs;
    res['mnist calibration forward ms'] = mf;
    res['mnist ratio total/forward'] = m.totalMs / mf;
    res['mnist plain float forward ms'] = mp;
    res['mnist ratio total/plain forward'] = m.totalMs / mp;

    const cnn = path.join(dir, 'cnn50.onnx');
    await writeOnnxFile(syntheticCnn(50), cnn);
    await timeRun(cnn, path.join(dir, 'warm2.onnx'), { version: 1, mode: 'static', calibration: { synthetic: { count: 2 } } });
    const cr: Recipe = { version: 1, mode: 'static', perChannel: true, calibration: { synthetic: { count: 32, seed: 1 } } };
    const c = await medianRuns(() => timeRun(cnn, path.join(dir, 'cnn50-q.onnx'), cr));
    const cf = await median(() => forwardOnly(cnn, cr, c.tensors));
    // stricter baseline: the plain float model over the same samples (no extra outputs at all)
    const cp = await median(() => forwardOnly(cnn, cr, c.tensors, true));
    res['cnn50 total ms'] = c.totalMs;
    res['cnn50 calibration forward ms'] = cf;
    res['cnn50 ratio total/forward'] = c.totalMs / cf;
    res['cnn50 plain float forward ms'] = cp;
    res['cnn50 ratio total/plain forward'] = c.totalMs / cp;
    // entropy calibration: histograms in worker threads
    const ce = await medianRuns(() => timeRun(cnn, path.join(dir, 'cnn50-e.onnx'), { ...cr, calibration: { ...cr.calibration, method: 'entropy' } }));
    res['cnn50 entropy total ms'] = ce.totalMs;
    res['cnn50 entropy ratio total/forward'] = ce.totalMs / cf;
    for (const [k, v] of Object.entries(c.stages)) res[`cnn50 stage ${k} ms`] = v;
    return res;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchQuantize().then((r) => { for (const [k, v] of Object.entries(r)) console.log(k.padEnd(50), v.toFixed(2)); }, (e) => { console.error(e); process.exitCode = 1; });
}
