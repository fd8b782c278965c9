/**
 * Run-time measurements of a session, in this process: one run's time, latency percentiles and
 * the memory a session holds.
 *
 * Memory: the resident set size (RSS) grown from just before the session is created to just after
 * its warm-up runs (batch 1 and the throughput batch). onnxruntime's CPU arena keeps what a run
 * needed, so RSS after the warm-up holds the session's working peak; when the process's own peak
 * (getrusage maxRSS) rose during that span, the peak is taken instead. The figure includes the
 * weights, the arena and onnxruntime's per-session state, and some noise from the JavaScript heap.
 */
import { writeOnnx } from '../formats/onnx';
import type { Model, Value } from '../model';
import { createSession, loadOrt, runSession, type OrtSession, type OrtTensor } from '../runtime/ort';
import { quantile } from './bootstrap';

export interface MemoryMark {
  rss: number;
  maxRss: number;
}

export function memoryMark(): MemoryMark {
  return { rss: process.memoryUsage.rss(), maxRss: process.resourceUsage().maxRSS * 1024 };
}

/** Bytes a session added between two marks (see the module comment). */
export function memoryGrowth(before: MemoryMark, after: MemoryMark): number {
  const peak = after.maxRss > before.maxRss ? Math.max(after.maxRss, after.rss) : after.rss;
  return Math.max(0, peak - before.rss);
}

export const MEMORY_METHOD = 'RSS growth from before session creation to after warm-up runs (process peak RSS when it rose meanwhile)';

/**
 * One run and its time in ms. onnxruntime-node runs a session synchronously inside a
 * setImmediate callback; one queued just before it fires right before the run, so the time
 * excludes waiting behind other queued work.
 */
export async function timedRun(session: OrtSession, feeds: Record<string, OrtTensor>, what: string): Promise<{ out: Record<string, OrtTensor>; ms: number }> {
  let t0 = performance.now();
  setImmediate(() => { t0 = performance.now(); });
  const out = await runSession(session, feeds, undefined, what);
  return { out, ms: performance.now() - t0 };
}

export interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
  runs: number;
}

export function latencyStats(times: readonly number[]): LatencyStats {
  const sorted = Float64Array.from(times).sort();
  const total = times.reduce((a, b) => a + b, 0);
  return { p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95), meanMs: times.length ? total / times.length : NaN, runs: times.length };
}

let primed: Promise<void> | undefined;

/**
 * Loads onnxruntime and runs one session of a one-node model, once per process, so the first
 * measured session is not charged with onnxruntime's own start-up (its library, environment and
 * allocators: about 30 MiB).
 */
export function primeOnnxruntime(): Promise<void> {
  primed ??= (async () => {
    const values = new Map<string, Value>([
      ['x', { name: 'x', type: { dtype: 'float32', shape: [1] }, consumers: [] }],
      ['y', { name: 'y', type: { dtype: 'float32', shape: [1] }, consumers: [] }],
    ]);
    const model: Model = {
      format: 'onnx', fileSize: 0, producer: 'quantlens', formatVersion: 8, opsets: [{ domain: '', version: 13 }], description: '', metadata: {},
      graphs: [{ name: 'prime', nodes: [{ name: 'id', opType: 'Identity', domain: '', inputs: ['x'], outputs: ['y'], attributes: [], subgraphs: [] }], values, inputs: ['x'], outputs: ['y'], initializers: [] }],
      functions: [], signatures: [],
    };
    const s = await createSession(writeOnnx(model), {}, 'a one-node model');
    await runSession(s, { x: new (loadOrt().Tensor)('float32', Float32Array.of(1), [1]) });
    await s.release();
  })();
  return primed;
}
