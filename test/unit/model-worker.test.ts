/**
 * The host's model worker (dist/modelWorker.js, as shipped): models are parsed and served off the
 * extension host's thread, errors come back typed, and a hostile file cannot take the host down.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { writeOnnxFile } from '../../src/core/formats/onnx';
import { syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { ModelWorkerClient, ModelWorkerError } from '../../src/host/worker/modelWorkerClient';
import { REPO_ROOT, SAMPLE_MODEL } from '../helpers/paths';
import { ensureModelWorkerBuilt, MODEL_WORKER_ENTRY } from '../helpers/modelWorkerEntry';

const ENTRY = MODEL_WORKER_ENTRY;
let dir: string;

before(() => {
  ensureModelWorkerBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-worker-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('opens mnist-12 in the worker: summary, graph, statistics and values', async () => {
  const w = new ModelWorkerClient(ENTRY);
  try {
    const r = await w.call('open', { path: SAMPLE_MODEL });
    assert.equal(r.summary.nodeCount, 12);
    assert.equal(r.graph?.opCount, 12);
    const stats = await w.call('tensorStats', { tensor: 'Parameter5' });
    assert.equal(stats.count, 8 * 1 * 5 * 5);
    const page = await w.call('tensorValues', { tensor: 'Parameter5', start: 0, count: 10 });
    assert.ok(page.values instanceof Float64Array, 'values cross as a typed array');
    assert.equal(page.values.length, 10);
    assert.ok(page.values[0] >= stats.min && page.values[0] <= stats.max);
    const folded = await w.call('graphView', { foldQdq: true });
    assert.equal(folded.opCount, 12);
  } finally {
    await w.terminate();
  }
});

test('errors come back typed: corrupt files, unknown tensors, activations', async () => {
  const w = new ModelWorkerClient(ENTRY);
  try {
    const bad = path.join(dir, 'bad.onnx');
    fs.writeFileSync(bad, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    await assert.rejects(w.call('open', { path: bad }), (e: unknown) => e instanceof ModelWorkerError && ['corrupt', 'truncated', 'not-a-model'].includes(e.code));
    await w.call('open', { path: SAMPLE_MODEL });
    await assert.rejects(w.call('tensorStats', { tensor: 'nope' }), (e: unknown) => e instanceof ModelWorkerError && e.code === 'request' && /no tensor named 'nope'/.test(e.message));
    await assert.rejects(w.call('tensorStats', { tensor: 'Input3' }), /not a constant/);
  } finally {
    await w.terminate();
  }
});

test('a model that exhausts the worker heap is refused without harming the caller', async () => {
  const big = path.join(dir, 'big.onnx');
  await writeOnnxFile(syntheticTransformer(20_000), big);
  const w = new ModelWorkerClient(ENTRY, { maxHeapMb: 8 });
  await assert.rejects(w.call('open', { path: big }), (e: unknown) => e instanceof ModelWorkerError && e.code === 'too-large');
  // Later calls fail fast with the same reason, instead of hanging.
  await assert.rejects(w.call('graphView', { foldQdq: false }), /more memory/);
  await w.terminate();
});

test('the calling thread keeps running while the worker parses a 50,000-node model', async () => {
  const big = path.join(dir, 'big50k.onnx');
  await writeOnnxFile(syntheticTransformer(50_000), big);
  const w = new ModelWorkerClient(ENTRY);
  let ticks = 0;
  let longestGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks++;
  }, 5);
  try {
    const t0 = performance.now();
    const r = await w.call('open', { path: big });
    const elapsed = performance.now() - t0;
    assert.ok(r.graph && r.graph.opCount >= 50_000);
    // Parsing plus the view model take hundreds of ms; the caller's timer kept firing through them
    // (a parse on this thread would let it fire at most once, after the parse).
    assert.ok(ticks >= 2, `timer ticked ${ticks} times in ${elapsed.toFixed(0)} ms`);
    assert.ok(longestGap < elapsed, `the caller was blocked for the whole parse (${longestGap.toFixed(0)} of ${elapsed.toFixed(0)} ms)`);
  } finally {
    clearInterval(timer);
    await w.terminate();
  }
});

test('a worker started ahead of need serves the next model once, and keeps no process alive', async () => {
  ModelWorkerClient.prepareSpare(ENTRY);
  const spareId = ModelWorkerClient.spareThreadId;
  assert.ok(spareId !== undefined);
  ModelWorkerClient.prepareSpare(ENTRY);
  assert.equal(ModelWorkerClient.spareThreadId, spareId, 'one spare at a time');
  const w = new ModelWorkerClient(ENTRY);
  try {
    assert.equal(w.threadId, spareId, 'the client took the waiting worker');
    assert.equal(ModelWorkerClient.spareThreadId, undefined, 'and it is used once');
    assert.equal((await w.call('open', { path: SAMPLE_MODEL })).summary.nodeCount, 12);
    const other = new ModelWorkerClient(ENTRY);
    assert.notEqual(other.threadId, spareId, 'with no spare, a new worker starts');
    await other.terminate();
  } finally {
    await w.terminate();
  }
  // A process whose only thread left is a spare ends by itself.
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `require(${JSON.stringify(path.join(REPO_ROOT, 'src/host/worker/modelWorkerClient.ts'))}).ModelWorkerClient.prepareSpare(${JSON.stringify(ENTRY)}); console.log('started')`], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${r.error ?? ''} ${r.stderr}`);
  assert.match(r.stdout, /started/);
});

test('a closed model\'s thread is emptied and serves the next model', async () => {
  ModelWorkerClient.disposeSpare();
  const first = new ModelWorkerClient(ENTRY);
  assert.equal((await first.call('open', { path: SAMPLE_MODEL })).summary.nodeCount, 12);
  const id = first.threadId;
  await first.release();
  await assert.rejects(first.call('tensorStats', { tensor: 'Parameter5' }), /closed/, 'the released client is closed');
  assert.equal(ModelWorkerClient.spareThreadId, id, 'its thread waits for the next model');
  const next = new ModelWorkerClient(ENTRY);
  try {
    assert.equal(next.threadId, id);
    // Nothing of the previous model is left in the thread.
    await assert.rejects(next.call('tensorStats', { tensor: 'Parameter5' }), /not open/);
    assert.equal((await next.call('open', { path: SAMPLE_MODEL })).summary.nodeCount, 12);
    assert.equal((await next.call('tensorStats', { tensor: 'Parameter5' })).count, 200);
  } finally {
    await next.terminate();
  }
});
