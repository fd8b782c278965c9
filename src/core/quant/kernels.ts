/**
 * Numeric kernels shared by the main thread and the worker pool.
 *
 * The worker pool (workers.ts) ships these functions to `worker_threads` as source text
 * (`fn.toString()`), so that no separate worker file has to be found on disk after bundling.
 * That imposes rules on everything in this file:
 *  - no imports, no module-level constants or classes; only globals (Math, typed arrays) and
 *    the other functions listed in KERNEL_FUNCTIONS (workers.ts);
 *  - plain data in and out (numbers, typed arrays, plain objects).
 * A test bundles workers.ts with esbuild --minify and runs it, to keep this honest.
 */

/** Round half to even, as ONNX QuantizeLinear and numpy.round do (2.5 -> 2, 3.5 -> 4, -2.5 -> -2). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // rounds half up (towards +inf)
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Scale and zero point for the quantization relation real = scale * (q - zeroPoint), given the
 * integer range [qmin, qmax] that the quantized values may occupy. Same rules as onnxruntime's
 * `compute_scale_zp`: the range is widened to include 0 (so 0 is exactly representable); with
 * `symmetric` it becomes [-absmax, absmax] and the zero point is the middle of [qmin, qmax];
 * the float range is treated as float32 and the scale is returned rounded to float32; a range
 * narrower than the smallest normal float32 gives scale 1.
 * Returns [scale, zeroPoint].
 */
export function scaleZeroPoint(
  rmin: number, rmax: number, qmin: number, qmax: number, symmetric: boolean, minRealRange: number,
): [number, number] {
  let lo = Math.fround(Math.min(rmin, 0));
  let hi = Math.fround(Math.max(rmax, 0));
  if (minRealRange > 0 && hi < lo + minRealRange) hi = Math.fround(lo + minRealRange);
  const mid = (qmin + qmax) / 2;
  if (symmetric) {
    const absmax = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -absmax;
    hi = absmax;
  }
  // onnxruntime subtracts in float32 and divides in float64; do the same for identical scales.
  const scale = Math.fround(hi - lo) / (qmax - qmin);
  if (!(scale >= 1.1754943508222875e-38)) {
    // Degenerate range (all zeros). A symmetric tensor keeps its mid zero point so that every
    // channel of a per-channel tensor has the same zero point.
    return [1, symmetric ? Math.round(mid) : 0];
  }
  let zp: number;
  if (symmetric) zp = Math.round(mid); // the symmetric ranges are built so that mid is an integer
  else zp = roundHalfEven(qmin - lo / scale);
  if (zp < qmin) zp = qmin;
  if (zp > qmax) zp = qmax;
  return [Math.fround(scale), zp];
}

/** Allocates the typed array that holds quantized values of a given element kind. */
export function allocQuantized(kind: string, n: number): Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array {
  switch (kind) {
    case 'int8': case 'int4': return new Int8Array(n);
    case 'uint8': case 'uint4': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    default: throw new Error('unknown quantized kind ' + kind);
  }
}

/**
 * QuantizeLinear: q = saturate(roundHalfEven(x / scale) + zp), computed like onnxruntime in
 * float32 (x / scale rounded to float32 before rounding to an integer). NaN maps to zp.
 * `scales`/`zps` hold one entry (per tensor) or one per channel; a channel index is
 * floor(i / inner) % channels.
 */
