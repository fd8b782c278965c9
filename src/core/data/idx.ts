/**
 * IDX files (the MNIST format, e.g. t10k-images-idx3-ubyte[.gz]): two zero bytes, an element
 * type byte, the number of dimensions, the dimensions as big-endian uint32, then big-endian
 * elements in row-major order.
 */
import type { DType } from '../model';
import { DataError } from './errors';
import { singleArrayRecord, type DataRecord, type FormatAdapter } from './format';
import { arrayFromBytes, elementCountOf, elementSize, type SampleTensor } from './tensor';
import { isGzipFile, openFileSource, openGzipSource, type ByteSource } from './bytes';

const IDX_TYPES: Record<number, DType> = {
  0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};

export interface IdxHeader {
  dtype: DType;
  shape: number[];
  dataOffset: number;
}

/** Parses the IDX header from its first bytes (at least 4 + 4 * ndims). */
export function parseIdxHeader(bytes: Uint8Array, where = 'IDX file'): IdxHeader {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new DataError('bad-file', `${where} is not an IDX file (bad magic)`);
  const dtype = IDX_TYPES[bytes[2]];
  if (!dtype) throw new DataError('bad-file', `${where}: unknown IDX element type 0x${bytes[2].toString(16)}`);
  const nd = bytes[3];
  if (nd === 0) throw new DataError('bad-file', `${where}: IDX file with 0 dimensions`);
  if (bytes.length < 4 + 4 * nd) throw new DataError('bad-file', `${where} is truncated inside its header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < nd; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  return { dtype, shape, dataOffset: 4 + 4 * nd };
}

/** An open IDX file: header plus reads of items along the first axis. */
export interface IdxReader {
  header: IdxHeader;
  /** Items [from, from + count) (sequential for gzip files). */
  readItems(from: number, count: number): Promise<SampleTensor>;
  close(): Promise<void>;
}

/** Opens an IDX file, plain or gzip-compressed (detected from its bytes). */
export async function openIdx(file: string): Promise<IdxReader> {
  let gz: boolean;
  try {
    gz = isGzipFile(file);
  } catch (e) {
    throw new DataError('io', `Cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
  }
  const src: ByteSource = gz ? openGzipSource(file) : await openFileSource(file);
  try {
    const first = await src.read(0, 4);
    const nd = first[3];
    if (first[0] !== 0 || first[1] !== 0) throw new DataError('bad-file', `${file} is not an IDX file (bad magic)`, { file });
    const rest = await src.read(4, 4 * nd);
    const all = new Uint8Array(4 + 4 * nd);
    all.set(first);
    all.set(rest, 4);
    const header = parseIdxHeader(all, file);
    const itemElems = elementCountOf(header.shape.slice(1));
    const itemBytes = itemElems * elementSize(header.dtype);
    if (src.size !== undefined && src.size < header.dataOffset + itemBytes * header.shape[0]) {
      throw new DataError('bad-file', `${file} is truncated: ${header.shape.join('x')} ${header.dtype} needs ${header.dataOffset + itemBytes * header.shape[0]} bytes, the file has ${src.size}`, { file });
    }
    return {
      header,
      async readItems(from, count) {
        if (from < 0 || from + count > header.shape[0]) throw new RangeError(`items ${from}..${from + count} outside 0..${header.shape[0]}`);
        const bytes = await src.read(header.dataOffset + from * itemBytes, count * itemBytes);
        return { dtype: header.dtype, shape: [count, ...header.shape.slice(1)], data: arrayFromBytes(header.dtype, bytes, false) };
      },
      close: () => src.close(),
    };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/** Reads a whole IDX file (plain or gzip). */
export async function readIdx(file: string): Promise<SampleTensor> {
  const r = await openIdx(file);
  try {
    return await r.readItems(0, r.header.shape[0]);
  } finally {
    await r.close();
  }
}

/** An IDX file (plain or gzip): one array, read one item at a time. */
export const idxFormat: FormatAdapter = {
  name: 'idx',
  fileName: /(-idx\d+-u?byte|\.idx\d*(-u?byte)?)(\.gz)?$/i,
  // gzip is taken for IDX (MNIST ships gzipped); otherwise two zero bytes and a known type
  sniff: (b) => (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) || (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] in IDX_TYPES),
  async *open(file): AsyncGenerator<DataRecord> {
    const r = await openIdx(file);
    try {
      const { dtype, shape } = r.header;
      yield singleArrayRecord(file, {
        dtype, shape, length: elementCountOf(shape), where: file,
        read: async (from, count) => (await r.readItems(from, count)).data,
      });
    } finally {
      await r.close();
    }
  },
};
