/**
 * A small pool of worker threads for the CPU-heavy JavaScript of quantization: histograms over
 * large activation tensors, threshold searches, weight quantization. The extension host's main
 * thread stays responsive while they run.
 *
 * Workers run the functions of kernels.ts, shipped as source text (see the rules there), so no
 * worker file has to be located after bundling. Work is queued FIFO; each request can be
 * cancelled with an AbortSignal (a running one terminates its worker, which is then replaced).
 */
import { Worker } from 'node:worker_threads';
import * as os from 'node:os';
import {
  allocQuantized, channelMinMaxKernel, entropyCandidateKl, entropyKernel, histogramBatchKernel, histogramKernel, histogramMse, minMaxKernel,
  mseSearchKernel, quantizeKernel, roundHalfEven, roundingErrorIntegral, scaleZeroPoint,
} from './kernels';
import { AbortError, PendingRequests } from '../../shared/requests';

export { AbortError };

/** The kernels a worker (or the in-thread engine) can run, by name. */
export const KERNELS = {
  minMax: minMaxKernel,
  channelMinMax: channelMinMaxKernel,
  histogram: histogramKernel,
  histograms: histogramBatchKernel,
  entropy: entropyKernel,
  mseSearch: mseSearchKernel,
  quantize: quantizeKernel,
  /** Reports the thread it ran on (used to prove work left the main thread). */
  threadInfo: threadInfoKernel,
} as const;

export type KernelName = keyof typeof KERNELS;
export type KernelArgs<K extends KernelName> = Parameters<(typeof KERNELS)[K]>;
export type KernelResult<K extends KernelName> = ReturnType<(typeof KERNELS)[K]>;

function threadInfoKernel(): { threadId: number; isMainThread: boolean } {
  // Inside a worker the preamble defines __workerThreadId; in this thread it is absent.
  const g = globalThis as unknown as { __workerThreadId?: number };
  return { threadId: g.__workerThreadId ?? 0, isMainThread: g.__workerThreadId === undefined };
}

/** Every function the kernels may call, in one list: their source becomes the worker script. */
const KERNEL_FUNCTIONS: ((...args: never[]) => unknown)[] = [
  roundHalfEven, scaleZeroPoint, allocQuantized, quantizeKernel, channelMinMaxKernel, minMaxKernel,
  histogramKernel, histogramBatchKernel, entropyCandidateKl, entropyKernel, roundingErrorIntegral, histogramMse, mseSearchKernel, threadInfoKernel,
];

let workerSource: string | undefined;

/** The worker script: the kernels' source plus a message loop. */
export function buildWorkerSource(): string {
  if (workerSource) return workerSource;
  const table = (Object.keys(KERNELS) as KernelName[])
    .map((k) => `${JSON.stringify(k)}: ${KERNELS[k].name}`)
    .join(',\n');
  workerSource = `'use strict';
const { parentPort, threadId } = require('node:worker_threads');
globalThis.__workerThreadId = threadId;
// tsx / esbuild keepNames wrap functions in __name(); make it a no-op here.
var __name = (target) => target;
${KERNEL_FUNCTIONS.map((f) => f.toString()).join('\n')}
const KERNELS = {
${table}
};
function transferables(value, out, seen) {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && !out.includes(value.buffer)) out.push(value.buffer);
    return;
  }
  for (const k of Object.keys(value)) transferables(value[k], out, seen);
}
parentPort.on('message', (msg) => {
  try {
    const fn = KERNELS[msg.kernel];
    if (!fn) throw new Error('unknown kernel ' + msg.kernel);
    const result = fn.apply(null, msg.args);
    const transfer = [];
    transferables(result, transfer, new Set());
    parentPort.postMessage({ id: msg.id, ok: true, result }, transfer);
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String(e && e.stack || e) });
  }
});
`;
  return workerSource;
}

export interface RunOptions {
  /** Buffers to move to the worker instead of copying (they become unusable here). */
  transfer?: ArrayBuffer[];
  signal?: AbortSignal;
}

/** A kernel call waiting for, or running in, a worker; settled through the pool's pending requests. */
interface Job {
  id: number;
  kernel: KernelName;
  args: unknown[];
  transfer: ArrayBuffer[];
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

export interface PoolOptions {
  /** Number of workers; default: available cores - 1, at least 1. */
  size?: number;
}

/** A fixed-size pool of worker threads running the kernels. Workers start on first use. */
export class WorkerPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly requests = new PendingRequests();

  constructor(opts: PoolOptions = {}) {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    this.size = Math.max(1, Math.floor(opts.size ?? Math.max(1, cores - 1)));
  }

