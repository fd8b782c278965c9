/**
 * Entry of an analysis job thread (bundled as dist/analysisWorker.js): runs the core's per-layer
 * sensitivity off the extension host's thread, streams each layer as it is measured, and cancels
 * on request (the core leaves no temporary model and no partial cache entry behind).
 */
import { parentPort } from 'node:worker_threads';
import { describeError } from '../../core/errors';
import { sensitivity } from '../../core/eval/sensitivity';
import type { AnalysisJobFromHost, AnalysisJobToHost } from './analysisJobProtocol';

const abort = new AbortController();
const post = (m: AnalysisJobToHost) => parentPort?.postMessage(m);

parentPort?.on('message', (msg: AnalysisJobFromHost) => {
  if (msg.type === 'cancel') {
    abort.abort();
    return;
  }
  void (async () => {
    try {
      const report = await sensitivity(msg.model, {
        data: msg.data,
        labels: msg.labels,
        limit: msg.limit,
        recipe: msg.recipe,
        baseDir: msg.baseDir,
        cacheDir: msg.cacheDir,
        signal: abort.signal,
        onProgress: (p) => post({ type: 'progress', ...p }),
        onLayer: (layer) => post({ type: 'layer', layer }),
      });
      post({ type: 'done', report });
    } catch (e) {
      const cancelled = abort.signal.aborted;
      post({ type: 'error', cancelled, message: cancelled ? 'The sensitivity analysis was cancelled.' : describeError(e) });
    }
  })();
});
