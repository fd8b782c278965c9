/**
 * Bilinear resize as PIL (Pillow) does it for 8-bit images, which is what torchvision's
 * `Resize` does to a PIL image and so what "standard ImageNet pre-processing" means:
 *
 * - a triangle filter whose support grows with the downscale factor (support = scale when
 *   shrinking, 1 when enlarging), so shrinking averages every source pixel it covers
 *   (antialiasing) instead of sampling two;
 * - per output pixel, the weights of the source pixels inside the image are normalised to sum 1
 *   (no edge clamping);
 * - weights in 22-bit fixed point, sums rounded half up and clamped to 0..255;
 * - two passes, horizontal then vertical, each rounded to 8 bits; an axis whose size does not
 *   change is not resampled.
 *
 * Pixel values that are not integers (a grayscale plane) go through the same arithmetic.
 */

/** Fixed-point bits of PIL's 8-bit resampling weights (32 - 8 - 2). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output index: the first source index, the number of taps, and the fixed-point weights. */
export interface ResampleTaps {
  first: Int32Array;
  count: Int32Array;
  /** `width` weights per output index (unused ones zero). */
  weights: Int32Array;
  width: number;
}

function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** The taps that map `inSize` source pixels to `outSize` output pixels (PIL's precompute_coeffs). */
export function bilinearTaps(inSize: number, outSize: number): ResampleTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(1, scale);
  const support = filterScale;
  const width = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * width);
  const k = new Float64Array(width);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // C's (int) cast truncates toward zero; a negative start is clamped to 0 anyway
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = triangle((x + xmin - center + 0.5) / filterScale);
      sum += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[o * width + x] = Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
    }
    first[o] = xmin;
    count[o] = xmax;
  }
  return { first, count, weights, width };
}

function clip8(acc: number): number {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** One plane of `sw` x `sh` values resized to `dw` x `dh`, values rounded to 0..255 as PIL does. */
export function resizeBilinearPil(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  let plane = src;
  let w = sw;
  if (dw !== sw) {
    const t = bilinearTaps(sw, dw);
    const out = new Float32Array(dw * sh);
    for (let y = 0; y < sh; y++) {
      const row = y * sw;
      for (let x = 0; x < dw; x++) {
        const base = x * t.width;
        const start = row + t.first[x];
        let acc = HALF;
        for (let i = 0; i < t.count[x]; i++) acc += plane[start + i] * t.weights[base + i];
        out[y * dw + x] = clip8(acc);
      }
    }
    plane = out;
    w = dw;
  }
  if (dh !== sh) {
    const t = bilinearTaps(sh, dh);
    const out = new Float32Array(w * dh);
    for (let y = 0; y < dh; y++) {
      const base = y * t.width;
      const start = t.first[y];
      for (let x = 0; x < w; x++) {
        let acc = HALF;
        for (let i = 0; i < t.count[y]; i++) acc += plane[(start + i) * w + x] * t.weights[base + i];
        out[y * w + x] = clip8(acc);
      }
    }
    plane = out;
  }
  return plane === src ? src.slice() : plane;
}
