/**
 * Histograms and calibrators against values worked out independently: sorted-sample
 * percentiles, a hand-computed KL search, a separately written KL search, and a brute-force
 * MSE search over the raw samples.
 */
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Histogram } from '../../src/core/quant/histogram';
import { entropyKernel, histogramKernel, histogramMse } from '../../src/core/quant/kernels';
import {
  createCalibrator, loadRanges, parseRanges, percentileRange, rangesToJson, saveRanges, type CalibrationResult,
} from '../../src/core/quant/calibrators';
import { ModelError } from '../../src/core/errors';
import { mulberry32 } from '../../src/core/random';

/** Uniform in (0, 1): never exactly 0, so log() in Box-Muller stays finite. */
function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() + 0.5 / 4294967296;
}
const gaussian = (n: number, seed: number, sigma = 1, mu = 0) => {
  const r = rng(seed);
  return new Float32Array(n).map(() => mu + sigma * Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r()));
};
const laplace = (n: number, seed: number, b = 1) => {
  const r = rng(seed);
  return new Float32Array(n).map(() => { const u = r() - 0.5; return -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u)); });
};
const uniform = (n: number, seed: number, lo: number, hi: number) => {
  const r = rng(seed);
  return new Float32Array(n).map(() => lo + (hi - lo) * r());
};
const maxOf = (a: ArrayLike<number>) => { let m = -Infinity; for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i]; return m; };
const minOf = (a: ArrayLike<number>) => { let m = Infinity; for (let i = 0; i < a.length; i++) if (a[i] < m) m = a[i]; return m; };
const batches = (a: Float32Array, k: number) => Array.from({ length: k }, (_, i) => a.subarray(Math.floor((i * a.length) / k), Math.floor(((i + 1) * a.length) / k)));

