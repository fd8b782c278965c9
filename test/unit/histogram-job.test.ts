/**
 * The host's histogram request runs in the analysis worker thread as bundled (the worker entry is
 * bundled here as esbuild.mjs bundles it, into out/): it answers with the core's result, reports
 * progress, is served from the cache the second time, cancels, and refuses bad requests plainly.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import type * as vscode from 'vscode';
import { layerHistograms } from '../../src/core/eval/histograms';
import { requestLayerHistograms } from '../../src/host/histogramJob';
import { REPO_ROOT, SAMPLE_MODEL } from '../helpers/paths';

const DATA = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
// the bundle sits inside the repository so onnxruntime-node (external) resolves from node_modules
const EXT = path.join(REPO_ROOT, 'out', `histogram-job-test-${process.pid}`);
let cacheDir: string;

before(async () => {
  await esbuild.build({
    entryPoints: { analysisWorker: path.join(REPO_ROOT, 'src/host/worker/analysisWorker.ts') }, outdir: path.join(EXT, 'dist'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'onnxruntime-node'], logLevel: 'warning',
    alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js', 'vega-canvas': './node_modules/vega-canvas/build/vega-canvas.browser.js' },
    absWorkingDir: REPO_ROOT,
  });
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-histjob-'));
});
after(() => {
  fs.rmSync(EXT, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

/** A cancellation token as VS Code's, cancelled by `cancel()`. */
function tokenSource(): { token: vscode.CancellationToken; cancel: () => void } {
  const listeners: (() => void)[] = [];
  const token = {
    isCancellationRequested: false,
    onCancellationRequested: (f: () => void) => { listeners.push(f); return { dispose: () => undefined }; },
  } as unknown as vscode.CancellationToken;
  return { token, cancel: () => { (token as { isCancellationRequested: boolean }).isCancellationRequested = true; listeners.forEach((f) => f()); } };
}

const uri = (p: string): vscode.Uri => ({ scheme: 'file', path: p, fsPath: p }) as unknown as vscode.Uri;

test('the worker answers with what the core computes, with progress; the second request comes from the cache', async () => {
  const progress: string[] = [];
  const data = path.join(cacheDir, 'mnist.gz');
  fs.copyFileSync(DATA, data);
  const opts = { extensionPath: EXT, cacheDir, data, limit: 40, onProgress: (p: { label: string }) => progress.push(p.label) };
  const got = await requestLayerHistograms(uri(SAMPLE_MODEL), 'ReLU114', opts, tokenSource().token);
  const direct = await layerHistograms(SAMPLE_MODEL, 'ReLU114', { data: DATA, limit: 40 });
  assert.equal(got.cached, false);
  assert.deepEqual(got.activation.histogram, direct.activation.histogram);
  assert.deepEqual(got.activation.grid, direct.activation.grid);
  assert.ok(progress.includes('running the calibration samples'), progress.join(', '));
  // the same files: answered from memory, no thread
  let t = performance.now();
  const again = await requestLayerHistograms(uri(SAMPLE_MODEL), 'ReLU114', opts, tokenSource().token);
  const memoMs = performance.now() - t;
  assert.equal(again.cached, true);
  assert.deepEqual(again.activation, got.activation);
  // the data file touched (same bytes): the worker finds the content-hashed entry
  fs.utimesSync(data, new Date(), new Date(Date.now() + 5000));
  const before = progress.length;
  t = performance.now();
  const disk = await requestLayerHistograms(uri(SAMPLE_MODEL), 'ReLU114', opts, tokenSource().token);
  assert.equal(disk.cached, true);
  assert.deepEqual(disk.activation, got.activation);
  assert.equal(progress.length, before, 'nothing ran');
  console.log(`first answer: ${got.timing.totalMs.toFixed(0)} ms in the worker; from memory ${memoMs.toFixed(1)} ms; from the disk cache (a new thread) ${(performance.now() - t).toFixed(0)} ms`);
});

test('cancel stops the job and says so; bad requests are refused with a message', async () => {
  const src = tokenSource();
  const run = requestLayerHistograms(uri(SAMPLE_MODEL), 'Convolution110', { extensionPath: EXT, data: DATA, limit: 200 }, src.token);
  src.cancel();
  await assert.rejects(run, (e: Error & { cancelled?: boolean }) => e.cancelled === true && /Cancelled/.test(e.message));
  await assert.rejects(requestLayerHistograms(uri('/tmp/model.tflite'), 'x', { extensionPath: EXT, data: DATA }, src.token), /local float \.onnx/);
  await assert.rejects(requestLayerHistograms(uri(SAMPLE_MODEL), '', { extensionPath: EXT, data: DATA }, src.token), /Select one layer/);
  await assert.rejects(requestLayerHistograms(uri(SAMPLE_MODEL), 'ReLU32', { extensionPath: EXT }, src.token), /need data/);
  await assert.rejects(requestLayerHistograms(uri(SAMPLE_MODEL), 'NoSuchNode', { extensionPath: EXT, data: DATA, limit: 5 }, tokenSource().token), /no node named 'NoSuchNode'/);
});