export function quantizeKernel(
  data: Float32Array | Float64Array,
  scales: Float32Array | Float64Array | number[],
  zps: Int32Array | number[],
  channels: number,
  inner: number,
  satMin: number,
  satMax: number,
  kind: string,
): Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array {
  const n = data.length;
  const out = allocQuantized(kind, n);
  if (channels <= 1) {
    const s = Math.fround(scales[0]);
    const z = zps[0];
    for (let i = 0; i < n; i++) {
      const v = Math.fround(data[i] / s);
      let q = v !== v ? z : roundHalfEven(v) + z;
      if (q < satMin) q = satMin; else if (q > satMax) q = satMax;
      out[i] = q;
    }
    return out;
  }
  const block = channels * inner;
  for (let base = 0; base < n; base += block) {
    for (let c = 0; c < channels; c++) {
      const s = Math.fround(scales[c]);
      const z = zps[c];
      const start = base + c * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) {
        const v = Math.fround(data[i] / s);
        let q = v !== v ? z : roundHalfEven(v) + z;
        if (q < satMin) q = satMin; else if (q > satMax) q = satMax;
        out[i] = q;
      }
    }
  }
  return out;
}

/** Per-channel (or, with channels = 1, per-tensor) min and max of finite values. */
export function channelMinMaxKernel(
  data: Float32Array | Float64Array, channels: number, inner: number,
): { min: Float64Array; max: Float64Array } {
  const mins = new Float64Array(channels).fill(Infinity);
  const maxs = new Float64Array(channels).fill(-Infinity);
  const block = channels * inner;
  for (let base = 0; base < data.length; base += block) {
    for (let c = 0; c < channels; c++) {
      let mn = mins[c];
      let mx = maxs[c];
      const start = base + c * inner;
      const end = Math.min(start + inner, data.length);
      for (let i = start; i < end; i++) {
        const v = data[i];
        if (v < mn && v !== -Infinity) mn = v;
        if (v > mx && v !== Infinity) mx = v;
      }
      mins[c] = mn;
      maxs[c] = mx;
    }
  }
  return { min: mins, max: maxs };
}

/** Min, max and counts of a float array; NaN and +-Infinity are counted apart and otherwise ignored. */
export function minMaxKernel(data: Float32Array | Float64Array): { min: number; max: number; count: number; nonFinite: number } {
  let mn = Infinity;
  let mx = -Infinity;
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) { bad++; continue; } // NaN or +-Infinity
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  const count = data.length - bad;
  return count === 0 ? { min: NaN, max: NaN, count: 0, nonFinite: bad } : { min: mn, max: mx, count, nonFinite: bad };
}

/**
 * Histogram of a float array on a grid of bins of width w = w0 * M anchored at 0: bin k holds
 * [k*w, (k+1)*w). The grid may be made coarser by an integer factor (bin k -> floor(k/m)) until
 * the data (and 0) fit in `numBins` bins, which keeps every histogram of one tensor on grids
 * that merge exactly. With w0 = 0 (first batch) the grid is chosen to span the data.
 * Returns counts for bins kOff .. kOff + numBins - 1 at width w0 * M (M already multiplied).
 */
