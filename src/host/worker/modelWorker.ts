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
import type { ModelSummary } from '../../core/summary';
import { encodeGraphView } from '../../protocol';
import type { ModelWorkerFailure, ModelWorkerRequest, ModelWorkerWire } from './modelWorkerProtocol';
import { ViewCache } from './viewCache';

/** The open model; on a view-cache hit it is still being parsed after the answer went out. */
let model: Promise<Model> | undefined;
const graphViews = new Map<boolean, GraphView>();
const statsCache = new Map<string, Promise<TensorStats>>();

/** An error whose message the webview shows as it is. */
class RequestError extends Error {}

function requireModel(): Promise<Model> {
  if (!model) throw new RequestError('The model is not open.');
  return model;
}

async function constantOf(name: string): Promise<Constant> {
  const value = (await requireModel()).graphs[0]?.values.get(name);
  if (!value) throw new RequestError(`The model has no tensor named '${name.slice(0, 200)}'.`);
  if (!value.constant) throw new RequestError(`Tensor '${name.slice(0, 200)}' is not a constant: its values exist only when the model runs.`);
  return value.constant;
}

const encodeJson = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));

/** A cached summary, or undefined when the entry does not decode (then the model is opened as usual). */
function cachedSummary(bytes: Uint8Array): ModelSummary | undefined {
  try {
    const s = JSON.parse(new TextDecoder().decode(bytes)) as ModelSummary | null;
    return s && typeof s === 'object' && typeof s.format === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `f` once the current answer has been posted (after the microtasks that post it). */
const afterAnswer = (f: () => void): void => void setTimeout(f, 0);

const handlers: Handlers<ModelWorkerWire> = {
  async open(p) {
    const t0 = performance.now();
    const cache = 'path' in p && p.viewCacheDir ? new ViewCache(p.viewCacheDir) : undefined;
    const hit = 'path' in p ? await cache?.get(p.path) : undefined;
    const summary = hit && cachedSummary(hit.summary);
    if (hit && summary && 'path' in p) {
      // Parsed for the requests that follow (tensors, the folded view), once the view is on its way.
      const opening = new Promise<Model>((resolve, reject) => afterAnswer(() => openModelFile(p.path).then(resolve, reject)));
      opening.catch(() => undefined); // reported by the request that needs the model
      model = opening;
      return { summary, ...(hit.graph ? { graphJson: hit.graph } : {}), openTimeMs: performance.now() - t0, cached: true };
    }
    const opened = 'path' in p ? await openModelFile(p.path) : await openModelBytes(p.bytes, p.name);
    model = Promise.resolve(opened);
    // The graph rides along in the snapshot; if it cannot be built, the summary still shows.
    let graphJson: Uint8Array | undefined;
    try {
      const graph = buildGraphView(opened);
      graphViews.set(false, graph);
      graphJson = encodeGraphView(graph);
    } catch {
      graphJson = undefined;
    }
    const fresh = summarize(opened);
    if (cache && 'path' in p) {
      // The answer transfers graphJson away: the cache keeps its own copy.
      const entry = { summary: encodeJson(fresh), ...(graphJson ? { graph: graphJson.slice() } : {}) };
      afterAnswer(() => void cache.put(p.path, entry));
    }
    return { summary: fresh, ...(graphJson ? { graphJson } : {}), openTimeMs: performance.now() - t0, cached: false };
  },
  async graphView({ foldQdq }) {
    let v = graphViews.get(foldQdq);
    if (!v) {
      v = buildGraphView(await requireModel(), { foldQdq });
      graphViews.set(foldQdq, v);
    }
    return v;
  },
  async tensorStats({ tensor }) {
    const c = await constantOf(tensor);
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
    const c = await constantOf(tensor);
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
  void answer(handlers, req, failure).then((res) => {
    // The opened view's bytes move to the host without a copy.
    const graphJson = req.method === 'open' && res.ok ? (res.ok as ModelWorkerWire['open']['result']).graphJson : undefined;
    parentPort?.postMessage(res, graphJson ? [graphJson.buffer as ArrayBuffer] : []);
  });
});
