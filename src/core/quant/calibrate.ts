/**
 * Calibration through onnxruntime. One session serves both purposes: every node output is a graph
 * output, the first sample is run fetching all of them (which gives the run-time type and shape of
 * every tensor, so the plan can pick the tensors of interest), and the remaining samples fetch
 * only those tensors. Each batch's tensors go to the calibrator, which keeps bounded statistics
 * (two numbers or one histogram per tensor), never the batches. The next run is started before
 * the calibrator digests the previous one, so statistics overlap with inference.
 */
import { ModelError } from '../errors';
import { writeOnnx } from '../formats/onnx';
import { mainGraph, type Graph, type Model } from '../model';
import type { Sample } from '../data';
import { createSession, runSession, type OrtTensor } from '../runtime/ort';
import { AbortError } from './workers';
import type { CalibrationResult, Calibrator } from './calibrators';
import { ORT_DTYPES, sampleFeeds, withExtraOutputs, type TensorInfo } from './preprocess';

export interface CalibrateOptions {
  signal?: AbortSignal;
  /** Called after each run with the number of samples seen so far. */
  onSample?: (done: number) => void;
  /** Largest number of samples (0 / undefined: all the data gives). */
  limit?: number;
  /** Time spent waiting on session.run is added here (with overlap, an upper bound). */
  timing?: { forwardMs: number; runs: number };
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

export interface CalibrationRun {
  /** Run-time type and shape of every tensor of the main graph (from the first sample). */
  info: Map<string, TensorInfo>;
  tensors: string[];
  result: CalibrationResult;
  samples: number;
}

/**
 * Runs `data` through `model`. After the first sample, `select(info)` names the float tensors to
 * calibrate (it may return none). Returns their ranges.
 */
export async function calibrateModel(
  model: Model, data: AsyncIterable<Sample>, select: (info: Map<string, TensorInfo>) => string[], calibrator: Calibrator,
  opts: CalibrateOptions = {},
): Promise<CalibrationRun> {
  const g = mainGraph(model);
  const info = new Map<string, TensorInfo>();
  for (const name of g.initializers) {
    const c = g.values.get(name)?.constant;
    if (c) info.set(name, { dtype: c.dtype, shape: c.shape.slice() });
  }
  const all: string[] = [];
  for (const n of g.nodes) for (const o of n.outputs) if (o && !info.has(o)) all.push(o);
  let session = await createSession(writeOnnx(withExtraOutputs(model, all)), {}, 'the model for calibration');
  let reductions: Map<string, [string, string]> | undefined;
  const iter = data[Symbol.asyncIterator]();
  let samples = 0;
  let tensors: string[] = [];
  const timed = async (s: Sample, fetches?: string[]): Promise<[Record<string, OrtTensor>, Sample]> => {
    const t0 = performance.now();
    const res = await runSession(session, sampleFeeds(s), fetches, 'the model on calibration data');
    if (opts.timing) { opts.timing.forwardMs += performance.now() - t0; opts.timing.runs++; }
    return [res, s];
  };
  const inputs = new Set(g.inputs);
  const collect = async ([res, sample]: [Record<string, OrtTensor>, Sample]): Promise<void> => {
    const batch: Record<string, Float32Array> = {};
    for (const name of tensors) {
      const red = reductions?.get(name);
      if (red) {
        const lo = res[red[0]]; const hi = res[red[1]];
        batch[name] = Float32Array.of((lo.data as Float32Array)[0], (hi.data as Float32Array)[0]);
        continue;
      }
      // graph inputs are not session outputs: they come from the sample itself
      const t = inputs.has(name) ? sample[name] && { type: sample[name].dtype, data: sample[name].data } : res[name];
      if (!t || t.type !== 'float32') throw new ModelError('unsupported', `Calibration tensor '${name}' is not float32.`);
      batch[name] = t.data as Float32Array;
    }
    await calibrator.collect(batch, { signal: opts.signal });
    samples++;
    opts.onSample?.(samples);
  };
  try {
    const first = await iter.next();
    if (first.done) throw new ModelError('unsupported', 'The calibration data holds no samples.');
    for (const [name, t] of Object.entries(first.value)) info.set(name, { dtype: t.dtype, shape: t.shape.slice() });
    throwIfAborted(opts.signal);
    const res0 = await timed(first.value);
    for (const [name, t] of Object.entries(res0[0])) {
      const dtype = ORT_DTYPES[t.type];
      if (dtype) info.set(name, { dtype, shape: t.dims.map(Number) });
    }
    tensors = select(info);
    if (!tensors.length) return { info, tensors, result: calibrator.compute(), samples: 1 };
    await collect(res0);
    let fetches: string[];
    if (calibrator.method === 'minmax') {
      // min and max are computed by onnxruntime itself: two scalars per tensor cross over, not the tensors
      const reduced = withReductions(model, tensors);
      const s2 = await createSession(writeOnnx(reduced.model), {}, 'the model for calibration');
      await session.release().catch(() => undefined);
      session = s2;
      reductions = reduced.names;
      fetches = [...reduced.names.values()].flat();
    } else {
      const outs = tensors.filter((t) => !inputs.has(t));
      fetches = outs.length ? outs : [g.outputs[0]];
    }
    const limit = opts.limit ?? Infinity;
    let prev: Promise<[Record<string, OrtTensor>, Sample]> | undefined;
    while (samples + (prev ? 1 : 0) < limit) {
      const nx = await iter.next();
      if (nx.done) break;
      throwIfAborted(opts.signal);
      const run = timed(nx.value, fetches);
      run.catch(() => undefined); // awaited below; keeps an early failure from going unhandled
      if (prev) await collect(await prev);
      prev = run;
    }
    if (prev) await collect(await prev);
  } finally {
    await iter.return?.();
    await session.release().catch(() => undefined);
  }
  throwIfAborted(opts.signal);
  const result = await calibrator.computeAsync({ signal: opts.signal });
  return { info, tensors, result, samples };
}

/** The model with ReduceMin / ReduceMax (all axes, scalar) of each tensor as extra outputs. */
export function withReductions(model: Model, tensors: readonly string[]): { model: Model; names: Map<string, [string, string]> } {
  const g = mainGraph(model);
  const values = new Map(g.values);
  const nodes = [...g.nodes];
  const outputs = [...g.outputs];
  const names = new Map<string, [string, string]>();
  const fresh = (base: string): string => {
    let n = base;
    for (let i = 1; values.has(n); i++) n = `${base}_${i}`;
    values.set(n, { name: n, type: { dtype: 'float32', shape: [] }, consumers: [] });
    return n;
  };
  for (const t of tensors) {
    const lo = fresh(`${t}__calib_min`);
    const hi = fresh(`${t}__calib_max`);
    const keep = [{ name: 'keepdims', value: { type: 'int' as const, value: 0 } }];
    nodes.push({ name: lo, opType: 'ReduceMin', domain: '', inputs: [t], outputs: [lo], attributes: keep, subgraphs: [] });
    nodes.push({ name: hi, opType: 'ReduceMax', domain: '', inputs: [t], outputs: [hi], attributes: keep, subgraphs: [] });
    outputs.push(lo, hi);
    names.set(t, [lo, hi]);
  }
  const graph: Graph = { ...g, values, nodes, outputs };
  return { model: { ...model, graphs: [graph, ...model.graphs.slice(1)] }, names };
}
