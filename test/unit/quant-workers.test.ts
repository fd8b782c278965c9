/**
 * The worker pool: work really leaves the main thread (the event loop keeps ticking while a big
 * histogram is computed), results equal the in-thread computation, cancellation works, and the
 * kernels survive esbuild --minify bundling (they are shipped to workers as source text).
 */
import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { AbortError, WorkerPool, inThreadEngine, poolEngine } from '../../src/core/quant/workers';
import { histogramKernel } from '../../src/core/quant/kernels';
import { createCalibrator, type CalibrationMethod } from '../../src/core/quant/calibrators';
import { computePerChannelParams, quantizePerChannel } from '../../src/core/quant/math';
import { REPO_ROOT } from '../helpers/paths';

function noise(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = scale * (u * u * u - 0.1); // skewed, so the histogram is not trivial
  }
  return out;
}

const pool = new WorkerPool({ size: 2 });
after(() => pool.close());

describe('WorkerPool', () => {
  test('runs kernels off the main thread', async () => {
    const info = await pool.run('threadInfo', []);
    assert.equal(info.isMainThread, false);
    assert.ok(info.threadId > 0);
    assert.equal((await inThreadEngine.run('threadInfo', [])).isMainThread, true);
  });

  test('the event loop keeps ticking while a big histogram is computed, and results match', async () => {
    const data = noise(12_000_000, 1, 3);
    // in this thread first: the timer cannot fire while the kernel runs
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 2);
    let t0 = performance.now();
    const local = histogramKernel(data, 0, 1, 2048);
    const localMs = performance.now() - t0;
    const ticksDuringLocal = ticks;
    await new Promise((r) => setTimeout(r, 10));
    // now in a worker (the array is copied to it)
    ticks = 0;
    const stamps: number[] = [];
    const timer2 = setInterval(() => { stamps.push(performance.now()); }, 2);
    t0 = performance.now();
    const remote = await pool.run('histogram', [data, 0, 1, 2048]);
    const remoteMs = performance.now() - t0;
    clearInterval(timer);
    clearInterval(timer2);
    assert.equal(ticksDuringLocal, 0, 'a synchronous kernel blocks the loop (sanity check of the probe)');
    assert.ok(localMs > 40, `the kernel is too fast (${localMs.toFixed(0)} ms) to show anything`);
    const during = stamps.filter((s) => s > t0 && s < t0 + remoteMs);
    if (process.env.QL_DEBUG) console.log({ localMs, remoteMs, ticks: during.length });
    // Structural, not timed: a kernel on this thread lets no timer fire while it runs (checked
    // above), so ticks inside the worker's run prove the loop kept turning. How evenly it turned
    // depends on what else the machine is doing, so no bound on the gaps is asserted.
    assert.ok(during.length >= 2, `only ${during.length} timer ticks in ${remoteMs.toFixed(0)} ms of worker time`);
    assert.deepEqual({ ...remote, counts: Array.from(remote.counts!) }, { ...local, counts: Array.from(local.counts!) });
  });

  test('a calibrator on the pool gives the same ranges as in this thread', async () => {
    const methods: CalibrationMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];
    const engine = poolEngine(pool, { minElements: 1000 });
    for (const method of methods) {
      const a = createCalibrator({ method, numBins: 1024 });
      const b = createCalibrator({ method, numBins: 1024, engine });
      for (let k = 0; k < 4; k++) {
        const batch = { x: noise(50_000, 10 + k, 1 + k), y: noise(3000, 20 + k, 0.5) };
        await a.collect(batch);
        await b.collect(batch);
      }
      const ra = a.compute();
      const rb = await b.computeAsync();
      assert.deepEqual(rb, ra, method);
    }
  });

  test('weight quantization through the pool equals quantizePerChannel', async () => {
    const w = noise(64 * 3 * 3 * 3, 5, 0.2);
    const shape = [64, 3, 3, 3];
    const p = computePerChannelParams(w, shape, 0, 'int8', { symmetric: true });
    const local = quantizePerChannel(w, shape, 0, p.scales, p.zeroPoints, 'int8');
    const remote = await pool.run('quantize', [w, p.scales, p.zeroPoints, 64, 27, -128, 127, 'int8']);
    assert.deepEqual(Array.from(remote), Array.from(local));
  });

  test('cancellation rejects the job and the pool keeps working', async () => {
    const small = new WorkerPool({ size: 1 });
    try {
      const ac = new AbortController();
      const big = noise(8_000_000, 3);
      const running = small.run('histogram', [big, 0, 1, 2048], { signal: ac.signal });
      const queued = small.run('minMax', [big], { signal: ac.signal });
      setTimeout(() => ac.abort(), 5);
      await assert.rejects(running, AbortError);
      await assert.rejects(queued, AbortError);
      const after = await small.run('minMax', [new Float32Array([3, -1, 2])]);
      assert.deepEqual(after, { min: -1, max: 3, count: 3, nonFinite: 0 });
      await assert.rejects(small.run('minMax', [big], { signal: AbortSignal.abort() }), AbortError);
      await assert.rejects(small.run('nope' as never, [] as never), /unknown kernel/);
    } finally {
      await small.close();
    }
    await assert.rejects(small.run('minMax', [new Float32Array(1)]), /closed/);
  });

  test('a view on part of a buffer sends only its bytes, and transfer moves the buffer', async () => {
    const engine = poolEngine(pool, { minElements: 1 });
    const whole = noise(100_000, 8);
    const view = whole.subarray(10, 50_010);
    const r = await engine.run('minMax', [view]);
    assert.deepEqual(r, (await inThreadEngine.run('minMax', [view])));
    assert.equal(whole.length, 100_000);
    const moved = noise(100_000, 9);
    const want = await inThreadEngine.run('minMax', [moved]);
    assert.deepEqual(await engine.run('minMax', [moved], { transferable: true }), want);
    assert.equal(moved.length, 0, 'a transferred buffer is detached');
  });
});

