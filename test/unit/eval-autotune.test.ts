/**
 * Autotune's pure pieces against hand-worked values: the budget's values of quantized outputs
 * against float ones (SQNR, agreement, accuracy drop) and the held-out split.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { compareOutputs, holdoutCount } from '../../src/core/eval/autotune';

test('values of outputs against the float outputs and the labels', () => {
  const ref = [Float32Array.of(1, 0), Float32Array.of(0, 2)];
  const out = [Float32Array.of(1, 0.5), Float32Array.of(1, 0)];
  const v = compareOutputs(ref, out, [0, 1]);
  // signal 1 + 4 = 5; noise 0.25 + 1 + 4 = 5.25
  assert.ok(Math.abs(v.sqnr! - 10 * Math.log10(5 / 5.25)) < 1e-12);
  // float predicts 0, 1; quantized 0, 0: agreement 1 of 2, float right twice, quantized once
  assert.equal(v.agreement, 50);
  assert.equal(v['accuracy-drop'], 50);
  assert.deepEqual(Object.keys(compareOutputs(ref, ref)), ['sqnr', 'agreement']);
  assert.equal(compareOutputs(ref, ref).sqnr, Infinity);
});

test('held-out split: a count, a fraction, the default quarter, and at least one sample each side', () => {
  assert.equal(holdoutCount(32, 12), 12);
  assert.equal(holdoutCount(32, 0.25), 8);
  assert.equal(holdoutCount(32, undefined), 8);
  assert.equal(holdoutCount(10, 0.01), 1);
  assert.equal(holdoutCount(10, 50), 9);
  assert.throws(() => holdoutCount(10, -1), /held-out share must be a count or a fraction/);
  assert.throws(() => holdoutCount(1, 1), /at least 2 samples/);
});
