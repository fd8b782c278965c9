/**
 * The bootstrap's resample draws, made ahead in a worker thread while the models run. The draws
 * depend only on the sample count, the number of resamples and the seed, not on the results: the
 * worker draws each resample exactly as resampleCounts does here (its own source runs there) and
 * keeps how often each sample was drawn; as each sample's group becomes known (its results are in)
 * it adds those counts to its group's. The intervals are then the ones the in-thread bootstrap
 * gives, without its ~20 million draws on the caller's thread after the last run.
 */
import { Worker } from 'node:worker_threads';
import { drawState, resampleCounts } from './bootstrap';

/** Below this many draws the in-thread bootstrap is cheaper than starting a worker. */
const MIN_DRAWS = 2_000_000;
/** The per-sample counts the worker keeps (one byte per sample and resample). */
const MAX_BYTES = 64 * 2 ** 20;

let source: string | undefined;

function workerSource(): string {
  source ??= `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
// tsx / esbuild keepNames wrap functions in __name(); make it a no-op here.
var __name = (target) => target;
// below the models' threads: the draws take only CPU time they leave (on Linux the nice value is per thread)
try { require('node:os').setPriority(0, 19); } catch { /* not permitted: run at the normal priority */ }
const drawState = ${drawState.toString()};
const resampleCounts = ${resampleCounts.toString()};
const { n, resamples, seed } = workerData;
const perSample = new Uint8Array(n * resamples);
const counts = new Uint32Array(n);
const state = drawState(seed);
let unusable = false;
for (let b = 0; b < resamples; b++) {
  resampleCounts(state, counts);
  const row = b * n;
  for (let i = 0; i < n; i++) { const c = counts[i]; if (c > 255) unusable = true; perSample[row + i] = c; }
}
parentPort.postMessage({ ready: true });
// each sample's group arrives as the models produce it: its counts are added to its group's
let cap = 64;
let out = new Uint32Array(resamples * cap);
let at = 0;
parentPort.on('message', (msg) => {
  if (msg.chunk) {
    const ids = msg.chunk;
    if (at + ids.length > n) { unusable = true; return; }
    let top = 0;
    for (let k = 0; k < ids.length; k++) if (ids[k] > top) top = ids[k];
    if (top >= cap) {
      let grown = cap;
      while (top >= grown) grown *= 2;
      const next = new Uint32Array(resamples * grown);
      for (let b = 0; b < resamples; b++) next.set(out.subarray(b * cap, (b + 1) * cap), b * grown);
      out = next;
      cap = grown;
    }
    for (let b = 0; b < resamples; b++) {
      const row = b * n + at;
      const o = b * cap;
      for (let k = 0; k < ids.length; k++) out[o + ids[k]] += perSample[row + k];
    }
    at += ids.length;
    return;
  }
  if (unusable || at !== n) { parentPort.postMessage({}); return; }
  const groups = msg.groups;
  const res = new Uint32Array(resamples * groups);
  for (let b = 0; b < resamples; b++) res.set(out.subarray(b * cap, b * cap + groups), b * groups);
  parentPort.postMessage({ counts: res }, [res.buffer]);
});
`;
  return source;
}

/** Samples per message to the worker. */
const CHUNK = 2048;

/**
 * Draws for `n` samples made in a worker; `add` gives each sample's group key as it is known
 * (samples with equal keys share a group, numbered by first appearance as groupSamples does).
 */
export class DrawsAhead {
  private readonly worker: Worker;
  private readonly ids = new Map<string, number>();
  private readonly groupOf: number[] = [];
  private readonly representatives: number[] = [];
  private sent = 0;
  private failed?: Error;
  /** True once every resample is drawn. */
  ready = false;
  /** Settles when every resample is drawn (or the worker failed). */
  readonly drawn: Promise<void>;

  constructor(readonly n: number, resamples: number, seed: number) {
    this.worker = new Worker(workerSource(), { eval: true, workerData: { n, resamples, seed } });
    this.drawn = new Promise((resolve) => {
      this.worker.once('message', () => { this.ready = true; resolve(); });
      this.worker.on('error', (e) => { this.failed = e; resolve(); });
    });
  }

  add(key: string): void {
    let g = this.ids.get(key);
    if (g === undefined) {
      g = this.representatives.length;
      this.ids.set(key, g);
      this.representatives.push(this.groupOf.length);
    }
    this.groupOf.push(g);
    if (this.groupOf.length - this.sent >= CHUNK) this.flush();
  }

  /** The groups of the samples added so far. */
  groups(): { groupOf: Int32Array; representatives: number[] } {
    return { groupOf: Int32Array.from(this.groupOf), representatives: [...this.representatives] };
  }

  /**
   * The counts per group of every resample (resamples x groups, for BootstrapOptions.drawn), once
   * all `n` samples were added; undefined otherwise, when a sample was drawn more than 255 times
   * in a resample, or when the worker has not drawn them all yet (a machine with no core to spare:
   * drawing in this thread is then quicker).
   */
  counts(): Promise<Uint32Array | undefined> {
    if (!this.ready) return Promise.resolve(undefined);
    this.flush();
    return new Promise((resolve, reject) => {
      if (this.failed) { reject(this.failed); return; }
      this.worker.once('message', (m: { counts?: Uint32Array }) => resolve(m.counts));
      this.worker.once('error', reject);
      this.worker.postMessage({ groups: this.representatives.length });
    });
  }

  close(): void {
    void this.worker.terminate();
  }

  private flush(): void {
    if (this.sent === this.groupOf.length) return;
    this.worker.postMessage({ chunk: Int32Array.from(this.groupOf.slice(this.sent)) });
    this.sent = this.groupOf.length;
  }
}

/** Starts drawing for `n` samples; undefined when drawing in this thread is the better choice. */
export function drawAhead(n: number, opts: { resamples?: number; seed?: number } = {}): DrawsAhead | undefined {
  const resamples = opts.resamples ?? 2000;
  if (!(n > 0) || n * resamples < MIN_DRAWS || n * resamples > MAX_BYTES) return undefined;
  return new DrawsAhead(n, resamples, opts.seed ?? 1);
}
