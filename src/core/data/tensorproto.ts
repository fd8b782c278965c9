/**
 * ONNX TensorProto files (`.pb`), the format of the ONNX backend test data
 * (test_data_set_N/input_K.pb). Decoded field by field with protobufjs's Reader: only the
 * TensorProto fields are needed, so this does not depend on the generated ONNX schema code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Reader } from 'protobufjs/minimal';
import type { DType } from '../model';
import { readWholeFile } from './bytes';
import { DataError } from './errors';
import { memoryRef, singleArrayRecord, type DataRecord, type FormatAdapter } from './format';
import { allocArray, arrayFromBytes, elementCountOf, type TensorArray } from './tensor';

/** ONNX TensorProto.DataType -> dtype. */
export const ONNX_DTYPES: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
  16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

export function onnxDataType(dtype: DType): number | undefined {
  for (const [k, v] of Object.entries(ONNX_DTYPES)) if (v === dtype) return Number(k);
  return undefined;
}

/**
 * A decoded TensorProto. int4 / uint4 come unpacked, one value per element of an Int8Array /
 * Uint8Array, with dtype 'int4' / 'uint4'.
 */
export interface DecodedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorArray;
}

interface LongLike { low: number; high: number; unsigned?: boolean }

function toBigInt(v: number | LongLike, unsigned: boolean): bigint {
  if (typeof v === 'number') return BigInt(v);
  const b = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? BigInt.asUintN(64, b) : BigInt.asIntN(64, b);
}

function toSafeNumber(v: number | LongLike, what: string, where: string): number {
  const b = toBigInt(v, false);
  if (b < 0n || b > BigInt(Number.MAX_SAFE_INTEGER)) throw new DataError('bad-file', `${where}: ${what} ${b} is out of range`);
  return Number(b);
}

/** Reads a repeated scalar field, packed or not, into `out`. */
function readRepeated<T>(r: Reader, wire: number, read: () => T, out: T[]): void {
  if (wire === 2) {
    const end = r.uint32() + r.pos;
    while (r.pos < end) out.push(read());
  } else {
    out.push(read());
  }
}

const MAX_ELEMENTS = 1 << 30;

/**
 * Decodes a serialized TensorProto. `file` (when given) is used in messages and to resolve
 * external data, which must stay inside the file's folder.
 */
export function decodeTensorProto(bytes: Uint8Array, file?: string): DecodedTensor {
  const where = file ?? 'TensorProto';
  const r = new Reader(bytes);
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  const int32s: number[] = [];
  const int64s: (number | LongLike)[] = [];
  const uint64s: (number | LongLike)[] = [];
  const doubles: number[] = [];
  let strings = 0;
  const external: Record<string, string> = {};
  let location = 0;
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      switch (field) {
        case 1: {
          const tmp: (number | LongLike)[] = [];
          readRepeated(r, wire, () => r.int64() as unknown as LongLike, tmp);
          for (const d of tmp) dims.push(toSafeNumber(d, 'dimension', where));
          break;
        }
        case 2: dataType = r.int32(); break;
        case 4: readRepeated(r, wire, () => r.float(), floats); break;
        case 5: readRepeated(r, wire, () => r.int32(), int32s); break;
        case 6: r.bytes(); strings++; break;
        case 7: readRepeated(r, wire, () => r.int64() as unknown as LongLike, int64s); break;
        case 8: name = r.string(); break;
        case 9: raw = r.bytes(); break;
        case 10: readRepeated(r, wire, () => r.double(), doubles); break;
        case 11: readRepeated(r, wire, () => r.uint64() as unknown as LongLike, uint64s); break;
        case 13: {
          const end = r.uint32() + r.pos;
          let k = '';
          let v = '';
          while (r.pos < end) {
            const t2 = r.uint32();
            if (t2 >>> 3 === 1) k = r.string();
            else if (t2 >>> 3 === 2) v = r.string();
            else r.skipType(t2 & 7);
          }
          external[k] = v;
          break;
        }
        case 14: location = r.int32(); break;
        default: r.skipType(wire);
      }
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('bad-file', `${where} is not a valid ONNX TensorProto (${(e as Error).message})`, { file, cause: e });
  }
  const dtype = ONNX_DTYPES[dataType];
  if (!dtype) throw new DataError('bad-file', `${where}: unknown TensorProto data_type ${dataType}`, { file });
  if (dtype === 'string' || strings) throw new DataError('unsupported', `${where}: string tensors are not supported as calibration data`, { file });
  const count = elementCountOf(dims);
  if (count > MAX_ELEMENTS) throw new DataError('too-large', `${where}: ${count} elements is beyond the limit of ${MAX_ELEMENTS}`, { file });

  if (location === 1) {
    raw = readExternal(external, file, where);
  }

  let data: TensorArray;
  if (dtype === 'int4' || dtype === 'uint4') {
    const packed = raw ?? Uint8Array.from(int32s, (v) => v & 0xff);
    if (packed.length < (count + 1) >> 1) throw truncated(where, file, count, dtype);
    const out = dtype === 'int4' ? new Int8Array(count) : new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      let v = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
      if (dtype === 'int4' && v > 7) v -= 16;
      out[i] = v;
    }
    data = out;
  } else if (raw) {
    if (['complex64', 'complex128'].includes(dtype) || dtype.startsWith('float8') || dtype === 'float4e2m1') {
      throw new DataError('unsupported', `${where}: ${dtype} tensors are not supported as calibration data`, { file });
    }
    data = arrayFromBytes(dtype, raw);
    if (data.length !== count) throw truncated(where, file, count, dtype, data.length);
  } else {
    data = fromTypedFields(dtype, { floats, int32s, int64s, uint64s, doubles }, where, file);
    if (data.length !== count) throw truncated(where, file, count, dtype, data.length);
  }
  return { name, dtype, shape: dims, data };
}

