/**
 * Opening a model again reads its summary and graph view from the view cache (the model worker as
 * shipped, dist/modelWorker.js): the cached open equals a fresh one built in this thread, the
 * model still answers tensor requests afterwards, a changed file is never served a stale view, and
 * a damaged entry is only a miss. The view travels to the webview as JSON bytes and decodes to the
 * same view.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { writeOnnxFile } from '../../src/core/formats/onnx';
import { buildGraphView } from '../../src/core/graphView';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import { tensorStats } from '../../src/core/tensor';
import { syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { unpackSnapshot, type SnapshotMessage, type ViewState } from '../../src/protocol';
import { ModelWorkerClient } from '../../src/host/worker/modelWorkerClient';
import { ViewCache } from '../../src/host/worker/viewCache';
import { packState } from '../../src/host/worker/viewJson';
import { SAMPLE_MODEL } from '../helpers/paths';
import { ensureModelWorkerBuilt, MODEL_WORKER_ENTRY } from '../helpers/modelWorkerEntry';

const ENTRY = MODEL_WORKER_ENTRY;
let dir: string;

before(() => {
  ensureModelWorkerBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-viewcache-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Opens `file` in a fresh worker; on a miss, the worker is kept until it has stored the entry (it does so after answering). */
async function openOnce(file: string, cacheDir: string) {
  const w = new ModelWorkerClient(ENTRY);
  try {
    const indexBefore = indexStamp(cacheDir);
    const opened = await w.call('open', { path: file, viewCacheDir: cacheDir });
    const stats = await w.call('tensorStats', { tensor: 'Parameter5' }).catch((e: Error) => e);
    if (!opened.cached) await entryWritten(cacheDir, indexBefore);
    return { opened, stats };
  } finally {
    await w.terminate();
  }
}

function indexStamp(cacheDir: string): string {
  const d = path.join(cacheDir, 'index');
  return fs.existsSync(d) ? fs.readdirSync(d).map((n) => `${n}:${fs.statSync(path.join(d, n)).mtimeMs}`).join() : '';
}

async function entryWritten(cacheDir: string, indexBefore: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (indexStamp(cacheDir) !== indexBefore) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('no cache entry was written');
}

test('a second open comes from the cache and equals a fresh open; the model still serves tensors', async () => {
  const cacheDir = path.join(dir, 'c1');
  const file = path.join(dir, 'mnist.onnx');
  fs.copyFileSync(SAMPLE_MODEL, file);
  const first = await openOnce(file, cacheDir);
  assert.equal(first.opened.cached, false);
  const second = await openOnce(file, cacheDir);
  assert.equal(second.opened.cached, true);
  // Reference computed here, independently of the worker and the cache.
  const model = await openModelFile(file);
  assert.deepEqual(second.opened.summary, JSON.parse(JSON.stringify(summarize(model))));
  assert.deepEqual(second.opened.graph, JSON.parse(JSON.stringify(buildGraphView(model))));
  assert.deepEqual(second.opened.graph, first.opened.graph);
  const c = model.graphs[0].values.get('Parameter5')?.constant;
  assert.ok(c);
  assert.deepEqual(second.stats, await tensorStats(c, { bins: 48 }));
});

test('a changed file is opened afresh, never served the old view', async () => {
  const cacheDir = path.join(dir, 'c2');
  const file = path.join(dir, 'changing.onnx');
  await writeOnnxFile(syntheticTransformer(120), file);
  const first = await openOnce(file, cacheDir);
  await writeOnnxFile(syntheticTransformer(240), file);
  const second = await openOnce(file, cacheDir);
  assert.equal(second.opened.cached, false);
  const fresh = await openModelFile(file);
  assert.equal(second.opened.summary.nodeCount, fresh.graphs[0].nodes.length);
  assert.notEqual(second.opened.summary.nodeCount, first.opened.summary.nodeCount);
  assert.deepEqual(second.opened.graph, JSON.parse(JSON.stringify(buildGraphView(fresh))));
});

test('a damaged or truncated entry is a miss, and the model opens as usual', async () => {
  const cacheDir = path.join(dir, 'c3');
  const file = path.join(dir, 'damaged.onnx');
  fs.copyFileSync(SAMPLE_MODEL, file);
  await openOnce(file, cacheDir);
  const entry = fs.readdirSync(cacheDir).find((n) => n.endsWith('.view'))!;
  for (const damage of [Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]), Buffer.from('\u0010\u0000\u0000\u0000{"format": nope}}}}}}}}}')]) {
    fs.writeFileSync(path.join(cacheDir, entry), damage);
    const again = await openOnce(file, cacheDir);
    assert.equal(again.opened.cached, false);
    assert.equal(again.opened.summary.nodeCount, 12);
    assert.equal(again.opened.graph?.opCount, 12);
  }
});

test('the view crosses to the webview as JSON bytes and decodes to the same view', async () => {
  const model = await openModelFile(SAMPLE_MODEL);
  const graph = buildGraphView(model);
  const state: ViewState = { kind: 'loaded', summary: summarize(model), openTimeMs: 3, graph };
  const packed = packState(state);
  assert.ok(packed.graphJson instanceof Uint8Array);
  assert.equal('graph' in packed.state, false, 'the state itself no longer carries the objects');
  const msg: SnapshotMessage = { type: 'snapshot', revision: 2, fileName: 'm.onnx', ...packed };
  // Through a structured clone, as postMessage delivers it.
  const received = unpackSnapshot(structuredClone(msg));
  assert.deepEqual(received, { type: 'snapshot', revision: 2, fileName: 'm.onnx', state: JSON.parse(JSON.stringify(state)) });
  // Snapshots without bytes (loading, errors, older hosts) pass through unchanged.
  const loading: SnapshotMessage = { type: 'snapshot', revision: 1, fileName: 'm.onnx', state: { kind: 'loading' } };
  assert.deepEqual(unpackSnapshot(loading), loading);
  assert.deepEqual(packState({ kind: 'loading' }), { state: { kind: 'loading' } });
});

test('the cache itself: unchanged file hits, a rewritten one misses, entries beyond the limit are evicted oldest first', async () => {
  const cacheDir = path.join(dir, 'c4');
  const cache = new ViewCache(cacheDir);
  const file = path.join(dir, 'raw.bin');
  fs.writeFileSync(file, 'model one');
  const entry = { summary: new TextEncoder().encode('{"format":"onnx"}'), graph: new TextEncoder().encode('{"nodes":[]}') };
  assert.equal(await cache.get(file), undefined);
  await cache.put(file, entry);
  assert.deepEqual(await cache.get(file), entry);
  fs.writeFileSync(file, 'model two, longer');
  assert.equal(await cache.get(file), undefined);
  const others: string[] = [];
  for (let i = 0; i < 50; i++) {
    const f = path.join(dir, `raw-${i}.bin`);
    fs.writeFileSync(f, `content ${i}`);
    others.push(f);
    await cache.put(f, entry);
    // Distinct access times, so "oldest" is well defined.
    await new Promise((r) => setTimeout(r, 2));
  }
  const views = fs.readdirSync(cacheDir).filter((n) => n.endsWith('.view'));
  assert.ok(views.length <= 48, `${views.length} entries kept`);
  assert.equal(await cache.get(others[0]), undefined, 'the oldest went first');
  assert.deepEqual(await cache.get(others[49]), entry);
});
