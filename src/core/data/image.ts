/**
 * Images (JPEG via jpeg-js with libjpeg's chroma upsampling and colour conversion, see jpeg.ts;
 * PNG via pngjs) with declared pre-processing, in this order:
 *   colour (rgb / bgr / grayscale) -> resize (bilinear) -> centre crop -> scale (0-1 or 0-255)
 *   -> (x - mean[c]) / std[c] -> layout NCHW or NHWC with a leading batch dim of 1.
 * Resize is PIL's bilinear (antialiased when shrinking, rounded to 8 bits; see resample.ts), as
 * torchvision's Resize on a PIL image; the centre crop offsets are torchvision's
 * round((size - crop) / 2), half to even. Grayscale is 0.299 R + 0.587 G + 0.114 B (ITU-R
 * BT.601), unrounded, before the resize.
 * The alpha channel is ignored.
 */
import { PNG } from 'pngjs';
import type { Dim } from '../model';
import { readWholeFile } from './bytes';
import { DataError } from './errors';
import { singleArrayRecord, type DataRecord, type FormatAdapter } from './format';
import { decodeJpeg } from './jpeg';
import { resizeBilinearPil } from './resample';
import { dimsText, elementCountOf, type InputSpec, type TensorArray } from './tensor';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major. */
  data: Uint8Array;
}

export type Layout = 'NCHW' | 'NHWC';

export interface ImagePreprocess {
  /** Resize to an exact size, or so the shorter side has this length (aspect kept, long side truncated). */
  resize?: { width: number; height: number } | { shorterSide: number };
  /** Centre crop (after resize). */
  crop?: { width: number; height: number };
  /** Default: from the input's shape (channels of 1 or 3 at dim 1 -> NCHW, at dim 3 -> NHWC), else NCHW. */
  layout?: Layout;
  /** Default: rgb, or grayscale when the input has one channel. */
  color?: 'rgb' | 'bgr' | 'grayscale';
  /** '0-1' divides by 255 (default), '0-255' keeps pixel values. */
  scale?: '0-1' | '0-255';
  /** Per-channel (or one for all) mean and std in the scaled units: x = (x - mean) / std. */
  mean?: number[];
  std?: number[];
}

export interface ResolvedImagePreprocess {
  resize?: { width: number; height: number } | { shorterSide: number };
  crop?: { width: number; height: number };
  layout: Layout;
  color: 'rgb' | 'bgr' | 'grayscale';
  channels: number;
  scale: '0-1' | '0-255';
  mean: number[];
  std: number[];
  /** Output height and width, when known before decoding. */
  outHeight?: number;
  outWidth?: number;
}

export function isImageBytes(b: Uint8Array): 'jpeg' | 'png' | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  return null;
}

