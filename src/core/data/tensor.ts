/**
 * Sample tensors of calibration / evaluation data, and the element-type handling shared by the
 * loaders: typed arrays per dtype, little/big-endian decoding, float16 and bfloat16, and
 * checked conversion to a model input's element type.
 */
import { halfToNumber } from '../formats/onnx/dtypes';
import type { Dim, DType } from '../model';
import { DataError } from './errors';

export type TensorArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * One input value of a sample. `data` is the typed array for `dtype`: Float32Array for float32,
 * BigInt64Array for int64, Uint8Array for bool (0/1), Uint16Array holding the raw bits for
 * float16 and bfloat16. Row-major (C order).
 */
export interface SampleTensor {
  dtype: DType;
  shape: number[];
  data: TensorArray;
}

/** One model run's inputs, by input name. */
export type Sample = Record<string, SampleTensor>;

/** A model input as declared: element type and shape, dims possibly symbolic (string) or unknown (null). */
export interface InputSpec {
  name: string;
  dtype: DType;
  shape: Dim[] | null;
}

/** Element types the loaders read and produce. */
export const SAMPLE_DTYPES: readonly DType[] = [
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'uint16',
  'int32', 'uint32', 'int64', 'uint64', 'bool',
];

const SIZE: Partial<Record<DType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int16: 2, uint16: 2,
  int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1,
};

export function isSampleDType(d: DType): boolean {
  return SIZE[d] !== undefined;
}

/** Bytes per element of a sample dtype. */
export function elementSize(dtype: DType): number {
  const s = SIZE[dtype];
  if (s === undefined) throw new DataError('unsupported', `Element type ${dtype} is not supported for calibration data`);
  return s;
}

export function allocArray(dtype: DType, n: number): TensorArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': case 'bfloat16': case 'uint16': return new Uint16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint64': return new BigUint64Array(n);
    default: throw new DataError('unsupported', `Element type ${dtype} is not supported for calibration data`);
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Typed array of `dtype` from raw element bytes (copied, so the result owns an aligned buffer).
 * `littleEndian` is the byte order in `bytes`.
 */
