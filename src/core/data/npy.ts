/**
 * NumPy `.npy` (format versions 1-3) and `.npz` (a zip of .npy members, stored or deflated).
 *
 * .npy layout: the magic "\x93NUMPY", major and minor version bytes, a little-endian header
 * length (2 bytes in v1, 4 in v2/v3), then a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded to a multiple of 64,
 * then the raw elements.
 */
import { unzipSync } from 'fflate';
import * as path from 'node:path';
import type { DType } from '../model';
import { openFileSource, readWholeFile } from './bytes';
import { DataError } from './errors';
import { memoryRef, singleArrayRecord, type ArrayRef, type DataRecord, type FormatAdapter } from './format';
import { allocArray, arrayFromBytes, arrayToBytes, elementCountOf, elementSize, type SampleTensor, type TensorArray } from './tensor';

export interface NpyHeader {
  dtype: DType;
  /** The byte order of the elements in the file. */
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first element. */
  dataOffset: number;
  /** Bytes of element data (count * element size). */
  dataLength: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

const DESCR: Record<string, DType> = {
  b1: 'bool', i1: 'int8', u1: 'uint8', i2: 'int16', u2: 'uint16', i4: 'int32', u4: 'uint32',
  i8: 'int64', u8: 'uint64', f2: 'float16', f4: 'float32', f8: 'float64',
};

/** Bytes needed to read the header (call with at least 12 bytes). */
export function npyHeaderSize(prefix: Uint8Array, where = '.npy file'): number {
  if (!isNpy(prefix)) throw new DataError('bad-file', `${where} is not a NumPy .npy file (bad magic)`);
  if (prefix.length < 12) throw new DataError('bad-file', `${where} is truncated inside its header`);
  const major = prefix[6];
  const dv = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return 10 + dv.getUint16(8, true);
  if (major === 2 || major === 3) return 12 + dv.getUint32(8, true);
  throw new DataError('unsupported', `${where}: .npy format version ${major}.${prefix[7]} is not supported`);
}

/** Parses the header; `bytes` must hold at least npyHeaderSize() bytes. */
export function parseNpyHeader(bytes: Uint8Array, where = '.npy file'): NpyHeader {
  const end = npyHeaderSize(bytes, where);
  if (bytes.length < end) throw new DataError('bad-file', `${where} is truncated inside its header`);
  const start = bytes[6] === 1 ? 10 : 12;
  const text = new TextDecoder(bytes[6] === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, end));
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descrM) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) throw new DataError('unsupported', `${where}: structured arrays are not supported`);
    throw new DataError('bad-file', `${where}: header has no 'descr' (${text.trim().slice(0, 80)})`);
  }
  if (!fortranM || !shapeM) throw new DataError('bad-file', `${where}: header lacks 'fortran_order' or 'shape' (${text.trim().slice(0, 80)})`);
  const descr = descrM[1];
  const order = descr[0];
  const code = '<>|='.includes(order) ? descr.slice(1) : descr;
  const dtype = DESCR[code];
  if (!dtype) throw new DataError('unsupported', `${where}: NumPy element type '${descr}' is not supported (numbers and bools only)`);
  const shape: number[] = [];
  for (const part of shapeM[1].split(',')) {
    const t = part.trim().replace(/L$/, '');
    if (!t) continue;
    if (!/^\d+$/.test(t)) throw new DataError('bad-file', `${where}: bad shape entry "${t}"`);
    shape.push(Number(t));
  }
  const count = elementCountOf(shape);
  if (!Number.isSafeInteger(count * elementSize(dtype))) throw new DataError('too-large', `${where}: shape (${shape.join(', ')}) is too large`);
  return {
    dtype,
    littleEndian: order !== '>',
    fortranOrder: fortranM[1] === 'True',
    shape,
    dataOffset: end,
    dataLength: count * elementSize(dtype),
  };
}

