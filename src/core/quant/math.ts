/**
 * Quantization arithmetic: integer ranges, scale / zero-point selection, QuantizeLinear and
 * DequantizeLinear (per tensor and per channel), int32 bias quantization and int4 packing.
 *
 * Conventions follow the ONNX operators and onnxruntime's quantization tool:
 *  - real = scale * (q - zeroPoint); q = saturate(roundHalfEven(x / scale) + zeroPoint);
 *  - scales are float32 values (what the model stores), computed as onnxruntime does;
 *  - asymmetric ranges are widened to include 0, so 0 is exact.
 * Deliberate difference from onnxruntime >= 1.20: symmetric *unsigned* types use zero point
 * 2^(bits-1) (128, 32768, 8) with values in [1, 2^bits - 1], so that +-absmax are both exact.
 * onnxruntime now gives uint8 zero point 127 (its issue #25823) with the same scale. Symmetric
 * int4 uses [-7, 7] (onnxruntime has no symmetric int4 entry and uses [-8, 7], which clips +absmax).
 */
import {
  allocQuantized, channelMinMaxKernel, quantizeKernel, roundHalfEven, scaleZeroPoint,
} from './kernels';

export { roundHalfEven } from './kernels';

export type QuantType = 'int4' | 'uint4' | 'int8' | 'uint8' | 'int16' | 'uint16';

export const QUANT_TYPES: readonly QuantType[] = ['int4', 'uint4', 'int8', 'uint8', 'int16', 'uint16'];

export function isQuantType(s: unknown): s is QuantType {
  return typeof s === 'string' && (QUANT_TYPES as readonly string[]).includes(s);
}

/** Typed array that holds unpacked quantized values of a type (int4 values one per element). */
export type QuantizedArray = Int8Array | Uint8Array | Int16Array | Uint16Array;

export interface QRange {
  qmin: number;
  qmax: number;
}

export interface RangeOptions {
  /** onnxruntime's reduce_range: one bit less (for hardware without VNNI, which saturates). */
  reduceRange?: boolean;
  /** Symmetric range around the zero point: int8 [-127, 127], uint8 [1, 255] around 128. */
  symmetric?: boolean;
}

const FULL: Record<QuantType, [number, number]> = {
  int4: [-8, 7], uint4: [0, 15], int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
};
// onnxruntime's ONNX_INT_TYPE_REDUCED_RANGE
const REDUCED: Record<QuantType, [number, number]> = {
  int4: [-4, 3], uint4: [0, 7], int8: [-64, 64], uint8: [0, 127], int16: [-16384, 16384], uint16: [0, 32767],
};

export function isSignedQuantType(t: QuantType): boolean {
  return t === 'int4' || t === 'int8' || t === 'int16';
}

export function quantTypeBits(t: QuantType): number {
  return t === 'int4' || t === 'uint4' ? 4 : t === 'int8' || t === 'uint8' ? 8 : 16;
}

/** The full value range of a type: where QuantizeLinear saturates. */
export function saturationRange(type: QuantType): QRange {
  const r = FULL[type];
  if (!r) throw new RangeError(`Unknown quantization type "${String(type)}"`);
  return { qmin: r[0], qmax: r[1] };
}

/** The integer range quantized values may occupy for a type and mode. */
export function qRange(type: QuantType, opts: RangeOptions = {}): QRange {
  const base = opts.reduceRange ? REDUCED[type] : FULL[type];
  if (!base) throw new RangeError(`Unknown quantization type "${String(type)}"`);
  let [qmin, qmax] = base;
  if (opts.symmetric) {
    if (isSignedQuantType(type)) {
      const h = Math.min(-qmin, qmax);
      qmin = -h;
      qmax = h;
    } else {
      const zp = Math.ceil(qmax / 2);
      const h = qmax - zp;
      qmin = zp - h;
      qmax = zp + h;
    }
  }
  return { qmin, qmax };
}

export interface ScaleZeroPointOptions extends RangeOptions {
  /** Minimum width of the float range (rmax - rmin), as onnxruntime's min_real_range. */
  minRealRange?: number;
}

