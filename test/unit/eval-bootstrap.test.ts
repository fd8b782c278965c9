/** Paired bootstrap intervals: hand-worked small cases, exact properties and coverage on synthetic data. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { drawState, bootstrapDistribution, bootstrapInterval, bootstrapIntervals, meanDifference, pairedDeltaInterval, quantile, resampleCounts } from '../../src/core/eval/bootstrap';
import { mean } from '../../src/core/eval/metrics';
import { mulberry32 } from '../../src/core/random';

test('quantile interpolates between order statistics (R type 7)', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(quantile([1, 2, 3, 4], 0.025) - 1.075) < 1e-12); // h = 3 * 0.025
  assert.equal(quantile([1, 2, 3, 4], 1), 4);
  assert.equal(quantile([5], 0.3), 5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('a resample draws n indices, from mulberry32\'s sequence; grouped draws are the same draws counted per group', () => {
  const c = resampleCounts(drawState(3), new Uint32Array(50));
  assert.equal(c.reduce((a, b) => a + b, 0), 50);
  const rnd = mulberry32(3);
  const expected = new Uint32Array(50);
  for (let j = 0; j < 50; j++) expected[Math.floor(rnd() * 50)]++;
  assert.deepEqual(c, expected);
  const groupOf = Int32Array.from({ length: 50 }, (_, i) => i % 3);
  const g = resampleCounts(drawState(3), new Uint32Array(3), groupOf);
  assert.deepEqual([...g], [0, 1, 2].map((k) => c.reduce((s, x, i) => s + (i % 3 === k ? x : 0), 0)));
});

test('n = 2, differences [1, 0]: resample means 0, 1/2, 1 with chances 1/4, 1/2, 1/4, so the 95 % interval is [0, 1]', () => {
  const d = [1, 0];
  const dist = bootstrapDistribution(2, (w) => mean(d, w), { resamples: 4000 });
  const share = (v: number) => dist.filter((x) => x === v).length / dist.length;
  assert.ok(Math.abs(share(0) - 1 / 4) < 0.03 && Math.abs(share(0.5) - 1 / 2) < 0.03 && Math.abs(share(1) - 1 / 4) < 0.03);
  const ci = bootstrapInterval(2, (w) => mean(d, w));
  assert.deepEqual([ci.low, ci.high], [0, 1]);
});

test('n = 3, differences [1, 0, 0]: P(mean = 1) = 1/27 > 2.5 %, P(0) = 8/27: the interval is [0, 1]; at 90 % it is [0, 2/3]', () => {
  const d = [1, 0, 0];
  const ci = bootstrapInterval(3, (w) => mean(d, w));
  assert.deepEqual([ci.low, ci.high], [0, 1]);
  // P(mean >= 2/3) = 7/27 = 26 %, P(1) = 3.7 % < 5 %: the 95th percentile is 2/3
  const ci90 = bootstrapInterval(3, (w) => mean(d, w), { level: 0.9 });
  assert.equal(ci90.low, 0);
  assert.ok(Math.abs(ci90.high - 2 / 3) < 1e-12, String(ci90.high));
});

test('paired: a zero-difference pair gives [0, 0]; a constant difference c gives [c, c]', () => {
  const rnd = mulberry32(9);
  const correct = Array.from({ length: 500 }, () => (rnd() < 0.7 ? 1 : 0));
  const same = pairedDeltaInterval(500, (_which, w) => mean(correct, w));
  assert.deepEqual([same.low, same.high], [0, 0]);
  const y = Array.from({ length: 300 }, () => rnd());
  const shifted = pairedDeltaInterval(300, (which, w) => mean(which === 0 ? y.map((v) => v + 0.25) : y, w));
  assert.ok(Math.abs(shifted.low - 0.25) < 1e-12 && Math.abs(shifted.high - 0.25) < 1e-12, JSON.stringify(shifted));
});

test('seeded: the same seed gives the same interval, another seed another', () => {
  const rnd = mulberry32(4);
  const x = Array.from({ length: 200 }, () => rnd());
  const a = bootstrapInterval(200, (w) => mean(x, w), { seed: 5 });
  const b = bootstrapInterval(200, (w) => mean(x, w), { seed: 5 });
  const c = bootstrapInterval(200, (w) => mean(x, w), { seed: 6 });
  assert.deepEqual(a, b);
  assert.notDeepEqual([a.low, a.high], [c.low, c.high]);
});

test('coverage: on 300 synthetic paired datasets with a known accuracy drop, about 95 % of intervals hold it', () => {
  // float correct ~ Bernoulli(0.8); quantized flips each outcome with chance 0.1:
  // E[quantized] = 0.8 * 0.9 + 0.2 * 0.1 = 0.74, so the true delta is 0.06
  const rnd = mulberry32(2024);
  const n = 200;
  let hits = 0;
  let width = 0;
  const trials = 300;
  for (let t = 0; t < trials; t++) {
    const f = new Float64Array(n);
    const q = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      f[i] = rnd() < 0.8 ? 1 : 0;
      q[i] = rnd() < 0.1 ? 1 - f[i] : f[i];
    }
    const ci = pairedDeltaInterval(n, (which, w) => mean(which === 0 ? f : q, w), { resamples: 1000, seed: t + 1 });
    if (ci.low <= 0.06 && 0.06 <= ci.high) hits++;
    width += ci.high - ci.low;
  }
  const coverage = hits / trials;
  // paired differences have sd ~ sqrt(0.1 - 0.06^2) / sqrt(200) = 0.022: a 95 % interval is ~0.086 wide
  assert.ok(coverage >= 0.9 && coverage <= 0.99, `coverage ${coverage}`);
  assert.ok(Math.abs(width / trials - 0.086) < 0.01, `mean width ${width / trials}`);
});

test('shared resamples give each statistic the interval it gets alone; meanDifference equals the difference of weighted means', () => {
  const rnd = mulberry32(11);
  const a = Array.from({ length: 300 }, () => (rnd() < 0.9 ? 1 : 0));
  const b = a.map((x) => (rnd() < 0.05 ? 1 - x : x));
  const stats = [(w: Uint32Array) => mean(a, w), (w: Uint32Array) => mean(a, w) - mean(b, w), meanDifference(a, b)];
  const together = bootstrapIntervals(300, stats, { resamples: 500, seed: 3 });
  stats.forEach((s, k) => assert.deepEqual(together[k], bootstrapInterval(300, s, { resamples: 500, seed: 3 })));
  assert.ok(Math.abs(together[1].low - together[2].low) < 1e-12 && Math.abs(together[1].high - together[2].high) < 1e-12);
  const w = resampleCounts(drawState(5), new Uint32Array(300));
  assert.ok(Math.abs(meanDifference(a, b)(w) - (mean(a, w) - mean(b, w))) < 1e-12);
});
