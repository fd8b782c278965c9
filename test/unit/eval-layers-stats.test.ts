/** Per-layer error accumulators against hand-worked values. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  dequantize, ErrorAccumulator, representableRange, roundHalfEven, SaturationAccumulator, typeRange,
} from '../../src/core/eval/layersStats';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('error sums: SQNR, MSE, cosine and max error over values added in pieces', () => {
  // f = [3, 4, 0, 1], q = [3, 3, 1, 1]: signal 9+16+0+1 = 26, noise 0+1+1+0 = 2
  const acc = new ErrorAccumulator();
  acc.add([3, 4], [3, 3]);
  acc.add([0, 1], [1, 1]);
  const r = acc.result();
  close(r.sqnrDb, 10 * Math.log10(26 / 2));
  close(r.mse, 2 / 4);
  // f.q = 9 + 12 + 0 + 1 = 22; |q|^2 = 9 + 9 + 1 + 1 = 20
  close(r.cosine, 22 / Math.sqrt(26 * 20));
  assert.equal(r.maxAbsError, 1);
  assert.equal(r.values, 4);
});

test('error sums: identical tensors give infinite SQNR, a NaN sticks, lengths must agree', () => {
  const same = new ErrorAccumulator();
  same.add([1, -2], [1, -2]);
  assert.equal(same.result().sqnrDb, Infinity);
  assert.equal(same.result().cosine, 1);
  const nan = new ErrorAccumulator();
  nan.add([1, 2], [NaN, 2]);
  nan.add([0], [5]);
  assert.ok(Number.isNaN(nan.result().maxAbsError));
  assert.throws(() => new ErrorAccumulator().add([1], [1, 2]), /cannot compare 1 values with 2/);
  const zeros = new ErrorAccumulator();
  zeros.add([0, 0], [0, 0]);
  assert.equal(zeros.result().cosine, 1, 'two zero tensors agree');
});

test('saturation: levels outside [qmin, qmax] after rounding, half a step beyond the edge included', () => {
  // uint8, scale 0.5, zero point 10: range [-5, 122.5]
  const q = { scale: 0.5, zeroPoint: 10, ...typeRange('uint8')! };
  assert.deepEqual(representableRange(q), { low: -5, high: 122.5 });
  const s = new SaturationAccumulator(q);
  // -5 -> level 0 (in); -5.2 -> -10.4 -> -10 -> 0 (rounds onto the edge: in); -5.3 -> -10.6 -> -11 -> -1 (out)
  // 122.7 -> 245.4 -> 245 -> 255 (in); 122.8 -> 245.6 -> 246 -> 256 (out); 0 -> 10 (in)
  s.add([-5, -5.2, -5.3]);
  s.add([122.7, 122.8, 0]);
  const r = s.result();
  assert.deepEqual({ below: r.below, above: r.above, values: r.values }, { below: 1, above: 1, values: 6 });
  close(r.rate, 2 / 6);
  // a tie half a step past the edge rounds to even: 122.75 -> 245.5 -> 246 -> 256 (out); int8 -64.25 / 0.5 = -128.5 -> -128 (in)
  const t = new SaturationAccumulator(q);
  t.add([122.75]);
  assert.equal(t.result().above, 1);
  const i8 = new SaturationAccumulator({ scale: 0.5, zeroPoint: 0, ...typeRange('int8')! });
  i8.add([-64.25, -64.75, 63.5, 63.75]);
  // -64.75 -> -129.5 -> -130 (out); 63.5 -> 127 (in); 63.75 -> 127.5 -> 128 (out)
  assert.deepEqual([i8.result().below, i8.result().above], [1, 1]);
});

test('round half to even, as QuantizeLinear rounds', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven).map((x) => x + 0), [0, 2, 2, 0, -2, -2, 2, -3]);
});

test('dequantize: per tensor and per channel along an axis', () => {
  assert.deepEqual(Array.from(dequantize([0, 10, 255], [3], [0.1], [10])).map((x) => Math.round(x * 1e9) / 1e9), [-1, 0, 24.5]);
  // shape [2, 3], axis 0: channel 0 scale 1 zp 0, channel 1 scale 0.5 zp 2
  assert.deepEqual(Array.from(dequantize([1, 2, 3, 2, 4, 6], [2, 3], [1, 0.5], [0, 2], 0)), [1, 2, 3, 0, 1, 2]);
  // axis 1 of [2, 2]: column scales 1 and 10, no zero points
  assert.deepEqual(Array.from(dequantize([1, 1, 2, 2], [2, 2], [1, 10], undefined, 1)), [1, 10, 2, 20]);
  assert.throws(() => dequantize([1, 2], [2], [1, 1, 1], undefined, 0), /3 scales for axis 0 of size 2/);
});