export interface QuantizationParams {
  /** A float32 value. */
  scale: number;
  zeroPoint: number;
  type: QuantType;
}

/**
 * Scale and zero point for a float range [rmin, rmax] (onnxruntime's compute_scale_zp rules;
 * see kernels.scaleZeroPoint). Non-finite bounds are an error.
 */
export function computeScaleZeroPoint(
  rmin: number, rmax: number, type: QuantType, opts: ScaleZeroPointOptions = {},
): QuantizationParams {
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax)) {
    throw new RangeError(`Cannot quantize the range [${rmin}, ${rmax}]: both ends must be finite numbers`);
  }
  if (rmin > rmax) throw new RangeError(`Range minimum ${rmin} is above its maximum ${rmax}`);
  const { qmin, qmax } = qRange(type, opts);
  const [scale, zeroPoint] = scaleZeroPoint(rmin, rmax, qmin, qmax, !!opts.symmetric, opts.minRealRange ?? 0);
  return { scale, zeroPoint, type };
}

/** One value through QuantizeLinear (float32 arithmetic, round half to even, saturate). */
export function quantizeValue(x: number, scale: number, zeroPoint: number, type: QuantType): number {
  const { qmin, qmax } = saturationRange(type);
  const v = Math.fround(Math.fround(x) / Math.fround(scale));
  let q = Number.isNaN(v) ? zeroPoint : roundHalfEven(v) + zeroPoint;
  if (q < qmin) q = qmin; else if (q > qmax) q = qmax;
  return q;
}

/** One value through DequantizeLinear: float32(float32(q - zp) * scale). */
export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  return Math.fround(Math.fround(q - zeroPoint) * Math.fround(scale));
}

function checkData(data: ArrayLike<number>): Float32Array | Float64Array {
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  return Float32Array.from(data);
}

/** QuantizeLinear over a tensor with one scale / zero point. int4/uint4 come back unpacked. */
export function quantize(data: ArrayLike<number>, scale: number, zeroPoint: number, type: QuantType): QuantizedArray {
  checkScale(scale);
  const { qmin, qmax } = saturationRange(type);
  checkZeroPoint(zeroPoint, type);
  return quantizeKernel(checkData(data), [scale], [zeroPoint], 1, 1, qmin, qmax, type) as QuantizedArray;
}

/** DequantizeLinear over a tensor with one scale / zero point (float32 results). */
export function dequantize(q: ArrayLike<number>, scale: number, zeroPoint: number): Float32Array {
  const out = new Float32Array(q.length);
  const s = Math.fround(scale);
  for (let i = 0; i < q.length; i++) out[i] = Math.fround(q[i] - zeroPoint) * s;
  return out;
}