/** The exact sample quantile by sorting (linear interpolation, numpy's default). */
function sortedQuantile(a: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(a).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

describe('Histogram', () => {
  test('bins agree with a direct count on the final grid, across growing batches', () => {
    const data = new Float32Array([...gaussian(5000, 1, 0.1), ...gaussian(5000, 2, 1), ...gaussian(5000, 3, 10, 3), ...uniform(5000, 4, -0.01, 0.01)]);
    const h = new Histogram(256);
    for (const b of batches(data, 4)) h.add(b);
    const snap = h.snapshot()!;
    assert.ok(snap.counts.length <= 256);
    assert.equal(snap.total, data.length);
    assert.equal(snap.min, minOf(data));
    assert.equal(snap.max, maxOf(data));
    // independent count on the reported grid
    const direct = new Float64Array(snap.counts.length);
    for (const v of data) direct[Math.floor((v - snap.start) / snap.width + 1e-9)]++;
    let moved = 0;
    for (let i = 0; i < direct.length; i++) moved += Math.abs(direct[i] - snap.counts[i]);
    assert.ok(moved <= 2, `${moved} values landed in a different bin than a direct count`);
    // the grid is anchored at 0
    assert.ok(Math.abs(snap.start / snap.width - Math.round(snap.start / snap.width)) < 1e-6);
  });

  test('a batch binned elsewhere (as a worker does) merges exactly', () => {
    const a = gaussian(20000, 5, 2);
    const b = gaussian(20000, 6, 7, 1); // wider: forces a coarser grid
    const one = new Histogram(512);
    one.add(a);
    one.add(b);
    const two = new Histogram(512);
    two.add(a);
    const g = two.grid();
    two.merge(histogramKernel(b, g.w0, g.M, g.numBins));
    const s1 = one.snapshot()!;
    const s2 = two.snapshot()!;
    assert.equal(s2.width, s1.width);
    assert.equal(s2.start, s1.start);
    assert.deepEqual(Array.from(s2.counts), Array.from(s1.counts));
  });

  test('histograms started apart (different grids) merge with every count kept', () => {
    const a = gaussian(20000, 7, 1);
    const b = gaussian(20000, 8, 3, 2);
    const ha = new Histogram(256);
    ha.add(a);
    const hb = new Histogram(256);
    hb.add(b);
    ha.mergeHistogram(hb);
    const s = ha.snapshot()!;
    assert.equal(s.total, 40000);
    assert.equal(s.counts.reduce((x, y) => x + y, 0), 40000);
    assert.equal(s.min, Math.min(minOf(a), minOf(b)));
    assert.ok(s.counts.length <= 256);
    // the merged mean is close to the data's mean (bins moved by at most one width)
    let mean = 0;
    s.counts.forEach((c, i) => { mean += c * (s.start + (i + 0.5) * s.width); });
    mean /= s.total;
    const trueMean = (a.reduce((x, y) => x + y, 0) + b.reduce((x, y) => x + y, 0)) / 40000;
    assert.ok(Math.abs(mean - trueMean) < s.width, `${mean} vs ${trueMean}`);
  });

  test('zeros before any grid, NaN and Infinity', () => {
    const h = new Histogram(64);
    h.add(new Float32Array([0, 0, 0]));
    assert.equal(h.snapshot()!.total, 3);
    h.add(new Float32Array([NaN, Infinity, -Infinity, 1, -1]));
    const s = h.snapshot()!;
    assert.equal(s.total, 5);
    assert.equal(s.nonFinite, 3);
    assert.equal(s.counts.reduce((x, y) => x + y, 0), 5);
    assert.equal(h.absCounts().reduce((x, y) => x + y, 0), 5);
  });

  test('|x| folding is exact', () => {
    const h = new Histogram(64);
    h.add(new Float32Array([-3, -2.5, -0.1, 0, 0.1, 2.9, 3]));
    const w = h.width;
    const abs = h.absCounts();
    const direct = new Float64Array(abs.length);
    for (const v of [-3, -2.5, -0.1, 0, 0.1, 2.9, 3]) {
      // |x| in abs bin a = [a*w, (a+1)*w); negative values sit in signed bin floor(x/w) = -a-1
      const k = Math.floor(v / w);
      direct[k >= 0 ? k : -k - 1]++;
    }
    assert.deepEqual(Array.from(abs), Array.from(direct));
  });
});

describe('MinMax', () => {
  test('global extremes, symmetric, non-finite ignored', async () => {
    const c = createCalibrator({ method: 'minmax' });
    await c.collect({ a: new Float32Array([0, 1, -0.5]), b: new Float32Array([2, 3]) });
    await c.collect({ a: new Float32Array([-2, 0.5, NaN, Infinity]) });
    const r = c.compute();
    assert.deepEqual([r.tensors.a.min, r.tensors.a.max, r.tensors.a.nonFinite, r.tensors.a.count, r.tensors.a.batches], [-2, 1, 2, 5, 2]);
    assert.deepEqual([r.tensors.b.min, r.tensors.b.max], [2, 3]);
    const s = createCalibrator({ method: 'minmax', symmetric: true });
    await s.collect({ a: new Float32Array([-0.5, 3]) });
    assert.deepEqual([s.compute().tensors.a.min, s.compute().tensors.a.max], [-3, 3]);
  });

  test('moving average (onnxruntime averaging_constant)', async () => {
    const c = createCalibrator({ method: 'minmax', movingAverage: true, averagingConstant: 0.5 });
    // batch extremes: min 0, -2, -1; max 1, 3, 2
    for (const b of [[0, 1], [-2, 3], [-1, 2]]) await c.collect({ t: new Float32Array(b) });
    // min: 0 -> 0 + .5(-2 - 0) = -1 -> -1 + .5(-1 + 1) = -1 ; max: 1 -> 2 -> 2
    const t = c.compute().tensors.t;
    assert.deepEqual([t.min, t.max, t.dataMin, t.dataMax], [-1, 2, -2, 3]);
    assert.throws(() => createCalibrator({ method: 'minmax', movingAverage: true, averagingConstant: 2 }), /averagingConstant/);
  });
});

describe('Percentile', () => {
  test('evenly spaced values: the percentile lands where it must', async () => {
    const n = 100000;
    const v = new Float32Array(n).map((_, i) => (i + 0.5) / n); // (0, 1)
    const c = createCalibrator({ method: 'percentile', percentile: 99, symmetric: false });
    for (const b of batches(v, 5)) await c.collect({ v: b });
    const t = c.compute().tensors.v;
    const w = c.histogram('v')!.width;
    // evenly spaced data is uniform inside each bin, so interpolation is exact to ~1 spacing
    assert.ok(Math.abs(t.min - 0.005) <= Math.max(2 / n, w / 10), `low ${t.min} (bin ${w})`);
    assert.ok(Math.abs(t.max - 0.995) <= Math.max(2 / n, w / 10), `high ${t.max} (bin ${w})`);
    const s = createCalibrator({ method: 'percentile', percentile: 99 });
    await s.collect({ v: new Float32Array(n).map((_, i) => -1 + (2 * (i + 0.5)) / n) });
    const ts = s.compute().tensors.v;
    assert.ok(Math.abs(ts.max - 0.99) <= Math.max(4 / n, s.histogram('v')!.width / 10) && ts.min === -ts.max, `symmetric ${ts.min} ${ts.max}`);
  });

  test('gaussian and laplace against sorted-sample quantiles', async () => {
    for (const [name, data] of [['gauss', gaussian(200000, 11, 1.5, 0.5)], ['laplace', laplace(200000, 12, 0.7)]] as const) {
      for (const p of [99.9, 99.99]) {
        const c = createCalibrator({ method: 'percentile', percentile: p, symmetric: false });
        for (const b of batches(data, 8)) await c.collect({ x: b });
        const t = c.compute().tensors.x;
        const w = c.histogram('x')!.width;
        const lo = sortedQuantile(data, (100 - p) / 200);
        const hi = sortedQuantile(data, 1 - (100 - p) / 200);
        assert.ok(Math.abs(t.min - lo) <= 1.5 * w, `${name} p${p} low ${t.min} vs ${lo} (bin ${w})`);
        assert.ok(Math.abs(t.max - hi) <= 1.5 * w, `${name} p${p} high ${t.max} vs ${hi} (bin ${w})`);
        const cs = createCalibrator({ method: 'percentile', percentile: p });
        for (const b of batches(data, 8)) await cs.collect({ x: b });
        const ts = cs.compute().tensors.x;
        const abs = sortedQuantile(Float64Array.from(data, Math.abs), p / 100);
        const expectMax = Math.min(abs, maxOf(data));
        assert.ok(Math.abs(ts.max - expectMax) <= 1.5 * cs.histogram('x')!.width, `${name} symmetric ${ts.max} vs ${expectMax}`);
      }
    }
  });

  test('percentile helper clips to the data', () => {
    const h = new Histogram(128);
    h.add(new Float32Array([1, 2, 3, 4]));
    const r = percentileRange(h, 100, true);
    assert.equal(r.max, 4);
    assert.equal(r.min, 1);
  });
});

/** A second, plain implementation of the entropy search, written from the description. */
function referenceEntropy(hist: number[], nq: number): { bins: number; kl: number } {
  const h = hist.slice();
  h[0] = h[1];
  const smooth = (d: number[]) => {
    const zeros = d.filter((x) => x === 0).length;
    const nonzeros = d.length - zeros;
    if (!nonzeros) return null;
    const eps1 = (1e-4 * zeros) / nonzeros;
    return d.map((x) => (x === 0 ? 1e-4 : x - eps1));
  };
  let best = { bins: h.length, kl: Infinity };
  for (let i = nq; i <= h.length; i++) {
    const sliced = h.slice(0, i);
    const p = sliced.slice();
    p[i - 1] += h.slice(i).reduce((a, b) => a + b, 0);
    const m = Math.floor(i / nq);
    const q = new Array(i).fill(0);
    for (let j = 0; j < nq; j++) {
      const start = j * m;
      const stop = j === nq - 1 ? i : start + m;
      const total = sliced.slice(start, stop).reduce((a, b) => a + b, 0);
      const nz = p.slice(start, stop).filter((x) => x !== 0).length;
      for (let k = start; k < stop; k++) q[k] = p[k] !== 0 && nz ? total / nz : 0;
    }
    const ps = smooth(p);
    const qs = smooth(q);
    if (!ps || !qs) continue;
    const P = ps.reduce((a, b) => a + b, 0);
    const Q = qs.reduce((a, b) => a + b, 0);
    let kl = 0;
    for (let k = 0; k < i; k++) kl += (ps[k] / P) * Math.log(ps[k] / P / (qs[k] / Q));
    if (kl < best.kl) best = { bins: i, kl };
  }
  return best;
}

describe('Entropy (KL)', () => {
  test('hand-worked: |x| histogram [4, 2, 1, 1] squeezed into 2 levels', () => {
    // bin 0 takes bin 1's count: [2, 2, 1, 1].
    // i=2: p=[2, 2+2]=[2,4] q=[2,2] -> p/6, q/4: KL = 1/3 ln((1/3)/(1/2)) + 2/3 ln((2/3)/(1/2))
    // i=3: p=[2,2,2] ; groups [0,1) -> 2, [1,3) -> 3 spread over 2 -> q=[2,1.5,1.5] (sum 5)
    //      KL = 3 * 1/3 ln((1/3)/(q/5)) = 1/3 ln((1/3)/(2/5)) + 2/3 ln((1/3)/(3/10))
    // i=4: p=[2,2,1,1] ; groups [0,2) -> 4 over 2, [2,4) -> 2 over 2 -> q=[2,2,1,1] = p: KL = 0
    const kl2 = (1 / 3) * Math.log(1 / 3 / 0.5) + (2 / 3) * Math.log(2 / 3 / 0.5);
    const kl3 = (1 / 3) * Math.log(1 / 3 / 0.4) + (2 / 3) * Math.log(1 / 3 / 0.3);
    assert.ok(kl2 > 0 && kl3 > 0);
    const r = entropyKernel(new Float64Array([4, 2, 1, 1]), 2, 1);
    assert.equal(r.bins, 4);
    assert.ok(Math.abs(r.kl) < 1e-12);
    // with the last bin removed, i=3 is the end: [2,2,1] -> i=2: p=[2,3] q=[2,2]; i=3: p=[2,2,1], q=[2,1.5,1.5]
    const a2 = (2 / 5) * Math.log(2 / 5 / 0.5) + (3 / 5) * Math.log(3 / 5 / 0.5);
    const a3 = (2 / 5) * Math.log(2 / 5 / 0.4) + (2 / 5) * Math.log(2 / 5 / 0.3) + (1 / 5) * Math.log(1 / 5 / 0.3);
    const r3 = entropyKernel(new Float64Array([4, 2, 1]), 2, 1);
    assert.equal(r3.bins, a2 < a3 ? 2 : 3);
    assert.ok(Math.abs(r3.kl - Math.min(a2, a3)) < 1e-9, `${r3.kl} vs ${Math.min(a2, a3)}`);
  });

  test('matches a separately written search on gaussian, laplace and ReLU data', () => {
    for (const [name, data] of [
      ['gauss', gaussian(100000, 21)], ['laplace', laplace(100000, 22)], ['relu', gaussian(100000, 23).map((v) => Math.max(0, v))],
    ] as const) {
      const h = new Histogram(1024);
      h.add(data);
      const abs = h.absCounts();
      const want = referenceEntropy(Array.from(abs), 128);
      const got = entropyKernel(abs, 128, 1);
      assert.equal(got.bins, want.bins, name);
      assert.ok(Math.abs(got.kl - want.kl) < 1e-9 * Math.max(1, want.kl), `${name}: ${got.kl} vs ${want.kl}`);
      // the coarse-to-fine default gets (nearly) as low a divergence
      const auto = entropyKernel(abs, 128, 0);
      assert.ok(auto.kl <= want.kl * 1.05 + 1e-9, `${name} auto ${auto.kl} vs exhaustive ${want.kl}`);
    }
  });

  test('uniform data is not clipped; a heavy tail is', async () => {
    const c = createCalibrator({ method: 'entropy', numBins: 2048 });
    await c.collect({ u: uniform(200000, 31, -1, 1), l: laplace(200000, 32) });
    const r = c.compute().tensors;
    assert.ok(r.u.max > 0.97 && r.u.min < -0.97, `uniform clipped to ${r.u.min}..${r.u.max}`);
    assert.ok(r.l.max < 0.9 * r.l.dataMax, `laplace not clipped: ${r.l.max} of ${r.l.dataMax}`);
  });
});

/** MSE of quantize-dequantize on the raw samples, written independently of the library. */
function sampleMse(x: Float32Array, lo: number, hi: number, qmin: number, qmax: number, satMin: number, satMax: number, symmetric: boolean): number {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  let s: number;
  let z: number;
  if (symmetric) {
    const a = Math.max(-lo, hi);
    s = Math.fround(a / ((qmax - qmin) / 2));
    z = (qmin + qmax) / 2;
  } else {
    s = Math.fround((hi - lo) / (qmax - qmin));
    z = Math.round(qmin - lo / s);
  }
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let q = Math.round(v / s) + z;
    q = Math.max(satMin, Math.min(satMax, q));
    const d = v - s * (q - z);
    e += d * d;
  }
  return e / x.length;
}