export function histogramKernel(
  data: Float32Array | Float64Array, w0: number, M: number, numBins: number,
): {
  w0: number; M: number; kOff: number; counts: Float64Array | null; zeros: number;
  min: number; max: number; total: number; nonFinite: number;
} {
  const mm = minMaxKernel(data);
  if (mm.count === 0) {
    return { w0, M, kOff: 0, counts: null, zeros: 0, min: NaN, max: NaN, total: 0, nonFinite: mm.nonFinite };
  }
  const lo = Math.min(mm.min, 0);
  const hi = Math.max(mm.max, 0);
  if (w0 === 0) {
    if (hi === lo) {
      // Only zeros so far: no scale to build a grid on. The caller keeps them as a pending count.
      return { w0: 0, M: 1, kOff: 0, counts: null, zeros: mm.count, min: 0, max: 0, total: mm.count, nonFinite: mm.nonFinite };
    }
    w0 = (hi - lo) / (numBins - 2); // two bins of slack for floor() at both ends
    M = 1;
  }
  const w = w0 * M;
  const kl = Math.floor(lo * (1 / w));
  const kh = Math.floor(hi * (1 / w));
  let m = 1;
  if (kh - kl + 1 > numBins) {
    m = Math.max(2, Math.ceil((kh - kl + 1) / (numBins - 1)));
    while (Math.floor(kh / m) - Math.floor(kl / m) + 1 > numBins) m++;
  }
  const kOff = Math.floor(kl / m);
  const counts = new Float64Array(numBins);
  const last = numBins - 1;
  // multiplying by 1/w may put a value sitting exactly on a bin edge into the neighbour bin:
  // harmless, and the grids still nest exactly because coarsening works on bin indices
  const inv = 1 / w;
  // zeros (half of a Relu output) are counted in a local: incrementing one bin again and again
  // makes every step wait for the previous store
  let zeros = 0;
  if (m === 1) {
    // the data fits in numBins bins around 0 here, so bin indices are small integers
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === 0) { zeros++; continue; }
      if (v - v !== 0) continue;
      let s = (Math.floor(v * inv) - kOff) | 0;
      if (s < 0) s = 0; else if (s > last) s = last;
      counts[s]++;
    }
  } else {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === 0) { zeros++; continue; }
      if (v - v !== 0) continue;
      let s = Math.floor(Math.floor(v * inv) / m) - kOff;
      if (s < 0) s = 0; else if (s > last) s = last;
      counts[s]++;
    }
  }
  let z = -kOff;
  if (z < 0) z = 0; else if (z > last) z = last;
  counts[z] += zeros;
  return { w0, M: M * m, kOff, counts, zeros: 0, min: mm.min, max: mm.max, total: mm.count, nonFinite: mm.nonFinite };
}

/**
 * histogramKernel over several tensors in one call: one message to a worker per batch instead
 * of one per tensor. `grids` holds each tensor's current w0 and M, interleaved.
 */
export function histogramBatchKernel(
  datas: (Float32Array | Float64Array)[], grids: Float64Array, numBins: number,
): ReturnType<typeof histogramKernel>[] {
  const out: ReturnType<typeof histogramKernel>[] = [];
  for (let t = 0; t < datas.length; t++) out.push(histogramKernel(datas[t], grids[2 * t], grids[2 * t + 1], numBins));
  return out;
}

/**
 * KL divergence of one entropy candidate i (see entropyKernel), using scratch arrays p and q.
 */
export function entropyCandidateKl(
  absCounts: Float64Array, suffix: Float64Array, i: number, numQuantizedBins: number, p: Float64Array, q: Float64Array,
): number {
  for (let a = 0; a < i; a++) p[a] = absCounts[a];
  p[i - 1] += suffix[i];
  const merged = Math.floor(i / numQuantizedBins);
  for (let j = 0; j < numQuantizedBins; j++) {
    const start = j * merged;
    const stop = j === numQuantizedBins - 1 ? i : start + merged;
    let sum = 0;
    let nz = 0;
    for (let a = start; a < stop; a++) {
      sum += absCounts[a];
      if (p[a] !== 0) nz++;
    }
    const v = nz > 0 ? sum / nz : 0;
    for (let a = start; a < stop; a++) q[a] = p[a] !== 0 ? v : 0;
  }
  // smoothing: zeros get eps, taken evenly from the non-zero entries (as MXNet / onnxruntime)
  const eps = 0.0001;
  let pz = 0;
  let qz = 0;
  for (let a = 0; a < i; a++) { if (p[a] === 0) pz++; if (q[a] === 0) qz++; }
  const pnz = i - pz;
  const qnz = i - qz;
  if (pnz === 0 || qnz === 0) return Infinity;
  const peps = (eps * pz) / pnz;
  const qeps = (eps * qz) / qnz;
  let psum = 0;
  let qsum = 0;
  for (let a = 0; a < i; a++) {
    p[a] = p[a] === 0 ? eps : p[a] - peps;
    q[a] = q[a] === 0 ? eps : q[a] - qeps;
    psum += p[a];
    qsum += q[a];
  }
  let kl = 0;
  for (let a = 0; a < i; a++) {
    const pa = p[a] / psum;
    const qa = q[a] / qsum;
    if (pa > 0) kl += qa > 0 ? pa * Math.log(pa / qa) : Infinity;
  }
  return kl;
}