function truncated(where: string, file: string | undefined, count: number, dtype: DType, got?: number): DataError {
  return new DataError('bad-file', `${where}: shape needs ${count} ${dtype} values but the tensor holds ${got ?? 'fewer'}`, { file });
}

function fromTypedFields(
  dtype: DType,
  f: { floats: number[]; int32s: number[]; int64s: (number | LongLike)[]; uint64s: (number | LongLike)[]; doubles: number[] },
  where: string, file: string | undefined,
): TensorArray {
  switch (dtype) {
    case 'float32': return Float32Array.from(f.floats);
    case 'float64': return Float64Array.from(f.doubles);
    case 'int64': return BigInt64Array.from(f.int64s, (v) => toBigInt(v, false));
    case 'uint64': return BigUint64Array.from(f.uint64s, (v) => toBigInt(v, true));
    case 'uint32': return Uint32Array.from(f.uint64s, (v) => Number(toBigInt(v, true)));
    case 'int8': case 'uint8': case 'int16': case 'uint16': case 'int32': case 'bool':
    case 'float16': case 'bfloat16': {
      const out = allocArray(dtype, f.int32s.length);
      for (let i = 0; i < f.int32s.length; i++) out[i] = f.int32s[i];
      return out;
    }
    default:
      throw new DataError('unsupported', `${where}: ${dtype} tensors are not supported as calibration data`, { file });
  }
}

function readExternal(ext: Record<string, string>, file: string | undefined, where: string): Uint8Array {
  if (!file) throw new DataError('unsupported', `${where}: external data needs the tensor's file path`);
  const loc = ext.location;
  if (!loc) throw new DataError('bad-file', `${where}: external data without a location`, { file });
  const dir = path.dirname(path.resolve(file));
  const target = path.resolve(dir, loc);
  if (path.relative(dir, target).startsWith('..') || path.isAbsolute(loc)) {
    throw new DataError('bad-file', `${where}: external data location "${loc}" is outside the tensor's folder`, { file });
  }
  const offset = ext.offset ? Number(ext.offset) : 0;
  let fd: number | undefined;
  try {
    fd = fs.openSync(target, 'r');
    const size = fs.fstatSync(fd).size;
    const length = ext.length ? Number(ext.length) : size - offset;
    if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
      throw new DataError('bad-file', `${where}: external data range ${offset}+${length} is beyond the ${size}-byte file ${loc}`, { file });
    }
    const buf = new Uint8Array(length);
    fs.readSync(fd, buf, 0, length, offset);
    return buf;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('io', `${where}: cannot read external data ${loc}: ${(e as Error).message}`, { file, cause: e });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** An ONNX TensorProto .pb file: one array, named by the tensor's name when it has one. */
export const pbFormat: FormatAdapter = {
  name: 'pb',
  fileName: /\.pb$/i,
  oneInputPerFile: true,
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    const t = decodeTensorProto(await readWholeFile(file, ctx.maxBytes), file);
    if (t.dtype === 'int4' || t.dtype === 'uint4') {
      throw new DataError('unsupported', `${file}: ${t.dtype} tensors are not supported as model inputs`, { file });
    }
    yield singleArrayRecord(file, memoryRef({ dtype: t.dtype, shape: t.shape, data: t.data }, file), t.name || undefined);
  },
};