/** Splits a shape at `axis` into outer * channels * inner. Negative axes count from the end. */
export function axisLayout(shape: readonly number[], axis: number): { outer: number; channels: number; inner: number; axis: number } {
  const rank = shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`Axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= shape[i];
  let inner = 1;
  for (let i = a + 1; i < rank; i++) inner *= shape[i];
  return { outer, channels: shape[a], inner, axis: a };
}

export interface PerChannelParams {
  axis: number;
  /** float32 scales, one per channel. */
  scales: Float32Array;
  zeroPoints: Int32Array;
  /** The float range each channel's parameters were computed from (before widening to 0). */
  mins: Float64Array;
  maxs: Float64Array;
  type: QuantType;
}

/** Per-channel scales and zero points from each channel's min and max along `axis`. */
export function computePerChannelParams(
  data: ArrayLike<number>, shape: readonly number[], axis: number, type: QuantType, opts: ScaleZeroPointOptions = {},
): PerChannelParams {
  const arr = checkData(data);
  const lay = axisLayout(shape, axis);
  if (lay.outer * lay.channels * lay.inner !== arr.length) {
    throw new RangeError(`Shape [${shape.join(',')}] has ${lay.outer * lay.channels * lay.inner} elements but the data has ${arr.length}`);
  }
  const { min, max } = channelMinMaxKernel(arr, lay.channels, lay.inner);
  const scales = new Float32Array(lay.channels);
  const zeroPoints = new Int32Array(lay.channels);
  for (let c = 0; c < lay.channels; c++) {
    // an empty channel or one with only non-finite values quantizes as zeros
    const lo = Number.isFinite(min[c]) ? min[c] : 0;
    const hi = Number.isFinite(max[c]) ? max[c] : 0;
    const p = computeScaleZeroPoint(lo, hi, type, opts);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  return { axis: lay.axis, scales, zeroPoints, mins: min, maxs: max, type };
}

/** Per-tensor parameters from the data's own min and max. */
export function computeTensorParams(data: ArrayLike<number>, type: QuantType, opts: ScaleZeroPointOptions = {}): QuantizationParams & { min: number; max: number } {
  const arr = checkData(data);
  const { min, max } = channelMinMaxKernel(arr, 1, arr.length || 1);
  const lo = Number.isFinite(min[0]) ? min[0] : 0;
  const hi = Number.isFinite(max[0]) ? max[0] : 0;
  return { ...computeScaleZeroPoint(lo, hi, type, opts), min: lo, max: hi };
}

/** QuantizeLinear with per-channel scales / zero points along `axis` (ONNX `axis` attribute). */
export function quantizePerChannel(
  data: ArrayLike<number>, shape: readonly number[], axis: number,
  scales: ArrayLike<number>, zeroPoints: ArrayLike<number>, type: QuantType,
): QuantizedArray {
  const arr = checkData(data);
  const lay = axisLayout(shape, axis);
  if (lay.outer * lay.channels * lay.inner !== arr.length) {
    throw new RangeError(`Shape [${shape.join(',')}] does not match ${arr.length} elements`);
  }
  if (scales.length !== lay.channels || zeroPoints.length !== lay.channels) {
    throw new RangeError(`Axis ${axis} has ${lay.channels} channels but got ${scales.length} scales and ${zeroPoints.length} zero points`);
  }
  for (let c = 0; c < scales.length; c++) { checkScale(scales[c]); checkZeroPoint(zeroPoints[c], type); }
  const { qmin, qmax } = saturationRange(type);
  return quantizeKernel(arr, Float64Array.from(scales), Array.from(zeroPoints), lay.channels, lay.inner, qmin, qmax, type) as QuantizedArray;
}

/** DequantizeLinear with per-channel scales / zero points along `axis`. */
export function dequantizePerChannel(
  q: ArrayLike<number>, shape: readonly number[], axis: number, scales: ArrayLike<number>, zeroPoints: ArrayLike<number>,
): Float32Array {
  const lay = axisLayout(shape, axis);
  if (lay.outer * lay.channels * lay.inner !== q.length) throw new RangeError(`Shape [${shape.join(',')}] does not match ${q.length} elements`);
  if (scales.length !== lay.channels || zeroPoints.length !== lay.channels) throw new RangeError(`Axis ${axis} has ${lay.channels} channels`);
  const out = new Float32Array(q.length);
  let i = 0;
  for (let o = 0; o < lay.outer; o++) {
    for (let c = 0; c < lay.channels; c++) {
      const s = Math.fround(scales[c]);
      const z = zeroPoints[c];
      for (let j = 0; j < lay.inner; j++, i++) out[i] = Math.fround(q[i] - z) * s;
    }
  }
  return out;
}

export interface QuantizedBias {
  data: Int32Array;
  /** float32 bias scales (input scale x weight scale), one per weight scale. */
  scales: Float32Array;
  /** Number of values that did not fit in int32 and were saturated. */
  saturated: number;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * int32 bias for Conv / Gemm / MatMul: scale = inputScale x weightScale (float32 product, as
 * onnxruntime computes it), zero point 0. `weightScales` has one entry (per-tensor weights) or
 * one per output channel (the bias has one value per output channel).
 */
export function quantizeBias(bias: ArrayLike<number>, inputScale: number, weightScales: ArrayLike<number>): QuantizedBias {
  const n = bias.length;
  if (weightScales.length !== 1 && weightScales.length !== n) {
    throw new RangeError(`Bias has ${n} values but there are ${weightScales.length} weight scales`);
  }
  const scales = new Float32Array(weightScales.length);
  for (let c = 0; c < weightScales.length; c++) scales[c] = Math.fround(Math.fround(inputScale) * Math.fround(weightScales[c]));
  const data = new Int32Array(n);
  let saturated = 0;
  for (let i = 0; i < n; i++) {
    const s = scales.length === 1 ? scales[0] : scales[i];
    const v = s > 0 ? Math.fround(Math.fround(bias[i]) / s) : 0;
    let q = Number.isNaN(v) ? 0 : roundHalfEven(v);
    if (q < INT32_MIN) { q = INT32_MIN; saturated++; } else if (q > INT32_MAX) { q = INT32_MAX; saturated++; }
    data[i] = q;
  }
  return { data, scales, saturated };
}

/**
 * The smallest weight scale for which bias / (inputScale x weightScale) fits in int32 with a
 * margin; a rewriter raises a tiny weight scale to this (onnxruntime does the same for tiny
 * weights with large biases).
 */
export function minWeightScaleForBias(biasAbsMax: number, inputScale: number): number {
  if (!(biasAbsMax > 0) || !(inputScale > 0)) return 0;
  return biasAbsMax / (inputScale * (INT32_MAX / 2));
}

/**
 * Packs 4-bit values two per byte, the first in the low nibble, as ONNX stores int4 / uint4
 * (an odd count leaves the last high nibble 0). Values are taken modulo 16 (two's complement).
 */
export function packInt4(values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const out = new Uint8Array((n + 1) >> 1);
  for (let i = 0; i < n; i += 2) {
    const lo = values[i] & 0x0f;
    const hi = i + 1 < n ? values[i + 1] & 0x0f : 0;
    out[i >> 1] = lo | (hi << 4);
  }
  return out;
}

/** Inverse of packInt4: `count` values, sign-extended when `signed`. */
export function unpackInt4(bytes: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  if (bytes.length < (count + 1) >> 1) throw new RangeError(`${count} int4 values need ${(count + 1) >> 1} bytes, got ${bytes.length}`);
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let v = (bytes[i >> 1] >> ((i & 1) * 4)) & 0x0f;
    if (signed && v > 7) v -= 16;
    out[i] = v;
  }
  return out;
}

/**
 * Raw little-endian bytes of quantized values as an ONNX initializer stores them
 * (int4/uint4 packed, 16-bit little-endian).
 */
export function quantizedToBytes(q: QuantizedArray | Int32Array, type: QuantType | 'int32'): Uint8Array {
  if (type === 'int4' || type === 'uint4') return packInt4(q);
  const bytes = new Uint8Array(q.buffer, q.byteOffset, q.byteLength);
  if (littleEndianHost || q.BYTES_PER_ELEMENT === 1) return bytes.slice();
  const out = new Uint8Array(bytes.length);
  const step = q.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += step) for (let b = 0; b < step; b++) out[i + b] = bytes[i + step - 1 - b];
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Mean squared error between a float tensor and its quantize-dequantize round trip. */
export function quantizationMse(data: ArrayLike<number>, scale: number, zeroPoint: number, type: QuantType): number {
  const q = quantize(data, scale, zeroPoint, type);
  let e = 0;
  for (let i = 0; i < q.length; i++) {
    const d = data[i] - dequantizeValue(q[i], scale, zeroPoint);
    e += d * d;
  }
  return q.length ? e / q.length : 0;
}

export { allocQuantized };

function checkScale(scale: number): void {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`Scale must be a positive finite number, got ${scale}`);
}

function checkZeroPoint(zp: number, type: QuantType): void {
  const { qmin, qmax } = saturationRange(type);
  if (!Number.isInteger(zp) || zp < qmin || zp > qmax) {
    throw new RangeError(`Zero point ${zp} is not a ${type} value (${qmin}..${qmax})`);
  }
}
