/** ONNX TensorProto.DataType numbers <-> the graph model's DType, and element decoding helpers. */
import type { DType } from '../../model';

const ONNX_TO_DTYPE: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
  16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4', 23: 'float4e2m1', 24: 'float8e8m0', 25: 'uint2', 26: 'int2',
};

const DTYPE_TO_ONNX: Partial<Record<DType, number>> = {};
for (const [k, v] of Object.entries(ONNX_TO_DTYPE)) DTYPE_TO_ONNX[v] = Number(k);

export function dtypeFromOnnx(code: number): DType {
  return ONNX_TO_DTYPE[code] ?? 'unknown';
}

/** 0 (UNDEFINED) for types ONNX has no number for. */
export function dtypeToOnnx(dtype: DType): number {
  return DTYPE_TO_ONNX[dtype] ?? 0;
}

/** Bits per element of the raw_data layout (sub-byte types are packed), undefined for strings. */
export function rawBits(dtype: DType): number | undefined {
  switch (dtype) {
    case 'float32': case 'int32': case 'uint32': return 32;
    case 'float64': case 'int64': case 'uint64': case 'complex64': return 64;
    case 'complex128': return 128;
    case 'float16': case 'bfloat16': case 'int16': case 'uint16': return 16;
    case 'uint8': case 'int8': case 'bool': case 'float8e4m3fn': case 'float8e4m3fnuz': case 'float8e5m2':
    case 'float8e5m2fnuz': case 'float8e8m0': return 8;
    case 'int4': case 'uint4': case 'float4e2m1': return 4;
    case 'int2': case 'uint2': return 2;
    default: return undefined;
  }
}

/** Bytes that `count` elements take in raw_data layout (sub-byte types round up), or undefined. */
export function rawByteLength(dtype: DType, count: number): number | undefined {
  const bits = rawBits(dtype);
  if (bits === undefined) return undefined;
  return Math.ceil((count * bits) / 8);
}

// --- decoding small tensors to JS numbers (quantization parameters, tests) ----------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function bfloat16ToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** Generic small-float decoder: exponent bits, mantissa bits, bias, and the format's NaN/Inf rules. */
function minifloat(bits: number, eBits: number, mBits: number, bias: number, kind: 'fn' | 'fnuz' | 'ieee' | 'none'): number {
  const sign = (bits >> (eBits + mBits)) & 1;
  const e = (bits >> mBits) & ((1 << eBits) - 1);
  const m = bits & ((1 << mBits) - 1);
  const eMax = (1 << eBits) - 1;
  if (kind === 'fnuz' && sign === 1 && e === 0 && m === 0) return NaN;
  if (kind === 'fn' && e === eMax && m === (1 << mBits) - 1) return NaN;
  if (kind === 'ieee' && e === eMax) return m ? NaN : sign ? -Infinity : Infinity;
  const s = sign ? -1 : 1;
  if (e === 0) return s * m * 2 ** (1 - bias - mBits);
  return s * (1 + m / (1 << mBits)) * 2 ** (e - bias);
}

export function decodeFloat8(dtype: DType, b: number): number {
  switch (dtype) {
    case 'float8e4m3fn': return minifloat(b, 4, 3, 7, 'fn');
    case 'float8e4m3fnuz': return minifloat(b, 4, 3, 8, 'fnuz');
    case 'float8e5m2': return minifloat(b, 5, 2, 15, 'ieee');
    case 'float8e5m2fnuz': return minifloat(b, 5, 2, 16, 'fnuz');
    case 'float8e8m0': return b === 0xff ? NaN : 2 ** (b - 127);
    case 'float4e2m1': return minifloat(b & 0xf, 2, 1, 1, 'none');
    default: return NaN;
  }
}

/**
 * Element values of a raw little-endian buffer as JS numbers (int64 values beyond 2^53 lose
 * precision; callers use this for scales, zero points and test comparisons, not for rewriting).
 */
export function decodeNumbers(dtype: DType, raw: Uint8Array, count: number): number[] {
  // Complex values come out as (real, imaginary) pairs.
  if (dtype === 'complex64') return decodeNumbers('float32', raw, count * 2);
  if (dtype === 'complex128') return decodeNumbers('float64', raw, count * 2);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'float32': out[i] = dv.getFloat32(i * 4, true); break;
      case 'float64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'float16': out[i] = halfToNumber(dv.getUint16(i * 2, true)); break;
      case 'bfloat16': out[i] = bfloat16ToNumber(dv.getUint16(i * 2, true)); break;
      case 'int8': out[i] = dv.getInt8(i); break;
      case 'uint8': case 'bool': out[i] = dv.getUint8(i); break;
      case 'int16': out[i] = dv.getInt16(i * 2, true); break;
      case 'uint16': out[i] = dv.getUint16(i * 2, true); break;
      case 'int32': out[i] = dv.getInt32(i * 4, true); break;
      case 'uint32': out[i] = dv.getUint32(i * 4, true); break;
      case 'int64': out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'uint64': out[i] = Number(dv.getBigUint64(i * 8, true)); break;
      case 'float8e4m3fn': case 'float8e4m3fnuz': case 'float8e5m2': case 'float8e5m2fnuz': case 'float8e8m0':
        out[i] = decodeFloat8(dtype, raw[i]); break;
      case 'int4': case 'uint4': case 'float4e2m1': {
        const nib = (raw[i >> 1] >> ((i & 1) * 4)) & 0xf;
        out[i] = dtype === 'int4' ? (nib << 28) >> 28 : dtype === 'uint4' ? nib : decodeFloat8('float4e2m1', nib);
        break;
      }
      case 'int2': case 'uint2': {
        const v = (raw[i >> 2] >> ((i & 3) * 2)) & 0x3;
        out[i] = dtype === 'int2' ? (v << 30) >> 30 : v;
        break;
      }
      default: out[i] = NaN;
    }
  }
  return out;
}
