/**
 * Input shifts against hand-worked values: brightness and scale exact, the Gaussian kernel's
 * weights, blur of a delta image equal to the kernel's outer product (and at a corner, with the
 * edge repeated), noise with the requested std over many values, level parsing and its messages.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  addNoise, blurImage, brightness, DEFAULT_LEVELS, gaussianKernel, imageLayout, parseShiftLevels, scaleValues, SHIFT_KINDS,
} from '../../src/core/eval/shifts';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('brightness adds and scale multiplies, exactly', () => {
  assert.deepEqual([...brightness(Float32Array.of(1, 2.5, -3, 0), 0.25)], [1.25, 2.75, -2.75, 0.25]);
  assert.deepEqual([...scaleValues(Float32Array.of(1, -2, 0.5, 0), 1.5)], [1.5, -3, 0.75, 0]);
});

test('Gaussian kernel: sigma 1 has radius 3 and weights exp(-i^2/2) / 2.50595', () => {
  const k = gaussianKernel(1);
  assert.equal(k.length, 7);
  // 1 + 2 (e^-0.5 + e^-2 + e^-4.5) = 2.5059498788
  const expected = [0.0111089965, 0.1353352832, 0.6065306597, 1, 0.6065306597, 0.1353352832, 0.0111089965].map((v) => v / 2.5059498788);
  k.forEach((v, i) => close(v, expected[i], 1e-9, `k[${i}]`));
  assert.deepEqual([...gaussianKernel(0)], [1]);
  assert.equal(gaussianKernel(0.5).length, 5);
});

test('blur of a delta image is the kernel outer product; other channels stay zero (NCHW and NHWC)', () => {
  const k = gaussianKernel(1);
  const H = 9, W = 11;
  for (const layout of ['NCHW', 'NHWC'] as const) {
    const shape = layout === 'NCHW' ? [1, 2, H, W] : [1, H, W, 2];
    const at = (c: number, y: number, x: number): number => (layout === 'NCHW' ? (c * H + y) * W + x : (y * W + x) * 2 + c);
    const img = new Float32Array(2 * H * W);
    img[at(1, 4, 5)] = 1;
    const out = blurImage(img, shape, layout, k);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dy = y - 4, dx = x - 5;
        const want = Math.abs(dy) <= 3 && Math.abs(dx) <= 3 ? k[dy + 3] * k[dx + 3] : 0;
        close(out[at(1, y, x)], want, 1e-7, `${layout} (${y}, ${x})`);
        assert.equal(out[at(0, y, x)], 0);
      }
    }
  }
});

test('blur at a corner repeats the edge pixel: [0.25, 0.5, 0.25] on a corner delta gives 0.5625 / 0.1875 / 0.0625', () => {
  const img = new Float32Array(16);
  img[0] = 1;
  const out = blurImage(img, [1, 1, 4, 4], 'NCHW', Float64Array.of(0.25, 0.5, 0.25));
  // rows: x0 = 0.25*1 (edge repeated) + 0.5*1 = 0.75, x1 = 0.25; then the same down the columns
  const want = [0.5625, 0.1875, 0, 0, 0.1875, 0.0625, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  out.forEach((v, i) => close(v, want[i], 1e-7, `pixel ${i}`));
  // a flat image stays flat
  const flat = blurImage(new Float32Array(16).fill(3), [1, 1, 4, 4], 'NCHW', gaussianKernel(2));
  flat.forEach((v) => close(v, 3, 1e-6, 'flat'));
});

test('noise has the requested std and zero mean over 200,000 values, is seeded, and sigma 0 is the identity', () => {
  const x = new Float32Array(200_000).fill(5);
  const y = addNoise(x, 0.3, 42);
  let s = 0, ss = 0;
  for (const v of y) { s += v - 5; ss += (v - 5) ** 2; }
  const m = s / y.length;
  const sd = Math.sqrt(ss / y.length - m * m);
  close(m, 0, 0.003, 'mean');
  close(sd, 0.3, 0.003, 'std');
  assert.deepEqual(addNoise(x.subarray(0, 100), 0.3, 42), y.subarray(0, 100));
  assert.notDeepEqual(addNoise(x.subarray(0, 100), 0.3, 43), y.subarray(0, 100));
  assert.deepEqual(addNoise(Float32Array.of(1, 2, 3), 0, 7), Float32Array.of(1, 2, 3));
});

test('image layout: channels (1, 3, 4) last is NHWC, otherwise NCHW; not 4-D has none', () => {
  assert.equal(imageLayout([1, 1, 28, 28]), 'NCHW');
  assert.equal(imageLayout([1, 3, 224, 224]), 'NCHW');
  assert.equal(imageLayout([1, 224, 224, 3]), 'NHWC');
  assert.equal(imageLayout([1, 784]), undefined);
});

test('levels: kinds with lists, defaults, a bare list for every kind; one message for what does not parse', () => {
  assert.deepEqual(parseShiftLevels('noise=0.1,0.2;blur=1'), [{ kind: 'noise', levels: [0.1, 0.2] }, { kind: 'blur', levels: [1] }]);
  assert.deepEqual(parseShiftLevels('brightness scale=-0.5'), [{ kind: 'brightness', levels: DEFAULT_LEVELS.brightness }, { kind: 'scale', levels: [-0.5] }]);
  assert.deepEqual(parseShiftLevels('0.1,0.3').map((s) => s.kind), [...SHIFT_KINDS]);
  assert.throws(() => parseShiftLevels('fog=1'), /Unknown shift kind 'fog'; the kinds are noise, brightness, scale, blur/);
  assert.throws(() => parseShiftLevels('noise=0.1,x'), /Level 'x' of noise is not a number/);
  assert.throws(() => parseShiftLevels('noise=0.1,'), /Level '' of noise is not a number/);
  assert.throws(() => parseShiftLevels('blur=-1'), /Level '-1' of blur is negative/);
  assert.throws(() => parseShiftLevels('scale=-1'), /factor 1 \+ level zero or negative/);
  assert.throws(() => parseShiftLevels('noise;noise=1'), /given twice/);
  assert.throws(() => parseShiftLevels(' '), /--levels is empty/);
});
