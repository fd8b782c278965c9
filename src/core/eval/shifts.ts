/**
 * Input shifts for robustness testing, as small pure functions on float tensors: seeded Gaussian
 * noise, brightness (add) and scale (multiply), and a separable Gaussian blur for images. A level
 * of 0 is always the identity, so one baseline serves every kind.
 */
import { mulberry32 } from '../random';

export type ShiftKind = 'noise' | 'brightness' | 'scale' | 'blur';
export const SHIFT_KINDS: readonly ShiftKind[] = ['noise', 'brightness', 'scale', 'blur'];

/** What a level means, per kind (the CLI help and the report say the same). */
export const SHIFT_UNITS: Record<ShiftKind, string> = {
  noise: 'Gaussian noise, sigma = level x the data std',
  brightness: 'x + level x the data std',
  scale: 'x * (1 + level)',
  blur: 'Gaussian blur, sigma = level pixels (images)',
};

export const DEFAULT_LEVELS: Record<ShiftKind, number[]> = {
  noise: [0.05, 0.1, 0.2, 0.4],
  brightness: [-0.5, -0.25, 0.25, 0.5],
  scale: [-0.5, -0.2, 0.2, 0.5],
  blur: [0.5, 1, 2],
};

export interface ShiftSpec {
  kind: ShiftKind;
  levels: number[];
}

export class ShiftSpecError extends Error {}

/** Whether a level is meaningful for the kind (negative sigmas and non-positive factors are not). */
function levelProblem(kind: ShiftKind, l: number): string | undefined {
  if (!Number.isFinite(l)) return 'is not a number';
  if ((kind === 'noise' || kind === 'blur') && l < 0) return 'is negative (it is a sigma)';
  if (kind === 'scale' && l <= -1) return 'makes the factor 1 + level zero or negative';
  return undefined;
}

/**
 * Parses `noise=0.05,0.1;blur=1,2 brightness` (entries separated by ';' or spaces; a kind without
 * levels takes its defaults; a bare list `0.1,0.2` applies to every kind). Throws ShiftSpecError
 * with one message naming what is wrong.
 */
export function parseShiftLevels(text: string): ShiftSpec[] {
  const entries = text.split(/[;\s]+/).filter(Boolean);
  if (!entries.length) throw new ShiftSpecError('--levels is empty; give e.g. noise=0.1,0.2;blur=1');
  const out: ShiftSpec[] = [];
  const numbers = (s: string, kinds: readonly ShiftKind[]): number[] => {
    const xs = s.split(',').map((v) => v.trim());
    return xs.map((v) => {
      const n = v === '' ? NaN : Number(v);
      for (const k of kinds) {
        const why = levelProblem(k, n);
        if (why) throw new ShiftSpecError(`Level '${v}' of ${k} ${why} (in '${s}').`);
      }
      return n;
    });
  };
  for (const e of entries) {
    const [name, list] = e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : /^[a-z]/i.test(e) ? [e, undefined] : [undefined, e];
    if (name === undefined) {
      const levels = numbers(list!, SHIFT_KINDS);
      for (const k of SHIFT_KINDS) out.push({ kind: k, levels });
      continue;
    }
    const kind = name.toLowerCase() as ShiftKind;
    if (!SHIFT_KINDS.includes(kind)) throw new ShiftSpecError(`Unknown shift kind '${name}'; the kinds are ${SHIFT_KINDS.join(', ')}.`);
    if (out.some((s) => s.kind === kind)) throw new ShiftSpecError(`Shift kind '${kind}' is given twice.`);
    out.push({ kind, levels: list === undefined ? [...DEFAULT_LEVELS[kind]] : numbers(list, [kind]) });
  }
  return out;
}

/** Standard normal draws from a uniform source (Box-Muller, both values of each pair used). */
export function normalSource(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) { const s = spare; spare = undefined; return s; }
    const u1 = rand() || 2 ** -32; // log(0) would be -Infinity
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/**
 * The noise seed of one input of one sample: the same draw at every level (only sigma changes),
 * so differences between levels come from the level, not from a new draw.
 */
export function noiseSeed(seed: number, sample: number, input: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(sample + 1, 0x85ebca6b) ^ Math.imul(input + 1, 0xc2b2ae35)) >>> 0;
}

/** x + sigma * z, z standard normal from a mulberry32 stream seeded with `seed`. */
export function addNoise(x: Float32Array, sigma: number, seed: number): Float32Array {
  const z = normalSource(mulberry32(seed));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + sigma * z();
  return out;
}

/** x + add. */
export function brightness(x: Float32Array, add: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + add;
  return out;
}

/** x * factor. */
export function scaleValues(x: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * factor;
  return out;
}

/** Normalised 1-D Gaussian kernel of radius ceil(3 sigma) (sigma 0: [1]). */
export function gaussianKernel(sigma: number): Float64Array {
  if (!(sigma > 0)) return Float64Array.of(1);
  const r = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

export type ImageLayout = 'NCHW' | 'NHWC';

/** The layout of a 4-D image tensor: channels (1, 3 or 4) last means NHWC, otherwise NCHW. */
export function imageLayout(shape: readonly number[]): ImageLayout | undefined {
  if (shape.length !== 4) return undefined;
  const few = (c: number): boolean => c === 1 || c === 3 || c === 4;
  return few(shape[3]) && !few(shape[1]) ? 'NHWC' : 'NCHW';
}

/**
 * Blurs every channel plane of a 4-D image tensor with `kernel` along W, then along H (separable);
 * pixels past the border repeat the edge one, so a flat image stays flat.
 */
export function blurImage(x: Float32Array, shape: readonly number[], layout: ImageLayout, kernel: Float64Array): Float32Array {
  if (shape.length !== 4) throw new Error(`blur needs a 4-D image tensor, got shape [${shape.join(', ')}]`);
  const [n, a, b, c] = shape;
  const [C, H, W] = layout === 'NCHW' ? [a, b, c] : [c, a, b];
  // element strides of channel, row and column within one image
  const [sc, sh, sw] = layout === 'NCHW' ? [H * W, W, 1] : [1, W * C, C];
  const r = (kernel.length - 1) / 2;
  const tmp = new Float64Array(H * W);
  const out = new Float32Array(x.length);
  const clamp = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v);
  for (let img = 0; img < n; img++) {
    const base = img * C * H * W;
    for (let ch = 0; ch < C; ch++) {
      const o = base + ch * sc;
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          let s = 0;
          for (let k = -r; k <= r; k++) s += kernel[k + r] * x[o + y * sh + clamp(xx + k, W - 1) * sw];
          tmp[y * W + xx] = s;
        }
      }
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          let s = 0;
          for (let k = -r; k <= r; k++) s += kernel[k + r] * tmp[clamp(y + k, H - 1) * W + xx];
          out[o + y * sh + xx * sw] = s;
        }
      }
    }
  }
  return out;
}