/**
 * KL-divergence threshold search (TensorRT's entropy calibration, with MXNet's handling of the
 * last quantized bin and of zero bins) on a histogram of |x| with bins [a*w, (a+1)*w).
 * For a candidate i (numQuantizedBins <= i <= K) the reference p is the first i bins with the
 * outliers beyond added to the last one; q squeezes those i bins into numQuantizedBins levels
 * and spreads each back evenly over its non-empty bins. Returns the i with the smallest
 * KL(p||q) (the first on ties) and that divergence; i = K (no clipping) when K <= numQuantizedBins.
 * stride 1 tries every i; stride s > 1 tries every s-th i, then every i within s of the best;
 * stride 0 picks s so that about 256 coarse candidates are tried.
 * Like pytorch-quantization, bin 0 is given bin 1's count first: a spike of exact zeros (ReLU
 * outputs, padding) says nothing about where to clip, but would dominate the divergence.
 */
export function entropyKernel(
  absCountsIn: Float64Array, numQuantizedBins: number, stride: number,
): { bins: number; kl: number } {
  const K = absCountsIn.length;
  if (K <= numQuantizedBins) return { bins: K, kl: 0 };
  const absCounts = Float64Array.from(absCountsIn);
  if (K > 1) absCounts[0] = absCounts[1];
  const suffix = new Float64Array(K + 1);
  for (let a = K - 1; a >= 0; a--) suffix[a] = suffix[a + 1] + absCounts[a];
  const p = new Float64Array(K);
  const q = new Float64Array(K);
  const span = K - numQuantizedBins;
  const step = stride >= 1 ? Math.floor(stride) : Math.max(1, Math.ceil(span / 256));
  let best = Infinity;
  let bestI = K;
  const tried = new Set<number>();
  const tryI = (i: number) => {
    if (i < numQuantizedBins || i > K || tried.has(i)) return;
    tried.add(i);
    const kl = entropyCandidateKl(absCounts, suffix, i, numQuantizedBins, p, q);
    if (kl < best || (kl === best && i < bestI)) { best = kl; bestI = i; }
  };
  for (let i = numQuantizedBins; i <= K; i += step) tryI(i);
  tryI(K); // always consider not clipping at all
  if (step > 1) {
    const centre = bestI;
    for (let i = centre - step + 1; i < centre + step; i++) tryI(i);
  }
  return { bins: bestI, kl: best };
}

/**
 * Antiderivative of the squared rounding error g(t) = (t - clamp(round(t), a, b))^2 in units of
 * the quantization step, normalised so that G(a + 0.5) = 0. Below a + 0.5 and above b - 0.5 the
 * error grows quadratically (saturation); between them it is periodic with mean 1/12.
 */
export function roundingErrorIntegral(t: number, a: number, b: number): number {
  if (t < a + 0.5) {
    const d = t - a;
    return (d * d * d - 0.125) / 3;
  }
  if (t <= b - 0.5) {
    const d = t - (a + 0.5);
    const n = Math.floor(d);
    const f = d - n - 0.5;
    return n / 12 + (f * f * f + 0.125) / 3;
  }
  const d = t - b;
  return (b - a - 1) / 12 + (d * d * d + 0.125) / 3;
}

/**
 * Mean squared quantization error of a histogram (values spread evenly inside each bin, the
 * first and last occupied bins trimmed to the data's min and max) for a candidate range
 * [rmin, rmax]: scale and zero point from the range and [qmin, qmax], saturation at
 * [satMin, satMax] as QuantizeLinear does.
 */
