/**
 * Entry of an analysis job thread (bundled as dist/analysisWorker.js): runs the core's per-layer
 * sensitivity, evaluation, robustness check, layer histograms or report export off the extension
 * host's thread, streams progress (and each layer as it is measured), and cancels on request (the
 * core leaves no temporary model and no partial cache entry behind).
 */
import { parentPort } from 'node:worker_threads';
import { describeError } from '../../core/errors';
import { autotune } from '../../core/eval/autotune';
import { evaluateModels } from '../../core/eval/evaluate';
import { robustness } from '../../core/eval/robustness';
import { sensitivity } from '../../core/eval/sensitivity';
import { layerErrors } from '../../core/eval/layers';
import { layerHistograms } from '../../core/eval/histograms';
import { openModelFile } from '../../core/open';
import { exportReport, fromEvaluation, fromLayers, fromSensitivity, importResultsFile, mergeReports, renderReport } from '../../core/report';
import { robustnessMarkdown } from '../../core/report/write/robustness';
import type { AnalysisJob, AnalysisJobFromHost, AnalysisJobToHost, AnalysisResult } from './analysisJobProtocol';

const abort = new AbortController();
const post = (m: AnalysisJobToHost) => parentPort?.postMessage(m);

async function run(job: AnalysisJob): Promise<AnalysisResult> {
  const signal = abort.signal;
  switch (job.kind) {
    case 'sensitivity': {
      const report = await sensitivity(job.model, {
        data: job.data, labels: job.labels, limit: job.limit, recipe: job.recipe, baseDir: job.baseDir, cacheDir: job.cacheDir, signal,
        onProgress: (p) => post({ type: 'progress', ...p }),
        onLayer: (layer) => post({ type: 'layer', layer }),
      });
      return { kind: 'sensitivity', report, results: fromSensitivity(report) };
    }
    case 'evaluate': {
      const report = await evaluateModels(job.float, job.quantized, {
        data: job.data, labels: job.labels, limit: job.limit, signal,
        onProgress: (p) => post({ type: 'progress', done: p.step - 1 + (p.fraction ?? 0), total: p.steps, label: p.label }),
      });
      const results = fromEvaluation(report);
      return { kind: 'evaluate', report, results, markdown: (await renderReport(results, 'md')).text };
    }
    case 'robustness': {
      const report = await robustness(job.float, job.quantized, {
        data: job.data, labels: job.labels, limit: job.limit, signal,
        onProgress: (p) => post({ type: 'progress', done: p.step, total: p.steps, label: p.label }),
      });
      return { kind: 'robustness', report, markdown: robustnessMarkdown(report) };
    }
    case 'layers': {
      const report = await layerErrors(job.float, job.quantized, {
        data: job.data, limit: job.limit, signal,
        onProgress: (p) => post({ type: 'progress', done: p.done, total: p.total ?? 0, label: 'measuring every layer' }),
      });
      const results = fromLayers(report);
      return { kind: 'layers', results, markdown: (await renderReport(results, 'md', { metric: 'sqnrDb' })).text };
    }
    case 'autotune': {
      const result = await autotune(job.model, {
        data: job.data, labels: job.labels, limit: job.limit, budget: job.budget, cost: job.cost, cacheDir: job.cacheDir, signal,
        onProgress: (p) => post({ type: 'progress', done: 0, total: 0, label: p.label }),
      });
      return { kind: 'autotune', result };
    }
    case 'import':
      return { kind: 'import', results: importResultsFile(job.file, await openModelFile(job.model)) };
    case 'histograms':
      return {
        kind: 'histograms',
        histograms: await layerHistograms(job.model, job.node, { ...job.options, signal, onProgress: (p) => post({ type: 'progress', ...p }) }),
      };
    case 'export': {
      const merged = job.reports.length === 1 ? job.reports[0]! : mergeReports(job.reports, job.title);
      return { kind: 'export', notes: (await exportReport(merged, job.format, job.file, { graphSvg: job.graphSvg })).notes };
    }
  }
}

parentPort?.on('message', (msg: AnalysisJobFromHost) => {
  if (msg.type === 'cancel') {
    abort.abort();
    return;
  }
  void (async () => {
    try {
      post({ type: 'done', result: await run(msg) });
    } catch (e) {
      const cancelled = abort.signal.aborted;
      post({ type: 'error', cancelled, message: cancelled ? 'Cancelled: nothing was written.' : describeError(e) });
    }
  })();
});