describe('MSE-optimal clipping', () => {
  test('int8 symmetric on laplace data: as good as a brute-force search on the samples', async () => {
    const x = laplace(40000, 41, 1);
    const c = createCalibrator({ method: 'mse', quantType: 'int8', symmetric: true });
    for (const b of batches(x, 3)) await c.collect({ x: b });
    const t = c.compute().tensors.x;
    assert.equal(t.min, -t.max);
    let best = Infinity;
    let bestT = 0;
    const amax = maxOf(Array.from(x, Math.abs));
    for (let k = 1; k <= 300; k++) {
      const T = (amax * k) / 300;
      const m = sampleMse(x, -T, T, -127, 127, -128, 127, true);
      if (m < best) { best = m; bestT = T; }
    }
    const ours = sampleMse(x, t.min, t.max, -127, 127, -128, 127, true);
    assert.ok(ours <= best * 1.02, `MSE ${ours} at T=${t.max} vs brute force ${best} at T=${bestT}`);
    // ACIQ (Banner et al.) puts the optimum for 8 bits near 9.9 b for an unbounded Laplace
    assert.ok(t.max < amax && t.max > 8 && t.max < 11.5, `T = ${t.max} (sample max ${amax})`);
    // the histogram's estimate of the error is close to the samples' error
    const h = c.histogram('x')!.raw()!;
    const est = histogramMse(h.counts, h.kOff, h.width, t.dataMin, t.dataMax, t.min, t.max, -127, 127, -128, 127, true);
    assert.ok(Math.abs(est - ours) / ours < 0.05, `estimate ${est} vs samples ${ours}`);
  });

  test('uint8 asymmetric on ReLU outputs and int4 on gaussian: brute force agrees', async () => {
    const relu = gaussian(40000, 42, 1).map((v) => Math.max(0, v));
    const c = createCalibrator({ method: 'mse', quantType: 'uint8' });
    await c.collect({ r: relu });
    const t = c.compute().tensors.r;
    assert.equal(t.min, 0);
    let best = Infinity;
    for (let k = 1; k <= 300; k++) best = Math.min(best, sampleMse(relu, 0, (t.dataMax * k) / 300, 0, 255, 0, 255, false));
    const ours = sampleMse(relu, t.min, t.max, 0, 255, 0, 255, false);
    assert.ok(ours <= best * 1.02, `uint8 ${ours} vs ${best}`);

    const g = gaussian(20000, 43, 2, 0.5);
    const c4 = createCalibrator({ method: 'mse', quantType: 'int4' });
    await c4.collect({ g });
    const t4 = c4.compute().tensors.g;
    let best4 = Infinity;
    for (let a = 1; a <= 40; a++) {
      for (let b = 1; b <= 40; b++) {
        best4 = Math.min(best4, sampleMse(g, (t4.dataMin * a) / 40, (t4.dataMax * b) / 40, -8, 7, -8, 7, false));
      }
    }
    const ours4 = sampleMse(g, t4.min, t4.max, -8, 7, -8, 7, false);
    assert.ok(ours4 <= best4 * 1.03, `int4 ${ours4} vs brute force ${best4}`);
    assert.ok(t4.max < t4.dataMax && t4.min > t4.dataMin, 'int4 must clip a gaussian');
  });

  test('uniform data keeps (nearly) its full range', async () => {
    const c = createCalibrator({ method: 'mse', quantType: 'int8', symmetric: true });
    await c.collect({ u: uniform(100000, 44, -1, 1) });
    const t = c.compute().tensors.u;
    assert.ok(t.max >= 0.97 && t.max <= 1, `T = ${t.max}`);
  });
});

