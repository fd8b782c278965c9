/** The host's end of a model worker: typed calls, and clear errors if the thread dies. */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { RequestClient, type StartOptions } from '../../shared/requests';
import type { GraphView } from '../../core/graphView';
import { decodeGraphView } from '../../protocol';
import { rememberGraphJson } from './viewJson';
import type { ModelWorkerFailure, ModelWorkerMethod, ModelWorkerMethods, ModelWorkerResponse, ModelWorkerWire } from './modelWorkerProtocol';

/** An error from the worker, with the core's error code ('truncated', 'corrupt', ..., 'request', 'internal'). */
export class ModelWorkerError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'ModelWorkerError';
  }
}

const DEFAULT_HEAP_MB = 4096;
/** How long a healthy worker may take to empty itself before it is ended instead of kept. */
const RESET_TIMEOUT_MS = 5_000;

export interface ModelWorkerOptions {
  /** Heap ceiling for the worker: a hostile file that makes the reader allocate hits this, not the host. */
  maxHeapMb?: number;
}

/**
 * One worker kept for the next model: starting a thread and loading the reader takes ~130 ms here,
 * and a thread that has already read a model runs the reader's code optimised (a 5,000-node model
 * reads and lays out in about half the time). It is either started after a model has loaded
 * (never at activation) or the thread of a closed model, emptied. Unref'd, so it keeps nothing
 * alive; used once.
 */
let spare: { entry: string; maxHeapMb: number; worker: Worker; warm: boolean } | undefined;

function startWorker(entry: string, maxHeapMb: number): Worker {
  return new Worker(entry, { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
}

export class ModelWorkerClient {
  private readonly worker: Worker;
  private readonly maxHeapMb: number;

  /** Starts a worker for the next model, if none is waiting. */
  static prepareSpare(entry = path.join(__dirname, 'modelWorker.js'), maxHeapMb = DEFAULT_HEAP_MB): void {
    if (spare) return;
    const worker = startWorker(entry, maxHeapMb);
    worker.unref();
    const forget = (): void => {
      if (spare?.worker === worker) spare = undefined;
    };
    worker.once('error', forget);
    worker.once('exit', forget);
    spare = { entry, maxHeapMb, worker, warm: false };
  }

  /** The waiting worker's thread id, if one is waiting. */
  static get spareThreadId(): number | undefined {
    return spare?.worker.threadId;
  }

  /** This client's thread id. */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Ends the waiting worker (extension deactivation). */
  static disposeSpare(): void {
    const w = spare?.worker;
    spare = undefined;
    void w?.terminate();
  }

  private readonly requests: RequestClient<ModelWorkerWire, ModelWorkerFailure>;

  /**
   * Where model workers keep the views of models they opened (the extension's storage), so the
   * next open of an unchanged file skips parsing and building; unset, nothing is cached.
   */
  static viewCacheDir: string | undefined;

  constructor(private readonly entry = path.join(__dirname, 'modelWorker.js'), options: ModelWorkerOptions = {}) {
    const maxHeapMb = options.maxHeapMb ?? DEFAULT_HEAP_MB;
    this.maxHeapMb = maxHeapMb;
    if (spare && spare.entry === entry && spare.maxHeapMb === maxHeapMb) {
      this.worker = spare.worker;
      spare = undefined;
      this.worker.removeAllListeners('error').removeAllListeners('exit');
      this.worker.ref();
    } else {
      this.worker = startWorker(entry, maxHeapMb);
    }
    const worker = this.worker;
    this.requests = new RequestClient((req) => worker.postMessage(req), (err) => new ModelWorkerError(err.message, err.code));
    this.worker.on('message', (res: ModelWorkerResponse) => this.requests.handle(res));
    this.worker.on('error', (e: Error & { code?: string }) => {
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.fail(new ModelWorkerError(oom ? 'The model needs more memory than QuantLens allows for one model; it was not opened.' : `The model reader stopped: ${e.message}`, oom ? 'too-large' : 'internal'));
    });
    this.worker.on('exit', (code) => this.fail(new ModelWorkerError(`The model reader exited (code ${code}).`, 'internal')));
  }

  /** Fails every call in flight and every later one with `e` (the first failure is the one reported). */
  private fail(e: ModelWorkerError): void {
    this.requests.pending.close(e);
  }

  call<M extends ModelWorkerMethod>(method: M, params: ModelWorkerMethods[M]['params'], options?: StartOptions): Promise<ModelWorkerMethods[M]['result']> {
    if (method === 'open') return this.open(params as ModelWorkerMethods['open']['params'], options) as Promise<ModelWorkerMethods[M]['result']>;
    return this.requests.call(method, params, options) as Promise<ModelWorkerMethods[M]['result']>;
  }

  private async open(params: ModelWorkerMethods['open']['params'], options?: StartOptions): Promise<ModelWorkerMethods['open']['result']> {
    // QUANTLENS_NO_VIEW_CACHE turns the cache off (benchmarks compare with it, diagnosis).
    const cacheDir = process.env.QUANTLENS_NO_VIEW_CACHE ? undefined : ModelWorkerClient.viewCacheDir;
    const withCache = 'path' in params && params.viewCacheDir === undefined && cacheDir ? { ...params, viewCacheDir: cacheDir } : params;
    const { graphJson, ...rest } = await this.requests.call('open', withCache, options);
    const graph = graphJson ? decodeView(graphJson) : undefined;
    if (graph && graphJson) rememberGraphJson(graph, graphJson);
    return { ...rest, ...(graph ? { graph } : {}) };
  }

  /**
   * Done with this model: the thread is emptied and kept as the spare when it is healthy (it
   * replaces a spare that never read a model), else ended.
   */
  async release(): Promise<void> {
    const { pending } = this.requests;
    if (pending.closed || pending.size || (spare?.warm ?? false)) return this.terminate();
    try {
      await this.call('reset', {}, { timeoutMs: RESET_TIMEOUT_MS });
    } catch {
      return this.terminate();
    }
    this.fail(new ModelWorkerError('The model was closed.', 'closed'));
    this.worker.removeAllListeners('message').removeAllListeners('error').removeAllListeners('exit');
    const previous = spare;
    const worker = this.worker;
    worker.unref();
    const forget = (): void => {
      if (spare?.worker === worker) spare = undefined;
    };
    worker.once('error', forget);
    worker.once('exit', forget);
    spare = { entry: this.entry, maxHeapMb: this.maxHeapMb, worker, warm: true };
    if (previous) void previous.worker.terminate();
  }

  async terminate(): Promise<void> {
    this.fail(new ModelWorkerError('The model was closed.', 'closed'));
    await this.worker.terminate();
  }
}

/** The view from its JSON bytes; a view that does not decode is left out (the summary still shows). */
function decodeView(bytes: Uint8Array): GraphView | undefined {
  try {
    return decodeGraphView(bytes);
  } catch {
    return undefined;
  }
}