/** Reorders a Fortran-order (column-major) array into C order. */
export function fortranToC(data: TensorArray, dtype: DType, shape: readonly number[]): TensorArray {
  const n = data.length;
  const rank = shape.length;
  if (rank < 2) return data;
  const out = allocArray(dtype, n);
  const idx = new Array<number>(rank).fill(0);
  // walk C order; compute the Fortran offset incrementally
  const fstride = new Array<number>(rank);
  let s = 1;
  for (let d = 0; d < rank; d++) { fstride[d] = s; s *= shape[d]; }
  let f = 0;
  for (let i = 0; i < n; i++) {
    out[i] = data[f];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      f += fstride[d];
      if (idx[d] < shape[d]) break;
      f -= fstride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Decodes a whole .npy file. */
export function parseNpy(bytes: Uint8Array, where = '.npy file'): SampleTensor {
  const h = parseNpyHeader(bytes, where);
  if (bytes.length < h.dataOffset + h.dataLength) {
    throw new DataError('bad-file', `${where} is truncated: shape (${h.shape.join(', ')}) needs ${h.dataLength} bytes of ${h.dtype} data, the file has ${bytes.length - h.dataOffset}`);
  }
  let data = arrayFromBytes(h.dtype, bytes.subarray(h.dataOffset, h.dataOffset + h.dataLength), h.littleEndian);
  if (h.fortranOrder) data = fortranToC(data, h.dtype, h.shape);
  return { dtype: h.dtype, shape: h.shape, data };
}

const ENCODE_DESCR: Partial<Record<DType, string>> = {
  bool: '|b1', int8: '|i1', uint8: '|u1', int16: '<i2', uint16: '<u2', int32: '<i4', uint32: '<u4',
  int64: '<i8', uint64: '<u8', float16: '<f2', float32: '<f4', float64: '<f8',
};

/** Encodes a tensor as a version 1.0 .npy file (C order, little-endian). */
export function encodeNpy(t: SampleTensor): Uint8Array {
  const descr = ENCODE_DESCR[t.dtype];
  if (!descr) throw new DataError('unsupported', `Cannot write ${t.dtype} as .npy`);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const body = arrayToBytes(t.data);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

/**
 * Decodes the arrays of a .npz file, in archive order, keyed by member name without ".npy".
 * Members that are not .npy files are ignored. `maxBytes` caps the total inflated size.
 */
export function parseNpz(bytes: Uint8Array, where = '.npz file', maxBytes = 1 << 30): Map<string, SampleTensor> {
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (!f.name.endsWith('.npy')) return false;
        total += f.originalSize;
        if (total > maxBytes) throw new DataError('too-large', `${where}: its arrays inflate to more than ${maxBytes} bytes`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('bad-file', `${where} is not a valid .npz (zip) file: ${(e as Error).message}`, { cause: e });
  }
  const out = new Map<string, SampleTensor>();
  for (const [name, data] of Object.entries(files)) {
    out.set(name.replace(/\.npy$/, ''), parseNpy(data, `${where}:${name}`));
  }
  return out;
}

/**
 * A .npy file: one array named after the file, read one stack item at a time (Fortran-order
 * arrays are read whole and reordered).
 */
export const npyFormat: FormatAdapter = {
  name: 'npy',
  fileName: /\.npy$/i,
  sniff: isNpy,
  oneInputPerFile: true,
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    const src = await openFileSource(file);
    try {
      const head = await src.read(0, Math.min(12, src.size ?? 12));
      const hsize = npyHeaderSize(head, file);
      const h = parseNpyHeader(await src.read(0, Math.min(hsize, src.size ?? hsize)), file);
      if ((src.size ?? 0) < h.dataOffset + h.dataLength) {
        throw new DataError('bad-file', `${file} is truncated: shape (${h.shape.join(', ')}) needs ${h.dataLength} bytes of ${h.dtype} data, the file has ${(src.size ?? 0) - h.dataOffset}`, { file });
      }
      let ref: ArrayRef;
      if (h.fortranOrder && h.shape.length > 1) {
        if (h.dataLength > ctx.maxBytes) throw new DataError('too-large', `${file}: a Fortran-order array is read whole and is above the ${ctx.maxBytes}-byte limit`, { file });
        const data = fortranToC(arrayFromBytes(h.dtype, await src.read(h.dataOffset, h.dataLength), h.littleEndian), h.dtype, h.shape);
        ref = memoryRef({ dtype: h.dtype, shape: h.shape, data }, file);
      } else {
        const size = elementSize(h.dtype);
        const itemBytes = (h.shape.length ? elementCountOf(h.shape.slice(1)) : 1) * size;
        ref = {
          dtype: h.dtype, shape: h.shape, length: h.dataLength / size, where: file,
          read: async (from, count) => arrayFromBytes(h.dtype, await src.read(h.dataOffset + from * itemBytes, count * itemBytes), h.littleEndian),
        };
      }
      yield singleArrayRecord(file, ref, path.basename(file, path.extname(file)));
    } finally {
      await src.close();
    }
  },
};

/** A .npz file: one record of all its arrays, by member name and in archive order. */
export const npzFormat: FormatAdapter = {
  name: 'npz',
  fileName: /\.npz$/i,
  sniff: (b) => b[0] === 0x50 && b[1] === 0x4b,
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    const arrays = parseNpz(await readWholeFile(file, ctx.maxBytes), file, ctx.maxBytes);
    const named = new Map<string, ArrayRef>();
    const positional: ArrayRef[] = [];
    for (const [k, t] of arrays) {
      const ref = memoryRef(t, `${file}:${k}`);
      named.set(k, ref);
      positional.push(ref);
    }
    yield { where: file, named, positional };
  },
};