describe('ranges JSON', () => {
  test('round trip through a file, and clear errors for bad files', async () => {
    const c = createCalibrator({ method: 'percentile', percentile: 99.9 });
    await c.collect({ 'conv1/out': gaussian(1000, 51), relu: gaussian(1000, 52).map(Math.abs) });
    const r = c.compute({ includeHistograms: true });
    assert.equal(r.version, 1);
    assert.equal(r.method, 'percentile');
    assert.ok(r.tensors.relu.histogram && r.tensors.relu.histogram.counts.reduce((a, b) => a + b, 0) === 1000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-ranges-'));
    try {
      const f = path.join(dir, 'ranges.json');
      await saveRanges(f, r);
      assert.deepEqual(fs.readdirSync(dir), ['ranges.json']); // no temporary left behind
      const back = await loadRanges(f);
      assert.deepEqual(back, JSON.parse(rangesToJson(r)) as CalibrationResult);
      assert.equal(back.tensors['conv1/out'].min, r.tensors['conv1/out'].min);
      await assert.rejects(loadRanges(path.join(dir, 'missing.json')), (e: unknown) => e instanceof ModelError && e.code === 'io');
      await assert.rejects(saveRanges(path.join(dir, 'no', 'such', 'dir.json'), r), (e: unknown) => e instanceof ModelError && e.code === 'io');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const bad = (text: string, re: RegExp) => assert.throws(() => parseRanges(text, 'r.json'), (e: unknown) => e instanceof ModelError && e.code === 'corrupt' && re.test(e.message));
    bad('{', /not valid JSON/);
    bad('{"version":2,"method":"minmax","tensors":{}}', /version 2/);
    bad('{"version":1,"method":"magic","tensors":{}}', /unknown method/);
    bad('{"version":1,"method":"minmax","tensors":{"a":{"min":1,"max":0}}}', /tensor "a": min 1 is above max 0/);
    bad('{"version":1,"method":"minmax","tensors":{"a":{"min":"x","max":0}}}', /tensor "a": "min" must be a finite number/);
    assert.deepEqual(parseRanges('{"version":1,"method":"minmax","tensors":{"a":{"min":-1,"max":2}}}').tensors.a.max, 2);
  });

  test('option checks', () => {
    assert.throws(() => createCalibrator({ method: 'percentile', percentile: 0 }), /percentile/);
    assert.throws(() => createCalibrator({ method: 'nope' as never }), /Unknown calibration method/);
    assert.throws(() => createCalibrator({ method: 'mse', quantType: 'int3' as never }), /Unknown quantization type/);
    assert.throws(() => createCalibrator({ method: 'entropy', numBins: 4 }), /numBins/);
  });
});
