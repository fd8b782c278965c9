/**
 * Calibration through onnxruntime, in one session. The tensors to calibrate are chosen before
 * anything runs, from the element types onnxruntime's own type inference wrote into the folded
 * model (its value_info); only when that is incomplete does one extra run fetch every tensor to
 * learn the types. For MinMax, onnxruntime reduces each tensor to its min and max inside the graph
 * and two small vectors cross over per run; the histogram methods fetch the tensors. Each batch goes
 * to the calibrator, which keeps bounded statistics (two numbers or one histogram per tensor),
 * never the batches, and the next run starts before the calibrator digests the previous one.
 */
import { ModelError } from '../errors';
import { writeOnnx } from '../formats/onnx';
import { mainGraph, type Graph, type Model } from '../model';
import type { Sample } from '../data';
import { createSession, runSession, type OrtSession, type OrtSessionOptions, type OrtTensor } from '../runtime/ort';
import { activationBytesPerSample, batchableCopy, batchKeepsRanges, batchSizeFor, ONE_THREAD_RUN_BYTES, sameSample, stackSamples } from './batching';
import { AbortError } from './workers';
import type { CalibrationResult, Calibrator } from './calibrators';
import { declaredTensorInfo, inferredTensorInfo, sampleFeeds, withExtraOutputs, type TensorInfo } from './preprocess';
import { NestedRanges, withNestedReductions } from './nestedCalibration';
import { allNames } from './subgraphs';

export interface CalibrateOptions {
  signal?: AbortSignal;
  /** Called after each run with the number of samples seen so far. */
  onSample?: (done: number) => void;
  /** Largest number of samples (0 / undefined: all the data gives). */
  limit?: number;
  /** Time spent waiting on session.run is added here (with overlap, an upper bound). */
  timing?: { forwardMs: number; runs: number };
  /** Allow several samples per run when the statistics and the model permit (default true). */
  batch?: boolean;
  /**
   * The calibrator digests batches in a worker thread: onnxruntime then runs on one thread, the
   * worker takes the other core, and fetched tensors move to it without a copy.
   */
  statsInWorker?: boolean;
  /**
   * Tensors inside If / Loop bodies to calibrate, per body: their min and max are threaded up to
   * the main graph (nestedCalibration.ts) whatever the method, as the body's tensors never leave it.
   */
  nested?: Map<Graph, string[]>;
  /** Read this many samples past the limit, unused, for a check afterwards (CalibrationRun.heldBack). */
  holdBack?: number;
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
  /** Samples per onnxruntime run (more than 1 when the model was found to take batches). */
  batch: number;
  /** Body tensors calibrated (their ranges are in result.tensors too), and those no run reached. */
  nested: { calibrated: string[]; neverRan: string[] };
  /** Samples after the ones calibrated on (opts.holdBack), read from the same open data. */
  heldBack: Sample[];
}

/**
 * Runs `data` through `model`. `select(info)` names the float tensors to calibrate (it may return
 * none), given the type and shape of every tensor. Returns their ranges.
 */
