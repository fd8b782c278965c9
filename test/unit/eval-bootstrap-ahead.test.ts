/**
 * Bootstrap draws made ahead in a worker thread, groups streamed to it as they are known: the
 * groups are groupSamples' and the counts per group of every resample equal the in-thread draws
 * (resampleCounts with groupOf) for the same seed, so the intervals are identical; a wrong sample
 * count gives nothing; small jobs stay in the thread.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bootstrapIntervals, drawState, groupSamples, meanDifference, resampleCounts } from '../../src/core/eval/bootstrap';
import { drawAhead } from '../../src/core/eval/bootstrapAhead';
import { mulberry32 } from '../../src/core/random';

test('the worker\'s counts per group are the in-thread draws, and give the same intervals', async () => {
  const n = 3001;
  const resamples = 900;
  const seed = 7;
  const rnd = mulberry32(3);
  const keys = Array.from({ length: n }, () => ['cat', 'dog', 'owl', 'ant', 'bee'][Math.floor(rnd() * 5)]);
  const ahead = drawAhead(n, { resamples, seed });
  assert.ok(ahead, 'started');
  try {
    // every sample's group as it becomes known; numbered by first appearance, as groupSamples does
    keys.forEach((k) => ahead.add(k));
    const { groupOf, representatives } = ahead.groups();
    assert.deepEqual({ groupOf, representatives }, groupSamples(n, (i) => keys[i]));
    // counts are given only once every resample is drawn (else the caller draws in its thread)
    await ahead.drawn;
    const drawn = await ahead.counts();
    assert.ok(drawn);
    assert.equal(drawn.length, resamples * 5);
    const state = drawState(seed);
    const counts = new Uint32Array(5);
    for (let b = 0; b < resamples; b++) {
      resampleCounts(state, counts, groupOf);
      assert.deepEqual(Array.from(drawn.subarray(b * 5, (b + 1) * 5)), Array.from(counts), `resample ${b}`);
    }
    // a statistic over the groups: the same interval from the drawn counts as from drawing here
    const a = [0.9, 0.2, 0.5, 0.7, 0.1];
    const b = [0.8, 0.3, 0.5, 0.6, 0.4];
    const stat = meanDifference(a, b, n);
    const here = bootstrapIntervals(n, [stat], { resamples, seed, groupOf });
    const there = bootstrapIntervals(n, [stat], { resamples, seed, groupOf, drawn });
    assert.deepEqual(there, here);
    assert.ok(here[0].low < here[0].high);
    // the counts are really used: other counts give another interval
    const other = bootstrapIntervals(n, [stat], { resamples, seed, groupOf, drawn: drawn.map((c, i) => (i % 5 === 4 ? 0 : c)) });
    assert.notDeepEqual(other, here);
  } finally {
    ahead.close();
  }
});

test('a sample count other than the one announced gives no counts (the caller draws in its thread)', async () => {
  const ahead = drawAhead(2500, { resamples: 1000 })!;
  try {
    for (let i = 0; i < 2499; i++) ahead.add(String(i % 3));
    await ahead.drawn;
    assert.equal(await ahead.counts(), undefined);
  } finally {
    ahead.close();
  }
});

test('small jobs are drawn in this thread', () => {
  assert.equal(drawAhead(200, { resamples: 2000 }), undefined);
  assert.equal(drawAhead(0), undefined);
});
