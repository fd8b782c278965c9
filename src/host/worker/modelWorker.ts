/**
 * Entry of a model worker thread (bundled as dist/modelWorker.js). It owns one model and answers
 * the host's requests; see modelWorkerProtocol.ts.
 */
import { parentPort } from 'node:worker_threads';
import { describeError, isModelError } from '../../core/errors';
import { buildGraphView, type GraphView } from '../../core/graphView';
import { openModelBytes, openModelFile } from '../../core/open';
import { summarize } from '../../core/summary';
import { readConstantValues, tensorStats } from '../../core/tensor';
import type { Constant, Model } from '../../core/model';
import type { TensorStats } from '../../core/tensor';
import { answer, type Handlers } from '../../shared/requests';
import type { ModelWorkerFailure, ModelWorkerMethods, ModelWorkerRequest } from './modelWorkerProtocol';

let model: Model | undefined;
const graphViews = new Map<boolean, GraphView>();
const statsCache = new Map<string, Promise<TensorStats>>();

/** An error whose message the webview shows as it is. */
class RequestError extends Error {}

function requireModel(): Model {
  if (!model) throw new RequestError('The model is not open.');
  return model;
}

function constantOf(name: string): Constant {
  const value = requireModel().graphs[0]?.values.get(name);
  if (!value) throw new RequestError(`The model has no tensor named '${name.slice(0, 200)}'.`);
  if (!value.constant) throw new RequestError(`Tensor '${name.slice(0, 200)}' is not a constant: its values exist only when the model runs.`);
  return value.constant;
}

const handlers: Handlers<ModelWorkerMethods> = {
  async open(p) {
    const t0 = performance.now();
    model = 'path' in p ? await openModelFile(p.path) : await openModelBytes(p.bytes, p.name);
    // The graph rides along in the snapshot; if it cannot be built, the summary still shows.
    let graph: GraphView | undefined;
    try {
      graph = buildGraphView(model);
      graphViews.set(false, graph);
    } catch {
      graph = undefined;
    }
    return { summary: summarize(model), graph, openTimeMs: performance.now() - t0 };
  },
  async graphView({ foldQdq }) {
    let v = graphViews.get(foldQdq);
    if (!v) {
      v = buildGraphView(requireModel(), { foldQdq });
      graphViews.set(foldQdq, v);
    }
    return v;
  },
  tensorStats({ tensor }) {
    const c = constantOf(tensor);
    let p = statsCache.get(tensor);
    if (!p) {
      p = tensorStats(c, { bins: 48 });
      // A failure is not cached: the file may become readable again.
      p.catch(() => statsCache.delete(tensor));
      statsCache.set(tensor, p);
    }
    return p;
  },
  async tensorValues({ tensor, start, count }) {
    const c = constantOf(tensor);
    const total = c.shape.reduce((a, b) => a * b, 1);
    if (start >= total && !(start === 0 && total === 0)) throw new RequestError(`Tensor '${tensor.slice(0, 200)}' has ${total} values; there is no value at index ${start}.`);
    const values = await readConstantValues(c, start, count);
    return { tensor, dtype: c.dtype, shape: c.shape, total, start, values: Float64Array.from(values) };
  },
  async reset() {
    model = undefined;
    graphViews.clear();
    statsCache.clear();
    return null;
  },
};

function failure(e: unknown): ModelWorkerFailure {
  const code = isModelError(e) ? e.code : e instanceof RequestError ? 'request' : 'internal';
  return { message: e instanceof RequestError ? e.message : describeError(e), code };
}

parentPort?.on('message', (req: ModelWorkerRequest) => {
  void answer(handlers, req, failure).then((res) => parentPort?.postMessage(res));
});
