/**
 * Sensitivity as the editor uses it: progress and per-layer results stream out in order, a
 * cancelled run throws and leaves no file (no cache entry, no quantized model), a finished run is
 * cached by content and replayed at once; the caller's event loop keeps turning during a run
 * (its delay and a timer's ticks measured); and bad input to `layers` gets one clear message.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sensitivity, type LayerSensitivity, type SensitivityProgress } from '../../src/core/eval/sensitivity';
import { layerErrors } from '../../src/core/eval/layers';
import { loopDelayText, watchEventLoop } from '../../src/core/eval/loopDelay';
import { quantizeModel } from '../../src/core/quant/quantize';
import { encodeNpy } from '../../src/core/data';
import { REPO_ROOT, sharedModel } from '../helpers/paths';

const MODEL = path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
const DATA = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
const LABELS = path.join(REPO_ROOT, 'samples', 'mnist-200-labels-idx1-ubyte.gz');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-sens-unit-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const files = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []);
const ourTemps = (): string[] => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('quantlens-sensitivity-'));

test('cancelled after two layers: AbortError, no cache entry, no temporary model', async () => {
  const cacheDir = path.join(tmp, 'cache-cancel');
  const before = ourTemps();
  const ac = new AbortController();
  const seen: string[] = [];
  await assert.rejects(
    sensitivity(MODEL, { data: DATA, limit: 16, cacheDir, signal: ac.signal, onLayer: (l) => { seen.push(l.node); if (seen.length === 2) ac.abort(); } }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.equal(seen.length, 2);
  assert.deepEqual(files(cacheDir), []);
  assert.deepEqual(ourTemps(), before);
});

test('progress and layers stream in order; the second run comes from the cache with the same numbers', async () => {
  const cacheDir = path.join(tmp, 'cache');
  const progress: SensitivityProgress[] = [];
  const layers: LayerSensitivity[] = [];
  const first = await sensitivity(MODEL, { data: DATA, labels: LABELS, limit: 40, offset: 100, cacheDir, onProgress: (p) => progress.push(p), onLayer: (l) => layers.push(l) });
  assert.equal(first.metric, 'top1');
  assert.equal(first.cached, false);
  const U = first.layers.length;
  assert.equal(U, 6);
  assert.deepEqual(progress.map((p) => p.done), Array.from({ length: 2 * U + 2 }, (_, i) => i + 1));
  assert.ok(progress.every((p) => p.total === 2 * U + 2));
  assert.deepEqual(layers.map((l) => l.index), [0, 1, 2, 3, 4, 5]);
  // top-1 of the float model on these 40 labelled images, and each drop = float - only-this
  for (const l of first.layers) assert.equal(l.drop, first.float - l.onlyThis);
  assert.equal(files(cacheDir).length, 1);
  const replayed: string[] = [];
  const second = await sensitivity(MODEL, { data: DATA, labels: LABELS, limit: 40, offset: 100, cacheDir, onLayer: (l) => replayed.push(l.node) });
  assert.equal(second.cached, true);
  assert.deepEqual(replayed, first.layers.map((l) => l.node));
  assert.deepEqual(second.layers, first.layers);
  // other data: a miss
  const third = await sensitivity(MODEL, { data: DATA, labels: LABELS, limit: 40, offset: 120, cacheDir });
  assert.equal(third.cached, false);
  assert.equal(files(cacheDir).length, 2);
});

test('the caller\'s event loop keeps turning during a run: timers fire, no long stall', async () => {
  const q = path.join(tmp, 'mnist-loop-int8.onnx');
  await quantizeModel(MODEL, q, { recipe: { version: 1, mode: 'static', calibration: { data: DATA, limit: 20 } } });
  // a short period: the run takes well under a second on a quiet machine
  const watch = watchEventLoop(2);
  const r = await sensitivity(MODEL, { data: DATA, quantized: q, limit: 200 });
  const loop = watch.stop();
  console.log(`sensitivity, ${r.samples} samples, ${r.timing.runs} runs in ${loop.durationMs.toFixed(0)} ms: ${loopDelayText(loop)}`);
  // long enough to tell: a run that held the thread throughout would let almost no tick through
  assert.ok(loop.periods >= 20, `${loop.periods} periods`);
  assert.ok(loop.ticks >= loop.periods / 4, `${loop.ticks} ticks in ${loop.periods} periods`);
  assert.ok(loop.maxMs < 1000, `longest stall ${loop.maxMs} ms`);
});

test('layers: a QOperator model, a float model in place of the quantized one, other inputs, wrong-shape data', async () => {
  await assert.rejects(layerErrors(MODEL, sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx'), { data: DATA, limit: 2 }), /is not in QDQ form .*quantized operators \(QLinearConv\)/);
  await assert.rejects(layerErrors(MODEL, MODEL, { data: DATA, limit: 2 }), /is not in QDQ form \(no QuantizeLinear/);
  const q = path.join(tmp, 'mnist-int8.onnx');
  await quantizeModel(MODEL, q, { recipe: { version: 1, mode: 'static', calibration: { data: DATA, limit: 20 } } });
  await assert.rejects(layerErrors(sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx'), q, { data: DATA, limit: 2 }), /does not take the float model's inputs/);
  const bad = path.join(tmp, 'bad.npy');
  fs.writeFileSync(bad, encodeNpy({ dtype: 'float32', shape: [2, 5, 7], data: new Float32Array(70) }));
  await assert.rejects(layerErrors(MODEL, q, { data: bad }), /expects float32\[1,1,28,28\] but .*holds float32\[2,5,7\]/);
});