  /** Runs a kernel in a worker. Typed arrays in `args` are copied unless listed in `transfer`. */
  run<K extends KernelName>(kernel: K, args: KernelArgs<K>, opts: RunOptions = {}): Promise<KernelResult<K>> {
    return this.requests.start<KernelResult<K>>((id) => {
      this.queue.push({ id, kernel, args: args as unknown[], transfer: opts.transfer ?? [] });
      this.pump();
    }, { signal: opts.signal, onAbandon: (id) => this.cancel(id) });
  }

  /** Terminates all workers; queued and running jobs are rejected. */
  async close(): Promise<void> {
    this.queue.length = 0;
    this.requests.close(new Error('The worker pool is closed'));
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      try {
        slot.worker.postMessage({ id: job.id, kernel: job.kernel, args: job.args }, job.transfer);
      } catch (e) {
        slot.job = null;
        this.requests.reject(job.id, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private spawn(): Slot {
    const worker = new Worker(buildWorkerSource(), { eval: true });
    const slot: Slot = { worker, job: null };
    worker.unref(); // an idle pool never keeps the process alive
    worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = null;
      worker.unref();
      if (msg.ok) this.requests.resolve(job.id, msg.result);
      else this.requests.reject(job.id, new Error(`Worker kernel "${job.kernel}" failed: ${msg.error}`));
      this.pump();
    });
    worker.on('error', (err) => this.replace(slot, err));
    worker.on('exit', (code) => {
      if (slot.job) this.replace(slot, new Error(`A worker thread exited (code ${code}) while running "${slot.job.kernel}"`));
    });
    this.slots.push(slot);
    return slot;
  }

  /** Drops a broken or cancelled worker, fails its job, and lets the queue continue. */
  private replace(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const job = slot.job;
    slot.job = null;
    void slot.worker.terminate();
    if (job) this.requests.reject(job.id, err);
    if (!this.requests.closed) this.pump();
  }

  /** A job given up by its caller (already rejected): dropped from the queue, or its worker replaced. */
  private cancel(id: number): void {
    const qi = this.queue.findIndex((j) => j.id === id);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      return;
    }
    const slot = this.slots.find((s) => s.job?.id === id);
    if (slot) this.replace(slot, new AbortError());
  }
}

/** Where the calibrators' heavy kernels run: in this thread, or in a pool. */
export interface StatsEngine {
  run<K extends KernelName>(kernel: K, args: KernelArgs<K>, opts?: { signal?: AbortSignal; transferable?: boolean }): Promise<KernelResult<K>>;
}

/** Runs kernels synchronously in the calling thread (results wrapped in a promise). */
export const inThreadEngine: StatsEngine = {
  run(kernel, args, opts) {
    if (opts?.signal?.aborted) return Promise.reject(new AbortError());
    try {
      const fn = KERNELS[kernel] as (...a: unknown[]) => unknown;
      return Promise.resolve(fn(...(args as unknown[])) as never);
    } catch (e) {
      return Promise.reject(e);
    }
  },
};

export interface PoolEngineOptions {
  /** Arrays smaller than this (elements) stay in the calling thread: posting costs more. Default 65536. */
  minElements?: number;
}

/**
 * An engine backed by a pool. Typed-array arguments are copied to the worker (a view on part of
 * a larger buffer is sliced first, so only its bytes travel) unless `transferable` is set, in
 * which case whole buffers move without a copy and become unusable to the caller.
 */
export function poolEngine(pool: WorkerPool, opts: PoolEngineOptions = {}): StatsEngine {
  const minElements = opts.minElements ?? 65536;
  const isView = (a: unknown): a is Float32Array => ArrayBuffer.isView(a) && !(a instanceof DataView);
  return {
    run(kernel, args, runOpts) {
      // a list of arrays (one batch of several tensors) counts as the sum of its arrays
      let elements = 0;
      for (const a of args as unknown[]) {
        if (isView(a)) elements += a.length;
        else if (Array.isArray(a)) for (const x of a) if (isView(x)) elements += x.length;
      }
      if (elements < minElements) return inThreadEngine.run(kernel, args, runOpts);
      const transfer: ArrayBuffer[] = [];
      const send = (t: Float32Array): Float32Array => {
        const whole = t.byteOffset === 0 && t.byteLength === t.buffer.byteLength && !(t.buffer instanceof SharedArrayBuffer);
        if (runOpts?.transferable && whole && !transfer.includes(t.buffer as ArrayBuffer)) { transfer.push(t.buffer as ArrayBuffer); return t; }
        if (!whole) {
          const copy = t.slice();
          transfer.push(copy.buffer);
          return copy;
        }
        return t;
      };
      const sent = (args as unknown[]).map((a) => (isView(a) ? send(a) : Array.isArray(a) ? a.map((x: unknown) => (isView(x) ? send(x) : x)) : a));
      return pool.run(kernel, sent as KernelArgs<typeof kernel>, { transfer, signal: runOpts?.signal });
    },
  };
}