export async function calibrateModel(
  model: Model, data: AsyncIterable<Sample>, select: (info: Map<string, TensorInfo>) => string[], calibrator: Calibrator,
  opts: CalibrateOptions = {},
): Promise<CalibrationRun> {
  const g = mainGraph(model);
  const iter = data[Symbol.asyncIterator]();
  const inputs = new Set(g.inputs);
  /** The tensors a session must output: graph inputs come from the samples themselves. */
  const outputsOf = (names: readonly string[]): string[] => names.filter((t) => !inputs.has(t));
  /** A calibrated tensor of one run: a session output, or for a graph input the sample(s) fed. */
  const tensorOf = (name: string, res: Record<string, OrtTensor>, fed: Sample): Float32Array => {
    const t = inputs.has(name) ? fed[name] && { type: fed[name].dtype, data: fed[name].data } : res[name];
    if (!t || t.type !== 'float32') throw new ModelError('unsupported', `Calibration tensor '${name}' is not float32.`);
    return t.data as Float32Array;
  };
  const sessions: OrtSession[] = [];
  let samples = 0;
  try {
    const first = await iter.next();
    if (first.done) throw new ModelError('unsupported', 'The calibration data holds no samples.');
    throwIfAborted(opts.signal);
    const info = declaredTensorInfo(model, first.value) ?? await inferredTensorInfo(model, first.value);
    const tensors = select(info);
    const threaded = opts.nested ? withNestedReductions(model, opts.nested) : undefined;
    const nestedAcc = threaded ? new NestedRanges(threaded.names) : undefined;
    const noNested = { calibrated: [], neverRan: [] };
    if (!tensors.length && !threaded) return { info, tensors, result: calibrator.compute(), samples: 0, batch: 1, nested: noNested, heldBack: [] };
    // the model every session runs: with the body tensors' extremes as extra outputs
    const base = threaded?.model ?? model;
    const nestedFetches = threaded ? [threaded.min, threaded.max] : [];
    const addNested = (res: Record<string, OrtTensor>): void => {
      if (threaded) nestedAcc!.add(res[threaded.min].data as Float32Array, res[threaded.max].data as Float32Array);
    };
    throwIfAborted(opts.signal);
    const limit = opts.limit ?? Infinity;
    const pending: Sample[] = [first.value];
    let issued = 0;
    /** Up to `n` more samples (fewer at the end of the data or the limit). */
    const take = async (n: number): Promise<Sample[]> => {
      while (pending.length < n && issued + pending.length < limit) {
        const nx = await iter.next();
        if (nx.done) break;
        pending.push(nx.value);
      }
      const unit = pending.splice(0, Math.min(n, Math.max(0, limit - issued)));
      issued += unit.length;
      return unit;
    };
    const ONE_THREAD: OrtSessionOptions = { intraOpNumThreads: 1 };
    /**
     * Threads for runs of `runBytes` activations: runs of a small model are short and our
     * JavaScript works between them, so idle onnxruntime threads would spin on the cores it needs
     * (MNIST: 15-20 % of the total), and below ONE_THREAD_RUN_BYTES a second thread costs more than
     * it brings.
     */
    const threadsFor = (runBytes: number): OrtSessionOptions => (runBytes <= ONE_THREAD_RUN_BYTES ? ONE_THREAD : { extra: { session: { 'intra_op.allow_spinning': '0' } } });
    const open = async (m: Model, sessionOptions: OrtSessionOptions = {}): Promise<OrtSession> => {
      const s = await createSession(writeOnnx(m), sessionOptions, 'the model for calibration');
      sessions.push(s);
      return s;
    };
    const timed = async (session: OrtSession, unit: Sample[], fetches: string[]): Promise<[Record<string, OrtTensor>, Sample[]]> => {
      const feeds = sampleFeeds(stackSamples(unit));
      let t0 = performance.now();
      // onnxruntime-node runs synchronously in a setImmediate callback; one queued just before it
      // fires right before the run, so the time excludes waiting behind other work
      setImmediate(() => { t0 = performance.now(); });
      const res = await runSession(session, feeds, fetches, 'the model on calibration data');
      if (opts.timing) { opts.timing.forwardMs += performance.now() - t0; opts.timing.runs++; }
      return [res, unit];
    };

    let session: OrtSession | undefined;
    let fetches: string[];
    let batch = 1;
    let collect: (r: [Record<string, OrtTensor>, Sample[]]) => Promise<void>;
    const done = (n: number): void => { samples += n; opts.onSample?.(samples); };
    if (calibrator.method === 'minmax') {
      // min and max are computed by onnxruntime itself: two vectors cross over, not the tensors
      const reduced = tensors.length ? withReductions(base, tensors) : { model: base, min: '', max: '' };
      fetches = [...(tensors.length ? [reduced.min, reduced.max] : []), ...nestedFetches];
      const ranges = (res: Record<string, OrtTensor>): [Float32Array, Float32Array] => (tensors.length ? [res[reduced.min].data as Float32Array, res[reduced.max].data as Float32Array] : [new Float32Array(0), new Float32Array(0)]);
      let exact: Promise<OrtSession> | undefined;
      collect = async ([res, unit]) => {
        addNested(res);
        const [lo, hi] = ranges(res);
        const b: Record<string, Float32Array> = {};
        const unsure: string[] = [];
        tensors.forEach((name, i) => {
          // a NaN or an infinity hides the finite extremes of the whole tensor: those few are
          // fetched whole and the calibrator skips the non-finite values, as for any fetched tensor
          if (Number.isFinite(lo[i]) && Number.isFinite(hi[i])) b[name] = Float32Array.of(lo[i], hi[i]);
          else unsure.push(name);
        });
        if (unsure.length) {
          exact ??= (() => {
            const whole = withExtraOutputs(base, outputsOf(tensors));
            return open(batch > 1 ? batchableCopy(whole, info) ?? whole : whole);
          })();
          const [full] = await timed(await exact, unit, outputsOf(unsure).length ? outputsOf(unsure) : [g.outputs[0]]);
          const fed = stackSamples(unit);
          for (const name of unsure) b[name] = tensorOf(name, full, fed);
        }
        await calibrator.collect(b, { signal: opts.signal });
        done(unit.length);
      };
      // statistics that do not depend on grouping may take several samples per run
      // (not with bodies: an If's condition or a Loop's trip count may depend on the whole batch)
      const want = opts.batch !== false && !calibrator.options.movingAverage && !threaded ? batchSizeFor(model, info, first.value) : 1;
      const batched = want > 1 ? batchableCopy(reduced.model, info) : undefined;
      let first2: [Record<string, OrtTensor>, Sample[]][] | undefined;
      let unit: Sample[] = [];
      if (batched) {
        unit = await take(2);
        try {
          const perSample = activationBytesPerSample(model, info);
          const s = await open(batched, perSample === undefined ? {} : threadsFor(want * perSample));
          const single: [Record<string, OrtTensor>, Sample[]][] = [];
          for (const one of unit) single.push(await timed(s, [one], fetches));
          // two equal samples would hide samples mixing inside the model
          if (unit.length === 2 && !sameSample(unit[0], unit[1])) {
            const both = await timed(s, unit, fetches).catch(() => undefined);
            if (both && batchKeepsRanges(ranges(single[0][0]), ranges(single[1][0]), ranges(both[0]))) { batch = want; session = s; }
          }
          first2 = single;
        } catch {
          // the copy with a free batch dimension does not load or run: the model as it is decides
        }
      }
      // one sample per run: the model itself (a fixed batch plans faster than a free one)
      if (batch === 1) session = await open(reduced.model);
      if (!first2) {
        first2 = [];
        for (const one of unit) first2.push(await timed(session!, [one], fetches));
      }
      for (const r of first2) await collect(r);
    } else {
      const outs = outputsOf(tensors);
      fetches = [...(outs.length ? outs : [g.outputs[0]]), ...nestedFetches];
      const moved = !!opts.statsInWorker;
      // histogramming every fetched tensor is as much work as the run itself: a second onnxruntime
      // thread would compete with the worker doing it while the next sample runs
      session = await open(withExtraOutputs(base, outs), moved ? ONE_THREAD : {});
      collect = async ([res, unit]) => {
        addNested(res);
        const b: Record<string, Float32Array> = {};
        // fetched tensors belong to this run alone; a fed input is the sample's own array, so it is copied before moving
        for (const name of tensors) b[name] = moved && inputs.has(name) ? tensorOf(name, res, unit[0]).slice() : tensorOf(name, res, unit[0]);
        await calibrator.collect(b, { signal: opts.signal, transfer: moved });
        done(1);
      };
    }

    let prev: Promise<[Record<string, OrtTensor>, Sample[]]> | undefined;
    for (;;) {
      throwIfAborted(opts.signal);
      const unit = await take(batch);
      if (!unit.length) break;
      const run = timed(session!, unit, fetches);
      run.catch(() => undefined); // awaited below; keeps an early failure from going unhandled
      if (prev) await collect(await prev);
      prev = run;
    }
    if (prev) await collect(await prev);
    throwIfAborted(opts.signal);
    // the data is open and in place: the next few samples cost a read, not a second pass
    const heldBack = pending.splice(0, opts.holdBack ?? 0);
    while (heldBack.length < (opts.holdBack ?? 0)) {
      const nx = await iter.next();
      if (nx.done) break;
      heldBack.push(nx.value);
    }
    const result = await calibrator.computeAsync({ signal: opts.signal });
    let nested: CalibrationRun['nested'] = noNested;
    if (nestedAcc) {
      // body tensors take min / max whatever the method (only their extremes leave the body)
      const r = nestedAcc.ranges(calibrator.options.symmetric);
      result.tensors = { ...r, ...result.tensors };
      nested = { calibrated: Object.keys(r), neverRan: nestedAcc.names.filter((t) => !r[t]) };
    }
    return { info, tensors, result, samples, batch, nested, heldBack };
  } finally {
    await iter.return?.();
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}

/**
 * The model with two extra outputs: the min and the max of every tensor in `tensors`, in that
 * order, as float32 vectors (ReduceMin / ReduceMax over all axes, then Concat). Two outputs instead
 * of two per tensor keeps onnxruntime's per-output cost out of every run.
 */
export function withReductions(model: Model, tensors: readonly string[]): { model: Model; min: string; max: string } {
  const g = mainGraph(model);
  const values = new Map(g.values);
  const nodes = [...g.nodes];
  // names in bodies count too: a new main-graph name must not repeat one inside an If / Loop
  const taken = allNames(model);
  const fresh = (base: string, dtype: 'float32' | 'int64', shape: number[] | null): string => {
    let n = base;
    for (let i = 1; taken.has(n); i++) n = `${base}_${i}`;
    taken.add(n);
    values.set(n, { name: n, type: { dtype, shape }, consumers: [] });
    return n;
  };
  const one = fresh('quantlens_calib_shape1', 'int64', [1]);
  values.set(one, { ...values.get(one)!, constant: { name: one, dtype: 'int64', shape: [1], data: { kind: 'bytes', bytes: new Uint8Array(new BigInt64Array([1n]).buffer) } } });
  const keep0 = [{ name: 'keepdims', value: { type: 'int' as const, value: 0 } }];
  const reduce = (op: 'ReduceMin' | 'ReduceMax', tag: string): string => {
    const parts = tensors.map((t) => {
      const r = fresh(`${t}__calib_${tag}`, 'float32', []);
      nodes.push({ name: r, opType: op, domain: '', inputs: [t], outputs: [r], attributes: keep0, subgraphs: [] });
      const v = fresh(`${r}_1d`, 'float32', [1]);
      nodes.push({ name: v, opType: 'Reshape', domain: '', inputs: [r, one], outputs: [v], attributes: [], subgraphs: [] });
      return v;
    });
    const all = fresh(`quantlens_calib_${tag}`, 'float32', [tensors.length]);
    nodes.push({ name: all, opType: 'Concat', domain: '', inputs: parts, outputs: [all], attributes: [{ name: 'axis', value: { type: 'int', value: 0 } }], subgraphs: [] });
    return all;
  };
  const min = reduce('ReduceMin', 'min');
  const max = reduce('ReduceMax', 'max');
  const graph: Graph = { ...g, values, nodes, outputs: [...g.outputs, min, max], initializers: [...g.initializers, one] };
  return { model: { ...model, graphs: [graph, ...model.graphs.slice(1)] }, min, max };
}
