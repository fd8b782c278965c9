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

export interface ModelWorkerMethods {
  open: {
    params: { path: string } | { bytes: Uint8Array; name: string };
    result: { summary: ModelSummary; graph?: GraphView; openTimeMs: number };
  };
  graphView: { params: { foldQdq: boolean }; result: GraphView };
  tensorStats: { params: { tensor: string }; result: TensorStats };
  tensorValues: { params: { tensor: string; start: number; count: number }; result: TensorValuesPage };
  /** Drops the model and everything derived from it, so the thread can serve another model. */
  reset: { params: Record<string, never>; result: null };
}

export type ModelWorkerMethod = keyof ModelWorkerMethods;

export type ModelWorkerRequest<M extends ModelWorkerMethod = ModelWorkerMethod> = Request<ModelWorkerMethods, M>;

/** A failure, with the core's error code ('truncated', 'corrupt', ..., 'request', 'internal'). */
export interface ModelWorkerFailure {
  message: string;
  code: string;
}

export type ModelWorkerResponse = Reply<AnyResult<ModelWorkerMethods>, ModelWorkerFailure>;