/** Decodes JPEG or PNG to RGBA. `maxPixels` guards against decompression bombs. */
export function decodeImage(bytes: Uint8Array, where = 'image', maxPixels = 100_000_000): RgbaImage {
  const kind = isImageBytes(bytes);
  try {
    if (kind === 'jpeg') {
      return decodeJpeg(bytes, maxPixels);
    }
    if (kind === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (png.width * png.height > maxPixels) throw new Error(`${png.width}x${png.height} is too many pixels`);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
  } catch (e) {
    throw new DataError('bad-file', `${where} could not be decoded as ${kind?.toUpperCase()}: ${(e as Error).message}`, { file: where, cause: e });
  }
  throw new DataError('bad-file', `${where} is neither a JPEG nor a PNG image`, { file: where });
}

function channelDims(shape: readonly Dim[] | null): { layout?: Layout; c?: number; h?: number; w?: number } {
  if (!shape) return {};
  const s = shape.length === 3 ? [1, ...shape] : shape;
  if (s.length !== 4) return {};
  const num = (d: Dim) => (typeof d === 'number' ? d : undefined);
  const c1 = num(s[1]);
  const c3 = num(s[3]);
  const small = (d: number | undefined) => d === 1 || d === 3;
  if (small(c1) && !small(c3)) return { layout: 'NCHW', c: c1, h: num(s[2]), w: num(s[3]) };
  if (small(c3) && !small(c1)) return { layout: 'NHWC', c: c3, h: num(s[1]), w: num(s[2]) };
  return {};
}

/** Fills in the pre-processing from the model input it feeds. */
export function resolveImagePreprocess(input: InputSpec, pre: ImagePreprocess = {}): ResolvedImagePreprocess {
  const guess = channelDims(input.shape);
  const layout = pre.layout ?? guess.layout ?? 'NCHW';
  let c: number | undefined;
  let h: number | undefined;
  let w: number | undefined;
  const s = input.shape ? (input.shape.length === 3 ? [1, ...input.shape] : input.shape) : null;
  if (s && s.length === 4) {
    const num = (d: Dim) => (typeof d === 'number' ? d : undefined);
    if (layout === 'NCHW') { c = num(s[1]); h = num(s[2]); w = num(s[3]); } else { h = num(s[1]); w = num(s[2]); c = num(s[3]); }
  } else if (s) {
    throw new DataError('shape-mismatch', `Input "${input.name}" has shape ${dimsText(s)}, which is not an image (rank 3 or 4 expected)`, { input: input.name, expected: dimsText(s) });
  }
  const color = pre.color ?? (c === 1 ? 'grayscale' : 'rgb');
  const channels = color === 'grayscale' ? 1 : 3;
  if (c !== undefined && c !== channels) {
    throw new DataError('shape-mismatch', `Input "${input.name}" ${dimsText(input.shape)} has ${c} channels but the images are converted to ${color} (${channels})`, { input: input.name, expected: dimsText(input.shape) });
  }
  const expand = (v: number[] | undefined, dflt: number, what: string): number[] => {
    if (!v) return new Array(channels).fill(dflt);
    if (v.length === 1) return new Array(channels).fill(v[0]);
    if (v.length !== channels) throw new DataError('unsupported', `Image ${what} has ${v.length} values but the images have ${channels} channels`, { input: input.name });
    return v.slice();
  };
  const mean = expand(pre.mean, 0, 'mean');
  const std = expand(pre.std, 1, 'std');
  if (std.some((x) => !(x !== 0 && Number.isFinite(x)))) throw new DataError('unsupported', 'Image std values must be non-zero numbers', { input: input.name });
  const checkSize = (o: { width: number; height: number }, what: string) => {
    if (!(Number.isInteger(o.width) && o.width > 0 && Number.isInteger(o.height) && o.height > 0)) {
      throw new DataError('unsupported', `Image ${what} size must be positive integers, got ${o.width}x${o.height}`);
    }
  };
  let resize = pre.resize;
  if (resize && 'shorterSide' in resize) {
    if (!(Number.isInteger(resize.shorterSide) && resize.shorterSide > 0)) throw new DataError('unsupported', `Image resize shorterSide must be a positive integer, got ${resize.shorterSide}`);
  } else if (resize) checkSize(resize, 'resize');
  if (pre.crop) checkSize(pre.crop, 'crop');
  if (!resize && !pre.crop) {
    if (h === undefined || w === undefined) {
      throw new DataError('unsupported', `Input "${input.name}" ${dimsText(input.shape)} has no fixed height and width: declare a resize or crop for the images`, { input: input.name });
    }
    resize = { width: w, height: h };
  }
  let outHeight: number | undefined;
  let outWidth: number | undefined;
  if (pre.crop) { outHeight = pre.crop.height; outWidth = pre.crop.width; } else if (resize && !('shorterSide' in resize)) { outHeight = resize.height; outWidth = resize.width; }
  if (outHeight !== undefined && ((h !== undefined && h !== outHeight) || (w !== undefined && w !== outWidth))) {
    const got: number[] = layout === 'NCHW' ? [1, channels, outHeight, outWidth!] : [1, outHeight, outWidth!, channels];
    throw new DataError('shape-mismatch', `Input "${input.name}" expects ${dimsText(input.shape)} but the image pre-processing produces ${dimsText(got)}`, { input: input.name, expected: dimsText(input.shape), actual: dimsText(got) });
  }
  return { resize, crop: pre.crop, layout, color, channels, scale: pre.scale ?? '0-1', mean, std, outHeight, outWidth };
}

/** The pre-processing in words, for messages: "resize 224x224, RGB, NCHW, 0-1, mean 0, std 1". */
export function describeImagePreprocess(p: ResolvedImagePreprocess): string {
  const parts: string[] = [];
  if (p.resize) parts.push('shorterSide' in p.resize ? `resize shorter side to ${p.resize.shorterSide}` : `resize ${p.resize.width}x${p.resize.height}`);
  if (p.crop) parts.push(`centre crop ${p.crop.width}x${p.crop.height}`);
  parts.push(p.color.toUpperCase(), p.layout, `values ${p.scale}`);
  const list = (v: number[]) => (v.every((x) => x === v[0]) ? String(v[0]) : `[${v.join(', ')}]`);
  parts.push(`mean ${list(p.mean)}`, `std ${list(p.std)}`);
  return parts.join(', ');
}

/** Separate channel planes (0..255 floats) in the requested colour order. */
export function toPlanes(img: RgbaImage, color: 'rgb' | 'bgr' | 'grayscale'): Float32Array[] {
  const n = img.width * img.height;
  const d = img.data;
  if (color === 'grayscale') {
    const g = new Float32Array(n);
    for (let i = 0; i < n; i++) g[i] = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
    return [g];
  }
  const r = new Float32Array(n);
  const gg = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) { r[i] = d[4 * i]; gg[i] = d[4 * i + 1]; b[i] = d[4 * i + 2]; }
  return color === 'rgb' ? [r, gg, b] : [b, gg, r];
}

