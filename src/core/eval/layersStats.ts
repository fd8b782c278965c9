/**
 * Streaming statistics for per-layer error: pure accumulators that take one sample's tensor at a
 * time and keep only sums, so a run over thousands of samples never holds activations. Also the
 * dequantization of stored weights, for the weight quantization error.
 */
import { sqnrDb } from './metrics';

export interface ErrorSummary {
  /** 10 log10(sum f^2 / sum (f - q)^2) over every value seen (Infinity when identical). */
  sqnrDb: number;
  mse: number;
  /** Cosine similarity of all values seen taken as one vector. */
  cosine: number;
  maxAbsError: number;
  values: number;
}

/** Float-vs-quantized error sums over every value added. */
export class ErrorAccumulator {
  private n = 0;
  private ff = 0;
  private qq = 0;
  private fq = 0;
  private noise = 0;
  private max = 0;

  /** Adds one pair of equally long tensors (reference `f`, quantized `q`). */
  add(f: ArrayLike<number>, q: ArrayLike<number>): void {
    if (f.length !== q.length) throw new RangeError(`cannot compare ${f.length} values with ${q.length}`);
    let ff = 0, qq = 0, fq = 0, noise = 0, max = this.max;
    for (let i = 0; i < f.length; i++) {
      const a = f[i];
      const b = q[i];
      const d = a - b;
      ff += a * a;
      qq += b * b;
      fq += a * b;
      noise += d * d;
      const ad = Math.abs(d);
      if (!(ad <= max) && max === max) max = ad; // a NaN difference sticks
    }
    this.n += f.length;
    this.ff += ff;
    this.qq += qq;
    this.fq += fq;
    this.noise += noise;
    this.max = max;
  }

  result(): ErrorSummary {
    const cos = this.ff === 0 && this.qq === 0 ? 1 : this.ff === 0 || this.qq === 0 ? 0 : this.fq / Math.sqrt(this.ff * this.qq);
    return { sqnrDb: sqnrDb(this.ff, this.noise), mse: this.n ? this.noise / this.n : NaN, cosine: cos, maxAbsError: this.max, values: this.n };
  }
}

/** An activation quantizer: real = scale * (q - zeroPoint), q clipped to [qmin, qmax]. */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

/** The integer range of a quantized type. */
export function typeRange(dtype: string): { qmin: number; qmax: number } | undefined {
  switch (dtype) {
    case 'int8': return { qmin: -128, qmax: 127 };
    case 'uint8': return { qmin: 0, qmax: 255 };
    case 'int16': return { qmin: -32768, qmax: 32767 };
    case 'uint16': return { qmin: 0, qmax: 65535 };
    case 'int4': return { qmin: -8, qmax: 7 };
    case 'uint4': return { qmin: 0, qmax: 15 };
    default: return undefined;
  }
}

/** The real interval a quantizer represents: [scale (qmin - zp), scale (qmax - zp)]. */
export function representableRange(q: ActivationQuant): { low: number; high: number } {
  return { low: q.scale * (q.qmin - q.zeroPoint), high: q.scale * (q.qmax - q.zeroPoint) };
}

/**
 * Counts values the quantizer clips: those whose rounded level x / scale + zp falls outside
 * [qmin, qmax]. A value less than half a step beyond the range rounds onto its edge and is not
 * clipped; exactly half a step beyond is a tie, which QuantizeLinear rounds to even.
 */
export class SaturationAccumulator {
  private total = 0;
  private low = 0;
  private high = 0;
  constructor(readonly quant: ActivationQuant) {}

  add(values: ArrayLike<number>): void {
    const { scale, zeroPoint, qmin, qmax } = this.quant;
    let lo = 0, hi = 0;
    for (let i = 0; i < values.length; i++) {
      const level = roundHalfEven(values[i] / scale) + zeroPoint;
      if (level < qmin) lo++;
      else if (level > qmax) hi++;
    }
    this.total += values.length;
    this.low += lo;
    this.high += hi;
  }

  result(): { rate: number; below: number; above: number; values: number } {
    return { rate: this.total ? (this.low + this.high) / this.total : NaN, below: this.low, above: this.high, values: this.total };
  }
}

/** Rounding as QuantizeLinear does it (half to even). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Dequantizes stored integers: (q - zp) * scale, per tensor (one scale) or per channel along
 * `axis` of `shape` (one scale and zero point per channel). Missing zero points are 0.
 */
export function dequantize(q: ArrayLike<number>, shape: readonly number[], scales: ArrayLike<number>, zeroPoints: ArrayLike<number> | undefined, axis?: number): Float64Array {
  const out = new Float64Array(q.length);
  if (scales.length <= 1) {
    const s = scales[0];
    const z = zeroPoints?.[0] ?? 0;
    for (let i = 0; i < q.length; i++) out[i] = (q[i] - z) * s;
    return out;
  }
  const a = axis === undefined ? 0 : axis < 0 ? axis + shape.length : axis;
  if (shape[a] !== scales.length) throw new RangeError(`${scales.length} scales for axis ${a} of size ${shape[a]}`);
  const inner = shape.slice(a + 1).reduce((x, y) => x * y, 1);
  const channels = scales.length;
  for (let i = 0; i < q.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = (q[i] - (zeroPoints?.[c] ?? 0)) * scales[c];
  }
  return out;
}
