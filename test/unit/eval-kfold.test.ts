/**
 * k-fold pieces against hand-worked values: the folds partition the samples (sizes within one of
 * each other), the spread (mean, sample std, min, max), index ranges; and one clear message for a
 * fold count the data cannot take or a mode that does not calibrate.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkFolds, foldRanges, kfoldEvaluate, spread, toRanges } from '../../src/core/eval/kfold';
import { REPO_ROOT, SAMPLE_MODEL } from '../helpers/paths';

const IMAGES = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');

test('folds: 10 samples in 4 folds are [0,2) [2,5) [5,7) [7,10); every n, k partitions 0..n-1 with sizes within one', () => {
  assert.deepEqual(foldRanges(10, 4), [[0, 2], [2, 5], [5, 7], [7, 10]]);
  for (let n = 2; n <= 30; n++) {
    for (let k = 2; k <= n; k++) {
      const r = foldRanges(n, k);
      assert.equal(r[0][0], 0);
      assert.equal(r[k - 1][1], n);
      for (let i = 1; i < k; i++) assert.equal(r[i][0], r[i - 1][1]);
      const sizes = r.map(([a, b]) => b - a);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1 && Math.min(...sizes) >= 1, `${n}/${k}: ${sizes}`);
    }
  }
});

test('spread: [0.98, 1, 1, 1] has mean 0.995, sample std 0.01, min 0.98, max 1', () => {
  const s = spread([0.98, 1, 1, 1]);
  assert.ok(Math.abs(s.mean - 0.995) < 1e-15);
  // squares: 0.015^2 + 3 * 0.005^2 = 0.0003, / 3 = 0.0001
  assert.ok(Math.abs(s.std - 0.01) < 1e-15);
  assert.deepEqual([s.min, s.max], [0.98, 1]);
  assert.deepEqual(spread([2, 4, 9]), { mean: 5, std: Math.sqrt(13), min: 2, max: 9 });
});

test('index ranges: consecutive indices join', () => {
  assert.deepEqual(toRanges([0, 1, 2, 5, 6, 9]), [[0, 3], [5, 7], [9, 10]]);
  assert.deepEqual(toRanges([]), []);
});

test('bad fold counts and modes get one clear message', async () => {
  assert.throws(() => checkFolds(1), /at least 2 folds \(got 1\)/);
  assert.throws(() => checkFolds(2.5), /at least 2 folds \(got 2.5\)/);
  assert.throws(() => checkFolds(5, 4), /5 folds need at least 5 samples; the data gives 4/);
  const data = { data: IMAGES };
  await assert.rejects(kfoldEvaluate(SAMPLE_MODEL, { ...data, folds: 1 }), /at least 2 folds/);
  await assert.rejects(kfoldEvaluate(SAMPLE_MODEL, { ...data, folds: 201 }), /201 folds need at least 201 samples; the data gives 200/);
  await assert.rejects(kfoldEvaluate(SAMPLE_MODEL, { ...data, folds: 4, limit: 3 }), /4 folds need at least 4 samples; the data gives 3/);
  await assert.rejects(kfoldEvaluate(SAMPLE_MODEL, { ...data, folds: 4, recipe: { version: 1, mode: 'dynamic' } }), /only static quantization does \(the recipe's mode is dynamic\)/);
});
