/** Evaluation metrics against hand-worked values. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  agreement, argmax, classCounts, confusionMatrix, cosine, energy, errorSums, labelRank, macroF1, mae, mean, mse, perClassRecall, sqnrDb, topK,
} from '../../src/core/eval/metrics';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('argmax takes the first maximum, within a window', () => {
  assert.equal(argmax([0.1, 0.5, 0.5, 0.2]), 1);
  assert.equal(argmax([9, 1, 3, 2], 1, 3), 1);
  assert.equal(argmax([NaN, 1, 2]), 2, 'a NaN does not win');
});

test('labelRank: classes above the label, ties to the lower index; top-k from ranks', () => {
  const s = [0.1, 0.5, 0.5, 0.2];
  assert.deepEqual([0, 1, 2, 3].map((l) => labelRank(s, l)), [3, 0, 1, 2]);
  assert.equal(labelRank([7, 0.1, 0.5], 0, 1, 2), 1, 'window');
  assert.equal(labelRank([NaN, 1, 2], 0), 2, 'a NaN label score ranks last');
  // ranks 0,1,2,3,0: top-1 2/5, top-2 3/5; weights 3,0,0,0,1 -> top-1 4/4
  const ranks = [0, 1, 2, 3, 0];
  close(topK(ranks, 1), 2 / 5);
  close(topK(ranks, 2), 3 / 5);
  close(topK(ranks, 1, [3, 0, 0, 0, 1]), 1);
});

test('confusion matrix, macro F1, per-class recall: a worked 3-class case', () => {
  const labels = [0, 1, 2, 2, 1, 0];
  const preds = [0, 2, 2, 2, 1, 1];
  const m = confusionMatrix(labels, preds, 3);
  assert.deepEqual([...m], [1, 1, 0, 0, 1, 1, 0, 0, 2]);
  // TP 1,1,2  FP 0,1,1  FN 1,1,0 -> F1 2/3, 1/2, 4/5
  const c = classCounts(labels, preds, 3);
  assert.deepEqual([[...c.tp], [...c.fp], [...c.fn]], [[1, 1, 2], [0, 1, 1], [1, 1, 0]]);
  close(macroF1(c), (2 / 3 + 1 / 2 + 4 / 5) / 3);
  assert.deepEqual(perClassRecall(c), [1 / 2, 1 / 2, 1]);
  close(mean(labels.map((l, i) => Number(l === preds[i]))), 4 / 6);
  // weights 2,0,1,1,1,1: rows [2,1,0] [0,1,0] [0,0,2] -> F1 4/5, 2/3, 1
  const mw = confusionMatrix(labels, preds, 3, [2, 0, 1, 1, 1, 1]);
  assert.deepEqual([...mw], [2, 1, 0, 0, 1, 0, 0, 0, 2]);
  close(macroF1(classCounts(labels, preds, 3, [2, 0, 1, 1, 1, 1])), (4 / 5 + 2 / 3 + 1) / 3);
});

test('macro F1 counts a class that is only predicted (as scikit-learn does) and skips absent ones', () => {
  const c = classCounts([0, 0], [0, 1], 3);
  close(macroF1(c), (2 / 3 + 0) / 2);
  assert.deepEqual(perClassRecall(c), [1 / 2, null, null]);
  assert.ok(Number.isNaN(macroF1(classCounts([], [], 2))));
});

test('agreement, mean with weights', () => {
  close(agreement([1, 2, 3, 4], [1, 0, 3, 0]), 0.5);
  close(agreement([1, 2, 3, 4], [1, 0, 3, 0], [0, 1, 1, 0]), 0.5);
  close(mean([1, 0, 1], [1, 2, 1]), 2 / 4);
  assert.ok(Number.isNaN(mean([])));
});

test('MSE, MAE, largest error, cosine, SQNR', () => {
  const a = [1, 2, 3];
  const b = [1, 4, 0];
  assert.deepEqual(errorSums(a, b), { sq: 13, abs: 5, max: 3 });
  close(mse(a, b), 13 / 3);
  close(mae(a, b), 5 / 3);
  assert.ok(Number.isNaN(errorSums([NaN, 1], [0, 1]).max));
  close(cosine([1, 0], [1, 1]), 1 / Math.SQRT2);
  close(cosine([1, 2], [-2, -4]), -1);
  assert.equal(cosine([0, 0], [0, 0]), 1);
  assert.equal(cosine([0, 0], [1, 0]), 0);
  // x = [3, 4], y = [3, 3]: signal 25, noise 1 -> 10 log10 25
  close(sqnrDb(energy([3, 4]), errorSums([3, 4], [3, 3]).sq), 10 * Math.log10(25));
  assert.equal(sqnrDb(25, 0), Infinity);
  close(sqnrDb(1, 10), -10);
});
