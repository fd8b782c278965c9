/**
 * The shape every data format shares. A format adapter turns one file into records; a record
 * holds arrays (named and/or positional) that are read lazily, so a stack of samples in one file
 * is read one sample at a time. Input assignment (assign.ts) turns records into samples.
 */
import type { DType } from '../model';
import type { ResolvedImagePreprocess } from './image';
import type { LoadOptions } from './options';
import { elementCountOf, type SampleTensor, type TensorArray } from './tensor';

export type DataFormat = 'npy' | 'npz' | 'pb' | 'idx' | 'json' | 'jsonl' | 'csv' | 'image' | 'raw';
export const DATA_FORMATS: readonly DataFormat[] = ['npy', 'npz', 'pb', 'idx', 'json', 'jsonl', 'csv', 'image', 'raw'];

/** An array found in a file, read on demand. */
export interface ArrayRef {
  /** Element type in the file; for text, the declared dtype or 'float64'. */
  dtype: DType;
  /** Text numbers take the input's element type. */
  untyped?: boolean;
  /** null: a flat run of elements with no shape of its own (raw files, CSV rows). */
  shape: number[] | null;
  /** Elements in total. */
  length: number;
  where: string;
  /** `count` units from `from`: items along the first axis, or elements when shape is null. */
  read(from: number, count: number): Promise<TensorArray | number[]>;
}

/** One unit of a file: the arrays that feed the inputs together (one sample, or a stack). */
export interface DataRecord {
  where: string;
  named: Map<string, ArrayRef>;
  positional: ArrayRef[];
}

/** What an adapter may consult while reading. */
export interface FormatContext {
  opts: LoadOptions;
  /** Largest file read whole. */
  maxBytes: number;
  warn(msg: string): void;
  /** Set when the data is images. */
  imagePre?: ResolvedImagePreprocess;
}

export interface FormatAdapter {
  readonly name: DataFormat;
  /** File names of this format (tested on the base name). */
  readonly fileName: RegExp;
  /** Whether a file's first 16 bytes are this format's; absent when the bytes cannot tell. */
  sniff?(head: Uint8Array): boolean;
  /**
   * The records of one file, read lazily. The generator owns the files it opens and closes them
   * when it finishes or is returned early.
   */
  open(file: string, ctx: FormatContext): AsyncGenerator<DataRecord>;
  /** Whether one file of this format can hold one input of a sample folder (input_0.pb, x.npy). */
  readonly oneInputPerFile?: boolean;
}

/** An in-memory tensor as an array reference (items along its first axis). */
export function memoryRef(t: SampleTensor, where: string): ArrayRef {
  const item = t.shape.length ? elementCountOf(t.shape.slice(1)) : 1;
  return {
    dtype: t.dtype, shape: t.shape, length: t.data.length, where,
    read: async (from, count) => (t.shape.length ? t.data.subarray(from * item, (from + count) * item) as TensorArray : t.data),
  };
}

/** A record of a single positional array, named when the file gives it a name. */
export function singleArrayRecord(where: string, ref: ArrayRef, name?: string): DataRecord {
  return { where, named: name ? new Map([[name, ref]]) : new Map(), positional: [ref] };
}
