/**
 * Layer histograms, the pure parts: bins, domains, grids, grid lines and clipped shares on small
 * hand-worked arrays, a random array against a bin-by-bin count with explicit edges, and the clear
 * refusals of bad requests.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BinCounter, clipShare, gridLines, histogramDomain, quantGrid } from '../../src/core/eval/histogramBins';
import { layerHistograms } from '../../src/core/eval/histograms';
import { HISTOGRAMS_HELP, sparkline } from '../../src/cli/histograms';
import { mulberry32 } from '../../src/core/random';
import { REPO_ROOT, SAMPLE_MODEL } from '../helpers/paths';

const DATA = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');

test('bins: hand-worked counts, the right edge in the last bin, non-finite values left out', () => {
  const d = histogramDomain(0, 4, undefined, 4);
  assert.deepEqual(d, { start: 0, width: 1 });
  const c = new BinCounter(d.start, d.width, 4);
  c.add([0, 0.5, 1, 1.5, 2, 4, NaN, Infinity]);
  c.add(Float32Array.of(3.25));
  const h = c.result();
  // [0,1): 0, 0.5   [1,2): 1, 1.5   [2,3): 2   [3,4]: 3.25, 4
  assert.deepEqual(h.counts, [2, 2, 1, 2]);
  assert.equal(h.values, 7);
  assert.equal(h.nonFinite, 2);
  assert.equal(h.min, 0);
  assert.equal(h.max, 4);
});

test('bins: 128 bins of random values equal a count against explicit edges', () => {
  const rnd = mulberry32(5);
  const values = Float32Array.from({ length: 20000 }, () => (rnd() - 0.3) * 7);
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const d = histogramDomain(lo, hi, undefined, 128);
  const c = new BinCounter(d.start, d.width, 128);
  c.add(values.subarray(0, 7000));
  c.add(values.subarray(7000));
  const got = c.result().counts;
  const edges = Array.from({ length: 129 }, (_, i) => d.start + i * d.width);
  const want = edges.slice(0, 128).map((e, i) => values.filter((v) => v >= e && (i === 127 ? v <= hi : v < edges[i + 1])).length);
  // a value within rounding of an inner edge may land either side of it
  const moved = got.reduce((a, n, i) => a + Math.abs(n - want[i]), 0);
  assert.ok(moved <= 2, `counts differ by ${moved}`);
  assert.equal(got.reduce((a, b) => a + b, 0), values.length);
});

test('domain: the union of the values and the grid; one value gets a small interval', () => {
  assert.deepEqual(histogramDomain(-1, 1, { low: -2, high: 1.5 }, 7), { start: -2, width: 0.5 });
  assert.deepEqual(histogramDomain(-1, 1, { low: -0.5, high: 3 }, 4), { start: -1, width: 1 });
  const one = histogramDomain(5, 5, undefined, 10);
  assert.ok(one.start < 5 && one.start + 10 * one.width > 5 && one.width > 0);
  assert.deepEqual(histogramDomain(NaN, NaN, undefined, 2), { start: 0, width: 0.5 });
  assert.throws(() => histogramDomain(0, 1, undefined, 0), /whole number of bins/);
});

test('grid: representable range per tensor and per channel', () => {
  const g = quantGrid('uint8', [0.1], [10], null)!;
  assert.equal(g.axis, null);
  assert.ok(Math.abs(g.low - -1) < 1e-12 && Math.abs(g.high - 24.5) < 1e-12, `${g.low} ${g.high}`);
  assert.equal(g.step, 0.1);
  const pc = quantGrid('int8', [0.5, 0.25], undefined, 0)!;
  assert.deepEqual([pc.qmin, pc.qmax], [-128, 127]);
  assert.deepEqual(pc.channelLow, [-64, -32]);
  assert.deepEqual(pc.channelHigh, [63.5, 31.75]);
  assert.deepEqual([pc.low, pc.high, pc.step, pc.stepMin], [-64, 63.5, 0.5, 0.25]);
  const bias = quantGrid('int32', [0.001], [0], null)!;
  assert.equal(bias.qmax, 2147483647);
  assert.equal(quantGrid('float32', [1], [0], null), undefined);
});

test('grid lines: drawn only when a step is wider than a bin, inside the domain and the integer range', () => {
  const g = quantGrid('int8', [0.5], [0], null)!;
  assert.deepEqual(gridLines(g, -1, 0.25, 8), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(gridLines(g, -1, 0.5, 4), []);
  // the grid ends at 127 * 0.5 = 63.5 although the domain goes on
  const top = gridLines(g, 62.9, 0.1, 20);
  assert.deepEqual(top, [63, 63.5]);
  assert.deepEqual(gridLines(quantGrid('int8', [1, 1], undefined, 0)!, -1, 0.1, 20), []);
});

test('clipped share: QuantizeLinear rounding (half to even) decides, per tensor and per channel', () => {
  const g = quantGrid('int8', [1], [0], null)!;
  // -129 and -128.6 round below -128; -128.5 rounds to -128 (even); 127.5 rounds to 128 (even); 200 above
  const c = clipShare([-129, -128.6, -128.5, 0, 127.4, 127.5, 200], [7], g);
  assert.deepEqual(c, { share: 4 / 7, below: 2, above: 2, values: 7 });
  // axis 0 of [2, 3]: channel 1 has scale 0.01, so 2 (level 200) clips and -0.5 (level -50) does not
  const pc = quantGrid('int8', [1, 0.01], undefined, 0)!;
  assert.deepEqual(clipShare([1, 2, 3, 1, 2, -0.5], [2, 3], pc), { share: 1 / 6, below: 0, above: 1, values: 6 });
  // axis 1 of [3, 2]: the channels alternate
  const pc1 = quantGrid('int8', [1, 0.01], undefined, 1)!;
  assert.deepEqual(clipShare([1, 1, 2, 2, -300, -0.5], [3, 2], pc1), { share: 2 / 6, below: 1, above: 1, values: 6 });
  assert.throws(() => clipShare([1, 2, 3], [3], pc), /2 scales for axis 0/);
});

test('bad requests get one clear message', async () => {
  await assert.rejects(layerHistograms(SAMPLE_MODEL, 'ReLU32', {}), /need data/);
  await assert.rejects(layerHistograms(SAMPLE_MODEL, 'ReLU32', { data: '/nonexistent/data.npy' }), /data '\/nonexistent\/data.npy' does not exist/);
  await assert.rejects(layerHistograms(SAMPLE_MODEL, 'ReLU32', { data: DATA, bins: 1 }), /2 to 4096 bins/);
  await assert.rejects(layerHistograms(SAMPLE_MODEL, 'ReLU32', { data: DATA, recipe: { version: 1, mode: 'dynamic' } }), /mode must be static/);
});

test('quantlens histograms: the --help example runs as written; --json gives what the core computes; usage errors exit 2', () => {
  const example = /\nExample[^\n]*:\n {2}quantlens (.+)/.exec(HISTOGRAMS_HELP)![1].split(' ');
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/quantlens.ts'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  const text = cli([...example, '--no-cache']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /activation ReLU32_Output_0 over 50 samples/);
  assert.match(text.stdout, /grid: (u?int8) scale [0-9.]+, zero point -?\d+; representable \[0, /);
  const json = cli([...example, '--no-cache', '--json', '--bins', '16']);
  assert.equal(json.status, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.equal(r.activation.histogram.counts.length, 16);
  assert.equal(r.activation.histogram.counts.reduce((a: number, b: number) => a + b, 0), 50 * 8 * 28 * 28);
  const bad = cli(['histograms', SAMPLE_MODEL, '--data', DATA]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /needs --node/);
});

test('sparkline: empty bins blank, the fullest bin the full block, at most 64 characters', () => {
  assert.equal(sparkline({ start: 0, width: 1, counts: [0, 1, 8, 4], values: 13, nonFinite: 0, min: 0, max: 4 }), ' ▂█▅');
  assert.equal(sparkline({ start: 0, width: 1, counts: new Array(128).fill(1), values: 128, nonFinite: 0, min: 0, max: 128 }).length, 64);
});