function roundHalfEvenInt(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output size of a shorter-side resize (torchvision's rule: the long side is truncated). */
export function shorterSideSize(width: number, height: number, shorter: number): { width: number; height: number } {
  if (width <= height) return { width: shorter, height: Math.floor((shorter * height) / width) };
  return { width: Math.floor((shorter * width) / height), height: shorter };
}

/**
 * Runs the pre-processing on a decoded image. Returns float32 values in the layout, with shape
 * [1, C, H, W] or [1, H, W, C].
 */
export function preprocessImage(img: RgbaImage, p: ResolvedImagePreprocess, where = 'image'): { shape: number[]; data: Float32Array } {
  let planes = toPlanes(img, p.color);
  let w = img.width;
  let h = img.height;
  if (p.resize) {
    const size = 'shorterSide' in p.resize ? shorterSideSize(w, h, p.resize.shorterSide) : p.resize;
    planes = planes.map((pl) => resizeBilinearPil(pl, w, h, size.width, size.height));
    w = size.width;
    h = size.height;
  }
  if (p.crop) {
    const { width: cw, height: ch } = p.crop;
    if (cw > w || ch > h) {
      throw new DataError('shape-mismatch', `${where}: a ${cw}x${ch} centre crop does not fit in the ${w}x${h} image (after resize)`, { file: where });
    }
    const top = roundHalfEvenInt((h - ch) / 2);
    const left = roundHalfEvenInt((w - cw) / 2);
    planes = planes.map((pl) => {
      const out = new Float32Array(cw * ch);
      for (let y = 0; y < ch; y++) out.set(pl.subarray((top + y) * w + left, (top + y) * w + left + cw), y * cw);
      return out;
    });
    w = cw;
    h = ch;
  }
  const C = planes.length;
  const div = p.scale === '0-1' ? 255 : 1;
  const out = new Float32Array(C * h * w);
  for (let c = 0; c < C; c++) {
    const pl = planes[c];
    const m = p.mean[c];
    const s = p.std[c];
    for (let i = 0; i < h * w; i++) {
      const v = (pl[i] / div - m) / s;
      if (p.layout === 'NCHW') out[c * h * w + i] = v;
      else out[i * C + c] = v;
    }
  }
  return { shape: p.layout === 'NCHW' ? [1, C, h, w] : [1, h, w, C], data: out };
}

/**
 * A JPEG or PNG file: one sample for the single input, pre-processed as `ctx.imagePre` says.
 * When the output size is known in advance the image is decoded only when its sample is read.
 */
export const imageFormat: FormatAdapter = {
  name: 'image',
  fileName: /\.(jpe?g|png)$/i,
  sniff: (b) => isImageBytes(b) !== null,
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    const pre = ctx.imagePre!;
    const input = ctx.opts.inputs[0];
    const toU8 = input.dtype === 'uint8';
    if (toU8 && (pre.scale !== '0-255' || pre.mean.some((m) => m !== 0) || pre.std.some((s) => s !== 1))) {
      throw new DataError('dtype-mismatch', `Input "${input.name}" is uint8: images feed it as 0-255 pixels, without mean/std (set image.scale to "0-255")`, { input: input.name });
    }
    const decode = async () => preprocessImage(decodeImage(await readWholeFile(file, ctx.maxBytes), file), pre, file);
    const convert = (d: Float32Array): TensorArray => {
      if (!toU8) return d;
      const out = new Uint8Array(d.length);
      for (let i = 0; i < d.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(d[i])));
      return out;
    };
    let shape: number[];
    let eager: TensorArray | undefined;
    if (pre.outHeight !== undefined) {
      shape = pre.layout === 'NCHW' ? [1, pre.channels, pre.outHeight, pre.outWidth!] : [1, pre.outHeight, pre.outWidth!, pre.channels];
    } else {
      const r = await decode();
      shape = r.shape;
      eager = convert(r.data);
    }
    yield singleArrayRecord(file, {
      dtype: toU8 ? 'uint8' : 'float32', shape, length: elementCountOf(shape), where: file,
      read: async () => eager ?? convert((await decode()).data),
    });
  },
};