export function arrayFromBytes(dtype: DType, bytes: Uint8Array, littleEndian = true): TensorArray {
  const size = elementSize(dtype);
  if (bytes.length % size !== 0) {
    throw new DataError('bad-file', `${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  // a real copy (Buffer.slice would return a view of a shared pool) with its own aligned buffer
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (size > 1 && littleEndian !== LITTLE_ENDIAN_HOST) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  const n = copy.length / size;
  switch (dtype) {
    case 'float32': return new Float32Array(copy.buffer, 0, n);
    case 'float64': return new Float64Array(copy.buffer, 0, n);
    case 'float16': case 'bfloat16': case 'uint16': return new Uint16Array(copy.buffer, 0, n);
    case 'int8': return new Int8Array(copy.buffer, 0, n);
    case 'uint8': case 'bool': return copy;
    case 'int16': return new Int16Array(copy.buffer, 0, n);
    case 'int32': return new Int32Array(copy.buffer, 0, n);
    case 'uint32': return new Uint32Array(copy.buffer, 0, n);
    case 'int64': return new BigInt64Array(copy.buffer, 0, n);
    case 'uint64': return new BigUint64Array(copy.buffer, 0, n);
    default: return allocArray(dtype, 0);
  }
}

/** Little-endian bytes of a typed array (a view when the host is little-endian). */
export function arrayToBytes(a: TensorArray): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN_HOST || a.BYTES_PER_ELEMENT === 1) return b;
  const out = b.slice();
  const s = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i += s) out.subarray(i, i + s).reverse();
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number (one decoder for the whole core). */
export const halfToFloat = halfToNumber;

/** number -> IEEE half bits, round to nearest even, overflow to infinity. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    const shift = 14 - e;
    let r = man >> shift;
    const rem = man & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = man >> 13;
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 31) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}

export function bfloat16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if (Number.isNaN(x)) return 0x7fc0;
  const r = b + 0x7fff + ((b >>> 16) & 1);
  return (r >>> 16) & 0xffff;
}

export function dimsText(shape: readonly Dim[] | null): string {
  if (shape === null) return '[?]';
  return '[' + shape.map((d) => (d === null ? '?' : String(d))).join(',') + ']';
}

export function typeText(dtype: DType, shape: readonly Dim[] | null): string {
  return `${dtype}${dimsText(shape)}`;
}

/** The graph model's element count, under the name the loaders use. */
export { elementCount as elementCountOf } from '../model';

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295], bool: [0, 1],
};

/** Element types whose typed-array values are not the numbers they stand for (or are bigints). */
const NOT_PLAIN_NUMBERS = new Set<DType>(['float16', 'bfloat16', 'int64', 'uint64']);

/** Floating-point element types (float32, float64, float16, bfloat16). */
export function isFloatType(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** Value i of a typed array as a number (float16 / bfloat16 decoded; int64 via Number). */
export function readNumber(dtype: DType, a: TensorArray, i: number): number {
  const v = a[i];
  if (dtype === 'float16') return halfToFloat(v as number);
  if (dtype === 'bfloat16') return bfloat16ToFloat(v as number);
  return typeof v === 'bigint' ? Number(v) : v;
}

export interface ConvertOptions {
  /** How 8-bit unsigned data becomes float: '0-255' keeps the values, '0-1' divides by 255. */
  scale?: '0-1' | '0-255';
  /** For messages: the input and where the data came from. */
  input?: string;
  where?: string;
  shape?: readonly number[];
  expectedShape?: readonly Dim[] | null;
}

function mismatch(from: DType, to: DType, o: ConvertOptions, why: string): DataError {
  const shape = o.shape ?? [];
  return new DataError(
    'dtype-mismatch',
    `Input "${o.input ?? '?'}" expects ${typeText(to, o.expectedShape ?? (shape as number[]))} but ${o.where ?? 'the data'} holds ${typeText(from, shape as number[])}: ${why}`,
    { input: o.input, expected: typeText(to, o.expectedShape ?? (shape as number[])), actual: typeText(from, shape as number[]) },
  );
}

/**
 * Converts data of one element type to another, refusing lossy conversions that change
 * meaning: float -> integer is refused, integer -> narrower integer only when every value fits,
 * -> bool only for 0/1. Same type returns the input array.
 */
export function convertArray(data: TensorArray, from: DType, to: DType, opts: ConvertOptions = {}): TensorArray {
  const byteScale = opts.scale === '0-1' && (from === 'uint8') && isFloatType(to) ? 1 / 255 : 1;
  if (from === to && byteScale === 1) return data;
  const n = data.length;
  if (isFloatType(to)) {
    if (!isSampleDType(from)) throw mismatch(from, to, opts, 'unsupported element type');
    const out = allocArray(to, n);
    if ((to === 'float32' || to === 'float64') && !NOT_PLAIN_NUMBERS.has(from)) {
      // the typed-array copy converts natively: several times faster than the loop below
      (out as Float32Array).set(data as ArrayLike<number>);
      if (byteScale !== 1) for (let i = 0; i < n; i++) out[i] = (out[i] as number) * byteScale;
      return out;
    }
    for (let i = 0; i < n; i++) {
      const v = readNumber(from, data, i) * byteScale;
      if (to === 'float16') out[i] = floatToHalf(v);
      else if (to === 'bfloat16') out[i] = floatToBfloat16(v);
      else out[i] = v;
    }
    return out;
  }
  if (isFloatType(from)) throw mismatch(from, to, opts, 'floating-point data cannot feed an integer input');
  const out = allocArray(to, n);
  if (to === 'int64' || to === 'uint64') {
    const lo = to === 'uint64' ? 0n : -(2n ** 63n);
    const hi = to === 'uint64' ? 2n ** 64n - 1n : 2n ** 63n - 1n;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      const b = typeof v === 'bigint' ? v : BigInt(v);
      if (b < lo || b > hi) throw mismatch(from, to, opts, `value ${b} at index ${i} does not fit`);
      out[i] = b as never;
    }
    return out;
  }
  const [lo, hi] = INT_RANGE[to]!;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    const x = typeof v === 'bigint' ? Number(v) : v;
    if (x < lo || x > hi) throw mismatch(from, to, opts, `value ${String(v)} at index ${i} does not fit`);
    out[i] = x;
  }
  return out;
}

/**
 * Typed array of `dtype` from plain numbers (text formats). Integer types require integral
 * values in range; bool accepts 0/1 and true/false.
 */
export function arrayFromNumbers(values: ArrayLike<number | boolean>, dtype: DType, what: string): TensorArray {
  const n = values.length;
  const out = allocArray(dtype, n);
  const bad = (i: number, why: string) =>
    new DataError('dtype-mismatch', `${what}: value ${String(values[i])} at index ${i} ${why} for ${dtype}`);
  for (let i = 0; i < n; i++) {
    let v = values[i];
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v !== 'number' || Number.isNaN(v) && !isFloatType(dtype)) throw bad(i, 'is not a number');
    if (dtype === 'float16') out[i] = floatToHalf(v);
    else if (dtype === 'bfloat16') out[i] = floatToBfloat16(v);
    else if (isFloatType(dtype)) out[i] = v;
    else {
      if (!Number.isInteger(v)) throw bad(i, 'is not an integer');
      if (dtype === 'int64' || dtype === 'uint64') {
        if (dtype === 'uint64' && v < 0) throw bad(i, 'is out of range');
        out[i] = BigInt(v) as never;
      } else {
        const [lo, hi] = INT_RANGE[dtype]!;
        if (v < lo || v > hi) throw bad(i, 'is out of range');
        out[i] = v;
      }
    }
  }
  return out;
}
