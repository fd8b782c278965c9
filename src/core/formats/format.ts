/** What every format module provides. The rest of the code never asks which format it has. */
import type { Model, ModelFormat } from '../model';

export interface OpenOptions {
  /**
   * Folder that external data must stay inside (ONNX external data). Defaults to the model's own
   * folder. Locations that escape it are refused.
   */
  baseDir?: string;
  /** Refuse element counts, nesting or string lengths past these limits (hostile files). */
  limits?: Partial<ReaderLimits>;
}

export interface ReaderLimits {
  /** Deepest nesting of subgraphs/messages accepted. */
  maxDepth: number;
  /** Most nodes accepted across all graphs. */
  maxNodes: number;
}

export const DEFAULT_LIMITS: ReaderLimits = { maxDepth: 64, maxNodes: 5_000_000 };

/** A model's bytes: a file on disk (read lazily) or a buffer already in memory. */
export type ModelSource =
  | { kind: 'file'; path: string }
  | { kind: 'bytes'; bytes: Uint8Array; name?: string };

export interface FormatModule {
  readonly format: ModelFormat;
  /** File extensions, lower case with the dot. */
  readonly extensions: readonly string[];
  /** Cheap signature check on the first bytes of the file (at least 16 when the file has them). */
  match(head: Uint8Array): boolean;
  open(source: ModelSource, options?: OpenOptions): Promise<Model>;
}