export function histogramMse(
  counts: Float64Array, kOff: number, w: number, dataMin: number, dataMax: number,
  rmin: number, rmax: number, qmin: number, qmax: number, satMin: number, satMax: number, symmetric: boolean,
): number {
  const sz = scaleZeroPoint(rmin, rmax, qmin, qmax, symmetric, 0);
  const s = sz[0];
  const z = sz[1];
  let err = 0;
  let total = 0;
  for (let slot = 0; slot < counts.length; slot++) {
    const c = counts[slot];
    if (c === 0) continue;
    total += c;
    let l = (slot + kOff) * w;
    let r = l + w;
    if (l < dataMin) l = dataMin;
    if (r > dataMax) r = dataMax;
    if (r - l <= 1e-12 * Math.max(Math.abs(l), Math.abs(r), 1e-30)) {
      // a point mass (all values equal)
      const x = (l + r) / 2;
      let q = roundHalfEven(Math.fround(x / s)) + z;
      if (q < satMin) q = satMin; else if (q > satMax) q = satMax;
      const e = x - s * (q - z);
      err += c * e * e;
      continue;
    }
    const tl = l / s + z;
    const tr = r / s + z;
    const integral = roundingErrorIntegral(tr, satMin, satMax) - roundingErrorIntegral(tl, satMin, satMax);
    // integral is over t = x/s + z; dx = s dt and the error is s * (t - Q(t)): s^3 * integral
    err += c * (s * s * s * integral) / (r - l);
  }
  return total > 0 ? err / total : 0;
}

/**
 * Searches the clipping range with the smallest histogramMse: a coarse grid of `steps`
 * candidates, refined around the best. Symmetric ranges search T in (0, absmax]; asymmetric
 * ones shrink [lo, hi] together, then refine the top end and then the bottom end alone.
 */
export function mseSearchKernel(
  counts: Float64Array, kOff: number, w: number, dataMin: number, dataMax: number,
  qmin: number, qmax: number, satMin: number, satMax: number, symmetric: boolean, steps: number,
): { min: number; max: number; mse: number } {
  const lo0 = Math.min(dataMin, 0);
  const hi0 = Math.max(dataMax, 0);
  const n = Math.max(8, steps | 0);
  const evalRange = (a: number, b: number) =>
    histogramMse(counts, kOff, w, dataMin, dataMax, a, b, qmin, qmax, satMin, satMax, symmetric);
  // one-dimensional search of f(x) on (0, 1]: coarse grid, then a finer grid around the best
  const search1d = (f: (x: number) => number): number => {
    let bestX = 1;
    let bestF = f(1);
    for (let g = 1; g < n; g++) {
      const x = g / n;
      const v = f(x);
      if (v < bestF) { bestF = v; bestX = x; }
    }
    const a = Math.max(bestX - 1 / n, 1 / (n * n));
    const b = Math.min(bestX + 1 / n, 1);
    for (let g = 0; g <= n; g++) {
      const x = a + ((b - a) * g) / n;
      const v = f(x);
      if (v < bestF) { bestF = v; bestX = x; }
    }
    return bestX;
  };
  if (hi0 === lo0) return { min: 0, max: 0, mse: 0 };
  if (symmetric) {
    const absmax = Math.max(-lo0, hi0);
    const x = search1d((t) => evalRange(-t * absmax, t * absmax));
    const T = x * absmax;
    return { min: -T, max: T, mse: evalRange(-T, T) };
  }
  const x = search1d((t) => evalRange(t * lo0, t * hi0));
  let lo = x * lo0;
  let hi = x * hi0;
  {
    if (hi0 > 0) {
      const fixedLo = lo;
      const xh = search1d((t) => evalRange(fixedLo, t * hi0));
      hi = xh * hi0;
    }
    if (lo0 < 0) {
      const fixedHi = hi;
      const xl = search1d((t) => evalRange(t * lo0, fixedHi));
      lo = xl * lo0;
    }
  }
  return { min: lo, max: hi, mse: evalRange(lo, hi) };
}
