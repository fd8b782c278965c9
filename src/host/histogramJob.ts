/**
 * The selected layer's histograms (weights and calibration activations with the quantizer's grid),
 * computed in an analysis worker thread (dist/analysisWorker.js) so the extension host stays
 * responsive, with Cancel. The core caches the result by the content hashes of the model, the data
 * and the recipe (and the node) in the cache folder given, and keeps the recipe's quantized model
 * there too, so selecting one layer after another quantizes once; answers given in this window are
 * also kept in memory, so going back to a layer starts no thread.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { LayerHistograms } from '../core/eval/histograms';
import type { AnalysisJob, AnalysisJobToHost, HistogramJobOptions } from './worker/analysisJobProtocol';
import { runWorkerJob } from './workerJob';

export interface LayerHistogramsRequest extends HistogramJobOptions {
  /** The extension's folder (dist/analysisWorker.js is in it). */
  extensionPath: string;
  /** The cache folder (the extension's global storage 'cache'); none: nothing cached. */
  cacheDir?: string;
  onProgress?: (p: { done: number; total: number; label: string }) => void;
}

/** Answers already given in this window, by request and the files' size and time (MEMO_SIZE, oldest out first). */
const memo = new Map<string, LayerHistograms>();
const MEMO_SIZE = 64;

/**
 * A key for the in-memory answers: the request and every file's size and modification time; none
 * when a path is a folder (a file inside may change without the folder's time), or is missing.
 */
function memoKey(model: string, node: string, o: HistogramJobOptions): string | undefined {
  const paths = [model, o.data, o.quantized, o.evaluation?.data, o.recipe?.calibration?.data && (o.baseDir ? path.resolve(o.baseDir, o.recipe.calibration.data) : o.recipe.calibration.data)];
  const stamps: string[] = [];
  for (const p of paths) {
    if (!p) { stamps.push(''); continue; }
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) return undefined;
      stamps.push(`${st.size}:${st.mtimeMs}`);
    } catch {
      return undefined;
    }
  }
  return JSON.stringify([model, node, o, stamps]);
}

/**
 * Histograms of `nodeName` (a node of the graph as shown) of the local float ONNX model at
 * `modelUri`, for the quantization `options` describe (a recipe, default static int8 calibrated on
 * `options.data`, or a QDQ model in `options.quantized`). Rejects with a readable message; a
 * cancelled request rejects with an error whose `cancelled` is true.
 */
export function requestLayerHistograms(
  modelUri: vscode.Uri, nodeName: string, options: LayerHistogramsRequest, token: vscode.CancellationToken,
): Promise<LayerHistograms> {
  if (modelUri.scheme !== 'file' || !modelUri.path.toLowerCase().endsWith('.onnx')) {
    return Promise.reject(new Error('Layer histograms need a local float .onnx model.'));
  }
  if (typeof nodeName !== 'string' || !nodeName || nodeName.length > 4096) return Promise.reject(new Error('Select one layer to see its histograms.'));
  if (!options.data && !options.recipe?.calibration?.data) return Promise.reject(new Error('Layer histograms need data to run the model on: choose a data file or folder.'));
  const { extensionPath, onProgress, ...rest } = options;
  // the same layer asked again (selection going back and forth) is answered without a thread
  const key = memoKey(modelUri.fsPath, nodeName, rest);
  const known = key ? memo.get(key) : undefined;
  if (known) return Promise.resolve({ ...known, cached: true });
  const job: AnalysisJob = { type: 'start', kind: 'histograms', model: modelUri.fsPath, node: nodeName, options: rest };
  return runWorkerJob<AnalysisJobToHost, LayerHistograms>(path.join(extensionPath, 'dist', 'analysisWorker.js'), job, token, (m) => {
    if (m.type === 'progress') onProgress?.(m);
    else if (m.type === 'done') {
      return m.result.kind === 'histograms' ? { done: m.result.histograms } : { failed: `unexpected ${m.result.kind} result from the histogram job`, cancelled: false };
    } else if (m.type === 'error') return { failed: m.message, cancelled: m.cancelled };
    return undefined;
  }, 'histogram job').then((r) => {
    if (key) {
      memo.set(key, r);
      if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
    }
    return r;
  });
}
