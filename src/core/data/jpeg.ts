/**
 * JPEG decoding close to libjpeg-turbo's defaults (what PIL, and so torchvision, decode with):
 * jpeg-js decodes the samples, and for YCbCr images with 4:4:4, 4:2:2 or 4:2:0 chroma this
 * module does the rest as libjpeg does: "fancy" (triangle) chroma upsampling and its fixed-point
 * YCbCr -> RGB conversion, rounded. jpeg-js alone upsamples chroma by repetition and truncates
 * its floating-point conversion, which leaves colour images about half a grey level darker on
 * average and up to tens of levels off at chroma edges. What remains is jpeg-js's IDCT, whose
 * rounding differs from libjpeg's by about 0.1 level on average (at most a few).
 *
 * Other JPEGs (grayscale, Adobe-marked RGB / CMYK, other sampling factors) are left to jpeg-js.
 * EXIF orientation is not applied, as PIL's and torchvision's loaders do not apply it.
 */
import * as jpeg from 'jpeg-js';
import type { RgbaImage } from './image';

interface FrameInfo {
  /** Sampling factors per component. */
  factors: { h: number; v: number }[];
  adobe: boolean;
}

/** The frame's sampling factors and whether an Adobe marker is present, from the markers before the first scan. */
export function jpegFrameInfo(b: Uint8Array): FrameInfo | null {
  let adobe = false;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const m = b[i + 1];
    if (m === 0xff) { i++; continue; }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) { i += 2; continue; }
    const len = (b[i + 2] << 8) | b[i + 3];
    if (m === 0xee && len >= 7 && String.fromCharCode(...b.subarray(i + 4, i + 9)) === 'Adobe') adobe = true;
    // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc)
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      const n = b[i + 9] ?? 0;
      const factors: { h: number; v: number }[] = [];
      for (let k = 0; k < n; k++) {
        const hv = b[i + 11 + 3 * k] ?? 0x11;
        factors.push({ h: hv >> 4, v: hv & 15 });
      }
      return { factors, adobe };
    }
    if (m === 0xda) return null;
    i += 2 + len;
  }
  return null;
}

// libjpeg's jdcolor.c tables: 16-bit fixed point, R and B rounded, G's half added once (its sums
// fit in 32 bits, so >> 16 is libjpeg's arithmetic right shift)
const SCALE = 65536;
const fix = (x: number) => Math.floor(x * SCALE + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = Math.floor((fix(1.402) * x + SCALE / 2) / SCALE);
  CB_B[i] = Math.floor((fix(1.772) * x + SCALE / 2) / SCALE);
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + SCALE / 2;
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** libjpeg's YCbCr -> RGB of one pixel. */
export function ycbcrToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [clamp8(y + CR_R[cr]), clamp8(y + ((CB_G[cb] + CR_G[cr]) >> 16)), clamp8(y + CB_B[cb])];
}

/**
 * libjpeg's fancy upsampling of a `w` x `h` chroma plane by 2 horizontally (h2v1) or by 2 both
 * ways (h2v2): a triangle filter, 3/4 nearer sample + 1/4 further one per axis, with its rounding
 * biases; edge samples are repeated.
 */
export function fancyUpsample(p: Uint8Array, w: number, h: number, vertical: boolean): Uint8Array {
  const ow = 2 * w;
  const oh = vertical ? 2 * h : h;
  const out = new Uint8Array(ow * oh);
  const at = (x: number, y: number) => p[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))];
  for (let y = 0; y < h; y++) {
    if (!vertical) {
      for (let x = 0; x < w; x++) {
        const v = at(x, y) * 3;
        out[y * ow + 2 * x] = x === 0 ? at(0, y) : (v + at(x - 1, y) + 1) >> 2;
        out[y * ow + 2 * x + 1] = x === w - 1 ? at(x, y) : (v + at(x + 1, y) + 2) >> 2;
      }
      continue;
    }
    for (let half = 0; half < 2; half++) {
      const other = half === 0 ? y - 1 : y + 1;
      const col = (x: number) => at(x, y) * 3 + at(x, other);
      const row = (2 * y + half) * ow;
      for (let x = 0; x < w; x++) {
        const t = col(x);
        out[row + 2 * x] = x === 0 ? (t * 4 + 8) >> 4 : (t * 3 + col(x - 1) + 8) >> 4;
        out[row + 2 * x + 1] = x === w - 1 ? (t * 4 + 7) >> 4 : (t * 3 + col(x + 1) + 7) >> 4;
      }
    }
  }
  return out;
}

/** Whether the frame is YCbCr with luma sampled 1x1, 2x1 or 2x2 and both chroma planes 1x1. */
function libjpegPath(info: FrameInfo | null): { h: number; v: number } | null {
  if (!info || info.adobe || info.factors.length !== 3) return null;
  const [y, cb, cr] = info.factors;
  if (cb.h !== 1 || cb.v !== 1 || cr.h !== 1 || cr.v !== 1) return null;
  const ok = (y.h === 1 && y.v === 1) || (y.h === 2 && y.v === 1) || (y.h === 2 && y.v === 2);
  return ok ? y : null;
}

/** Decodes a JPEG to RGBA (see the module comment for how close to libjpeg-turbo). */
export function decodeJpeg(bytes: Uint8Array, maxPixels: number): RgbaImage {
  const opts = { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 2048 } as const;
  const luma = libjpegPath(jpegFrameInfo(bytes));
  if (!luma) {
    const img = jpeg.decode(bytes, opts);
    return { width: img.width, height: img.height, data: img.data };
  }
  // without the colour transform jpeg-js returns Y, Cb, Cr, chroma repeated per luma block
  const raw = jpeg.decode(bytes, { ...opts, colorTransform: false });
  const { width: W, height: H } = raw;
  const cw = Math.ceil(W / luma.h);
  const ch = Math.ceil(H / luma.v);
  const cb = new Uint8Array(cw * ch);
  const cr = new Uint8Array(cw * ch);
  for (let j = 0; j < ch; j++) {
    for (let i = 0; i < cw; i++) {
      const o = 4 * (j * luma.v * W + i * luma.h);
      cb[j * cw + i] = raw.data[o + 1];
      cr[j * cw + i] = raw.data[o + 2];
    }
  }
  const up = (p: Uint8Array) => (luma.h === 1 ? p : fancyUpsample(p, cw, ch, luma.v === 2));
  const ub = up(cb);
  const ur = up(cr);
  const uw = cw * luma.h;
  // in place: a pixel's RGB needs only its own Y and the chroma planes taken out above
  const out = raw.data;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = 4 * (y * W + x);
      const l = out[o];
      const cbv = ub[y * uw + x];
      const crv = ur[y * uw + x];
      out[o] = clamp8(l + CR_R[crv]);
      out[o + 1] = clamp8(l + ((CB_G[cbv] + CR_G[crv]) >> 16));
      out[o + 2] = clamp8(l + CB_B[cbv]);
      out[o + 3] = 255;
    }
  }
  return { width: W, height: H, data: out };
}
