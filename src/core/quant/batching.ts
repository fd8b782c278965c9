/**
 * Batched calibration. Many models declare a fixed batch of 1, so every calibration sample is its
 * own onnxruntime run, and on small models the per-run and per-node costs dwarf the arithmetic
 * (MNIST: 200 single runs take ~5x as long as 7 runs of 32). For MinMax, whose statistics do not
 * depend on how samples are grouped, the calibration copy of the model gets a free leading
 * dimension, and a check on real samples decides whether the model really treats it as a batch:
 * a run on two stacked samples must give, for every calibrated tensor, the two single-sample
 * results stacked. Anything else (a run error, another shape, other values) keeps one sample per
 * run. The quantized model itself is never changed by this.
 */
import type { Sample, SampleTensor, TensorArray } from '../data';
import { elementCount, mainGraph, type Graph, type Model, type Value } from '../model';
import type { TensorInfo } from './preprocess';

/** Name of the free leading dimension in the batched copy. */
const BATCH_DIM = 'quantlens_batch';

/** Upper bound on the activation bytes one batched run may hold (all float tensors of one sample x batch). */
const BATCH_BYTES = 128 * 2 ** 20;
const MAX_BATCH = 32;
/**
 * Above this many activation bytes per sample a run is dominated by arithmetic, which batching
 * barely speeds up on a CPU (a 50-layer 32x32 CNN, 20 MB: 5 %), while checking the batch costs
 * two extra sample runs; below it, fixed per-run costs dominate (MNIST, 80 kB: 5x faster).
 */
const SMALL_SAMPLE_BYTES = 2 * 2 ** 20;

/**
 * How many samples one run should take: the activations of a batch stay under BATCH_BYTES.
 * 1 when the model's inputs are not all batch-of-one tensors, a tensor's size is not fixed, or a
 * sample is too big to gain.
 */
export function batchSizeFor(model: Model, info: Map<string, TensorInfo>, first: Sample): number {
  const g = mainGraph(model);
  for (const name of g.inputs) {
    const t = first[name];
    if (!t || t.shape.length === 0 || t.shape[0] !== 1) return 1;
  }
  const perSample = activationBytesPerSample(model, info);
  if (perSample === undefined || perSample > SMALL_SAMPLE_BYTES) return 1;
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_BYTES / Math.max(1, perSample))));
}

/**
 * Bytes of all computed tensors of one sample (4 per element), or undefined when a size depends
 * on the data (sequence length, image size) and so gives no bound.
 */
export function activationBytesPerSample(model: Model, info: Map<string, TensorInfo>): number | undefined {
  let bytes = 0;
  for (const n of mainGraph(model).nodes) {
    for (const o of n.outputs) {
      const i = o ? info.get(o) : undefined;
      if (!i) continue;
      if (!i.shape || i.shape.some((d) => typeof d !== 'number' || d < 0)) return undefined;
      bytes += elementCount(i.shape as number[]) * 4;
    }
  }
  return bytes;
}

/**
 * Runs whose activations stay under this many bytes are faster on one onnxruntime thread: the
 * work per op is too small to share, and handing it over costs more than it saves (interleaved
 * runs, 200 MNIST samples in runs of 32, 2.7 MB: 8.5 -> 7.9 ms; a 10-layer 16-channel 32x32
 * CNN, 41 MB per run: 67 ms on two threads, 91 ms on one).
 */
export const ONE_THREAD_RUN_BYTES = 16 * 2 ** 20;

/**
 * A copy of `model` whose inputs take any number of samples along their first axis: the inputs'
 * leading dimension becomes symbolic, declared shapes of computed tensors are dropped (onnxruntime
 * infers them again), and a Reshape to a constant shape starting with 1, applied to a tensor whose
 * leading dimension is 1, copies that dimension instead (0 in the shape). Undefined when an input
 * has no leading dimension.
 */
