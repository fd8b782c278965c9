/** What a caller asks of the data loader, and what it gets back. */
import type { DType } from '../model';
import type { DataFormat } from './format';
import type { ImagePreprocess, ResolvedImagePreprocess } from './image';
import type { InputSpec, Sample } from './tensor';

export interface SyntheticOptions {
  /** Number of samples. */
  count: number;
  /** PRNG seed (default 1): the same seed gives the same data. */
  seed?: number;
  /** Uniform range; default [0, 1) for floats, [0, 10) for integers, {0,1} for bool. */
  low?: number;
  high?: number;
  /** Values for symbolic dims, by dim name (default 1). */
  dims?: Record<string, number>;
}

export interface LoadOptions {
  /** The model's inputs (see inputSpecsFromModel). */
  inputs: InputSpec[];
  /** Force a format (for a folder: read only files of this kind). Default: from names / bytes. */
  format?: DataFormat;
  /** Skip this many samples. */
  offset?: number;
  /** Stop after this many samples. */
  limit?: number;
  /** How 8-bit unsigned data (IDX, npy, raw) becomes float: '0-255' (default, unchanged) or '0-1'. */
  scale?: '0-1' | '0-255';
  /** Image pre-processing (images only). */
  image?: ImagePreprocess;
  /** Element type of raw .bin / .raw files. Default: the (single) input's type. */
  rawDType?: DType;
  /** CSV field separator. Default ','. */
  csvDelimiter?: string;
  /** Largest file read whole (.npz, JSON, images, Fortran-order .npy). Default 1 GiB. */
  maxFileBytes?: number;
  /** Produce seeded random data instead of reading files (source must be null). */
  synthetic?: SyntheticOptions;
}

export interface CalibrationData extends AsyncIterable<Sample> {
  /** The path read, or 'synthetic'. */
  readonly source: string;
  readonly format: DataFormat | 'folder' | 'synthetic';
  readonly synthetic: boolean;
  /** Set, loudly, for synthetic data. */
  readonly warning?: string;
  /** Things worth telling the user: files ignored, arrays ignored. Grows while iterating. */
  readonly warnings: string[];
  /** The files (or test_data_set folders) that are read, in order. */
  readonly files: string[];
  /** How images are turned into the input tensor, when the data is images. */
  readonly image?: ResolvedImagePreprocess;
}
