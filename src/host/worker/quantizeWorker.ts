/**
 * Entry of a quantization job thread (bundled as dist/quantizeWorker.js): runs the core's
 * quantizeModel off the extension host's thread, reports progress, and cancels cleanly on request
 * (the core removes its temporary files, so a cancelled job leaves nothing behind).
 */
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { describeError, isModelError, ModelError } from '../../core/errors';
import { quantizeModel } from '../../core/quant/quantize';
import { loadRecipe } from '../../core/quant/recipe';
import type { QuantizeJobFromHost, QuantizeJobToHost } from './quantizeJobProtocol';

const abort = new AbortController();
const post = (m: QuantizeJobToHost) => parentPort?.postMessage(m);

parentPort?.on('message', (msg: QuantizeJobFromHost) => {
  if (msg.type === 'cancel') {
    abort.abort();
    return;
  }
  void (async () => {
    try {
      const recipe = msg.recipePath ? loadRecipe(msg.recipePath) : msg.recipe;
      if (!recipe) throw new ModelError('unsupported', 'No recipe was given.');
      const r = await quantizeModel(msg.source, msg.out, {
        recipe,
        baseDir: msg.baseDir ?? (msg.recipePath ? path.dirname(msg.recipePath) : undefined),
        signal: abort.signal,
        onProgress: (p) => post({ type: 'progress', ...p }),
      });
      post({ type: 'done', summary: r.summary });
    } catch (e) {
      const cancelled = abort.signal.aborted;
      post({ type: 'error', cancelled, code: isModelError(e) ? e.code : 'internal', message: cancelled ? 'Quantization was cancelled; no file was written.' : describeError(e) });
    }
  })();
});
