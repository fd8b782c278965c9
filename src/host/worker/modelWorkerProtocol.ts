/**
 * Messages between the extension host and a model worker (a node:worker_threads thread that owns
 * one open model). Parsing, view-model building and tensor statistics run there, so a large or
 * hostile model never blocks, or crashes, the extension host.
 */
import type { GraphView } from '../../core/graphView';
import type { ModelSummary } from '../../core/summary';
import type { TensorStats } from '../../core/tensor';
import type { TensorValuesPage } from '../../protocol';
import type { AnyResult, Reply, Request } from '../../shared/requests';

/** A model file read in the worker (with a folder for the view cache), or bytes read by the host. */
export type OpenParams = { path: string; viewCacheDir?: string } | { bytes: Uint8Array; name: string };

/** The methods callers use (ModelWorkerClient.call). */
export interface ModelWorkerMethods {
  open: {
    params: OpenParams;
    /** `cached`: the summary and view came from the view cache (the model is parsed after the answer). */
    result: { summary: ModelSummary; graph?: GraphView; openTimeMs: number; cached: boolean };
  };
  graphView: { params: { foldQdq: boolean }; result: GraphView };
  tensorStats: { params: { tensor: string }; result: TensorStats };
  tensorValues: { params: { tensor: string; start: number; count: number }; result: TensorValuesPage };
  /** Drops the model and everything derived from it, so the thread can serve another model. */
  reset: { params: Record<string, never>; result: null };
}

export type ModelWorkerMethod = keyof ModelWorkerMethods;

/**
 * The methods as they cross the thread boundary: the opened view travels as JSON bytes in a
 * transferred buffer. Decoding those is a few times cheaper for the host's thread than a structured
 * clone of the view's ~100k small objects, and the same bytes are what the view cache stores.
 */
export type ModelWorkerWire = Omit<ModelWorkerMethods, 'open'> & {
  open: { params: OpenParams; result: Omit<ModelWorkerMethods['open']['result'], 'graph'> & { graphJson?: Uint8Array } };
};

export type ModelWorkerRequest<M extends ModelWorkerMethod = ModelWorkerMethod> = Request<ModelWorkerWire, M>;

/** A failure, with the core's error code ('truncated', 'corrupt', ..., 'request', 'internal'). */
export interface ModelWorkerFailure {
  message: string;
  code: string;
}

export type ModelWorkerResponse = Reply<AnyResult<ModelWorkerWire>, ModelWorkerFailure>;