describe('histograms of a batch of tensors', () => {
  test('zeros (also -0), NaN and infinities land where a value-by-value count puts them, on a coarsened grid too', () => {
    const data = noise(40_000, 31, 2).map((v, i) => (i % 3 === 0 ? 0 : v));
    data[5] = -0; data[7] = NaN; data[8] = Infinity; data[9] = -Infinity;
    for (const [w0, M] of [[0, 1], [0.001, 1], [0.0001, 7]]) {
      const h = histogramKernel(data, w0, M, 512);
      const w = h.w0 * h.M;
      const m = h.M / M; // the coarsening this call chose (1 on a fresh grid)
      const want = new Float64Array(512);
      for (const v of data) {
        if (!Number.isFinite(v)) continue;
        const k = w0 === 0 ? Math.floor(v / w) : Math.floor(Math.floor(v / (w0 * M)) / m);
        want[Math.min(511, Math.max(0, k - h.kOff))]++;
      }
      assert.deepEqual(Array.from(h.counts!), Array.from(want), `w0=${w0} M=${M}`);
      assert.equal(h.nonFinite, 3);
    }
  });

  test('one job for the batch: results equal one histogram per tensor; with transfer whole arrays move, a view is copied', async () => {
    const engine = poolEngine(pool, { minElements: 1000 });
    const a = noise(30_000, 41, 3);
    const b = noise(2_000, 42);
    const parent = noise(10_000, 43);
    const view = parent.subarray(100, 5_100);
    const grids = Float64Array.of(0, 1, 0.01, 1, 0, 1);
    const want = [histogramKernel(a, 0, 1, 256), histogramKernel(b, 0.01, 1, 256), histogramKernel(view, 0, 1, 256)];
    const got = await engine.run('histograms', [[a, b, view], grids, 256], { transferable: true });
    assert.deepEqual(got.map((h) => ({ ...h, counts: Array.from(h.counts!) })), want.map((h) => ({ ...h, counts: Array.from(h.counts!) })));
    assert.equal(a.length, 0, 'a whole array is moved');
    assert.equal(b.length, 0, 'a whole array is moved');
    assert.equal(parent.length, 10_000, 'a view is copied; its buffer stays');
    // below the threshold the batch stays in this thread and nothing moves
    const small = noise(500, 44);
    await engine.run('histograms', [[small], Float64Array.of(0, 1), 256], { transferable: true });
    assert.equal(small.length, 500);
  });
});

describe('bundling', () => {
  test('the pool works from an esbuild --minify bundle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-bundle-'));
    try {
      const entry = path.join(dir, 'entry.ts');
      fs.writeFileSync(entry, `
import { WorkerPool } from ${JSON.stringify(path.join(REPO_ROOT, 'src/core/quant/workers'))};
import { histogramKernel, entropyKernel, mseSearchKernel } from ${JSON.stringify(path.join(REPO_ROOT, 'src/core/quant/kernels'))};
const data = new Float32Array(200000).map((_, i) => Math.sin(i) * (i % 7));
const pool = new WorkerPool({ size: 1 });
(async () => {
  const h = await pool.run('histogram', [data, 0, 1, 512]);
  const local = histogramKernel(data, 0, 1, 512);
  const abs = new Float64Array(300).map((_, i) => 1000 / (1 + i));
  const e = await pool.run('entropy', [abs, 128, 0]);
  const m = await pool.run('mseSearch', [local.counts, local.kOff, local.w0 * local.M, local.min, local.max, -128, 127, -128, 127, false, 32]);
  const info = await pool.run('threadInfo', []);
  await pool.close();
  console.log(JSON.stringify({
    same: JSON.stringify(Array.from(h.counts)) === JSON.stringify(Array.from(local.counts)),
    entropy: JSON.stringify(e) === JSON.stringify(entropyKernel(abs, 128, 0)),
    mse: JSON.stringify(m) === JSON.stringify(mseSearchKernel(local.counts, local.kOff, local.w0 * local.M, local.min, local.max, -128, 127, -128, 127, false, 32)),
    worker: !info.isMainThread,
  }));
})();
`);
      const out = path.join(dir, 'bundle.js');
      const esbuild = path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');
      execFileSync(esbuild, [entry, '--bundle', '--minify', '--platform=node', '--format=cjs', `--outfile=${out}`, '--log-level=warning']);
      const res = JSON.parse(execFileSync(process.execPath, [out], { encoding: 'utf8', timeout: 60_000 }).trim());
      assert.deepEqual(res, { same: true, entropy: true, mse: true, worker: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