export function batchableCopy(model: Model, info: Map<string, TensorInfo>): Model | undefined {
  const g = mainGraph(model);
  const values = new Map<string, Value>();
  const inputs = new Set(g.inputs);
  for (const [name, v] of g.values) {
    if (v.constant || !v.type) { values.set(name, v); continue; }
    if (inputs.has(name)) {
      const s = v.type.shape;
      if (!s || s.length === 0) return undefined;
      values.set(name, { ...v, type: { ...v.type, shape: [BATCH_DIM, ...s.slice(1)] } });
    } else {
      values.set(name, { ...v, type: { ...v.type, shape: null } });
    }
  }
  const initializers = [...g.initializers];
  const nodes = g.nodes.map((n) => {
    if (n.opType !== 'Reshape' || n.domain !== '' || n.inputs.length < 2) return n;
    if (n.attributes.some((a) => a.name === 'allowzero' && a.value.type === 'int' && Number(a.value.value) !== 0)) return n;
    const c = values.get(n.inputs[1])?.constant;
    if (!c || c.dtype !== 'int64' || c.data.kind !== 'bytes' || c.shape.length !== 1 || c.shape[0] < 1) return n;
    const dims = new BigInt64Array(c.data.bytes.slice().buffer);
    if (dims[0] !== 1n || info.get(n.inputs[0])?.shape?.[0] !== 1) return n;
    dims[0] = 0n; // 0: keep the input's leading dimension, whatever the batch
    let name = `${n.inputs[1]}_batched`;
    for (let i = 1; values.has(name); i++) name = `${n.inputs[1]}_batched_${i}`;
    values.set(name, {
      name, type: { dtype: 'int64', shape: c.shape.slice() }, consumers: [],
      constant: { name, dtype: 'int64', shape: c.shape.slice(), data: { kind: 'bytes', bytes: new Uint8Array(dims.buffer) } },
    });
    initializers.push(name);
    return { ...n, inputs: [n.inputs[0], name, ...n.inputs.slice(2)] };
  });
  const graph: Graph = { ...g, values, nodes, initializers };
  return { ...model, graphs: [graph, ...model.graphs.slice(1)] };
}

/** True when two samples hold the same values for every input. */
export function sameSample(a: Sample, b: Sample): boolean {
  for (const name of Object.keys(a)) {
    const x = a[name].data; const y = b[name]?.data;
    if (!y || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** The samples stacked along the first axis, input by input. */
export function stackSamples(samples: readonly Sample[]): Sample {
  if (samples.length === 1) return samples[0];
  const out: Sample = {};
  for (const name of Object.keys(samples[0])) {
    const parts = samples.map((s) => s[name]);
    const first = parts[0];
    const total = parts.reduce((a, p) => a + p.data.length, 0);
    const data = new (first.data.constructor as new (n: number) => TensorArray)(total);
    let at = 0;
    for (const p of parts) {
      if (p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.some((d, i) => i > 0 && d !== first.shape[i])) {
        throw new Error(`samples of input '${name}' differ in type or shape and cannot be stacked`);
      }
      (data as Float32Array).set(p.data as Float32Array, at);
      at += p.data.length;
    }
    const t: SampleTensor = { dtype: first.dtype, shape: [parts.reduce((a, p) => a + p.shape[0], 0), ...first.shape.slice(1)], data };
    out[name] = t;
  }
  return out;
}

/**
 * True when one run on two stacked samples gave, for every calibrated tensor, the min and max of
 * the two single-sample runs (`lo`/`hi` vectors from the in-graph reductions), up to float
 * rounding: batched kernels may sum in another order. Samples mixing inside the model (a Reshape
 * folding the batch into features, a reduction over the batch axis) changes them.
 */
export function batchKeepsRanges(
  a: [Float32Array, Float32Array], b: [Float32Array, Float32Array], both: [Float32Array, Float32Array],
): boolean {
  for (let k = 0; k < 2; k++) {
    const x = a[k]; const y = b[k]; const z = both[k];
    if (x.length !== z.length || y.length !== z.length) return false;
    for (let i = 0; i < z.length; i++) {
      const want = k === 0 ? Math.min(x[i], y[i]) : Math.max(x[i], y[i]);
      const tol = 1e-4 * Math.max(Math.abs(a[1][i] - a[0][i]), Math.abs(b[1][i] - b[0][i]), Math.abs(want)) + 1e-6;
      if (!(Math.abs(z[i] - want) <= tol) && !(Number.isNaN(z[i]) && Number.isNaN(want))) return false;
    }
  }
  return true;
}
