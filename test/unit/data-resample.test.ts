/**
 * PIL-compatible bilinear resize: hand-worked taps and values of PIL's algorithm (triangle filter
 * with support = scale when shrinking, weights normalised, 22-bit fixed point, each pass rounded
 * to 8 bits), then bit-exact agreement with Pillow itself (Debian's python3-pil, installed by
 * scripts/setup-tools.sh) on random planes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { bilinearTaps, resizeBilinearPil } from '../../src/core/data/resample';
import { mulberry32 } from '../../src/core/random';
import { SYSTEM_PYTHON } from '../helpers/paths';

const ONE = 2 ** 22;
const fixed = (w: number) => Math.floor(w * ONE + 0.5);
const plane = (v: number[]) => Float32Array.from(v);

test('taps: 4 -> 2 covers three source pixels per output with weights 3/7, 3/7, 1/7', () => {
  // output 0 centres on 1.0 with support 2: sources 0, 1, 2 have centres 0.5, 1.5, 2.5, at
  // -0.5, 0.5, 1.5 from it; triangle(d / 2) = 0.75, 0.75, 0.25, normalised 3/7, 3/7, 1/7
  const t = bilinearTaps(4, 2);
  assert.deepEqual([...t.first], [0, 1]);
  assert.deepEqual([...t.count], [3, 3]);
  assert.deepEqual([...t.weights.subarray(0, 3)], [fixed(3 / 7), fixed(3 / 7), fixed(1 / 7)]);
  assert.deepEqual([...t.weights.subarray(t.width, t.width + 3)], [fixed(1 / 7), fixed(3 / 7), fixed(3 / 7)]);
});

test('3 -> 2 (scale 1.5): weights 5/8, 3/8 and 3/8, 5/8, unlike two-tap half-pixel bilinear', () => {
  // output 0: centre 0.75, support 1.5, sources 0 and 1 at (x + 0.5 - 0.75) / 1.5 = -1/6, 1/2
  // -> 5/6, 1/2 -> 5/8, 3/8. Output 1: centre 2.25, sources 1, 2 -> 3/8, 5/8.
  const t = bilinearTaps(3, 2);
  assert.deepEqual([...t.first], [0, 1]);
  assert.deepEqual([...t.count], [2, 2]);
  // [0, 80, 160]: 3/8 * 80 = 30; 3/8 * 80 + 5/8 * 160 = 130 (half-pixel bilinear would give 20, 140)
  assert.deepEqual([...resizeBilinearPil(plane([0, 80, 160]), 3, 1, 2, 1)], [30, 130]);
});

test('each pass rounds half up to 8 bits and only a changed axis is resampled', () => {
  // 2 -> 1: weights 1/2, 1/2; 0.5 -> 1 and 1.5 -> 2 (half up, not half to even)
  assert.deepEqual([...resizeBilinearPil(plane([0, 1]), 2, 1, 1, 1)], [1]);
  assert.deepEqual([...resizeBilinearPil(plane([1, 2]), 2, 1, 1, 1)], [2]);
  // same size: values pass through, not rounded
  assert.deepEqual([...resizeBilinearPil(plane([0.25, 1.75]), 2, 1, 2, 1)], [0.25, 1.75]);
  // rounding after the horizontal pass: rows [0, 1] and [0, 0] -> 1 and 0 -> column 2 -> 1: 0.5 -> 1;
  // one unrounded 2-D average would be 0.25 -> 0
  assert.deepEqual([...resizeBilinearPil(plane([0, 1, 0, 0]), 2, 2, 1, 1)], [1]);
  // enlarging keeps plain linear interpolation, edges take the one pixel inside
  assert.deepEqual([...resizeBilinearPil(plane([0, 100]), 2, 1, 4, 1)], [0, 25, 75, 100]);
});

/** Pillow's resize of an 8-bit plane, run in Debian's python3 (python3-pil). */
function pillowResize(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const script = 'import sys\nfrom PIL import Image\nsw,sh,dw,dh=map(int,sys.argv[1:5])\n' +
    'im=Image.frombytes("L",(sw,sh),sys.stdin.buffer.read())\n' +
    'sys.stdout.buffer.write(im.resize((dw,dh),Image.BILINEAR).tobytes())';
  const out = execFileSync(SYSTEM_PYTHON, ['-c', script, String(sw), String(sh), String(dw), String(dh)], { input: src });
  return new Uint8Array(out);
}

test('bit-exact against Pillow on random planes, shrinking and enlarging, odd factors', () => {
  const rnd = mulberry32(12);
  const cases: [number, number, number, number][] = [[37, 23, 11, 9], [500, 375, 341, 256], [333, 500, 256, 384], [7, 5, 19, 13], [64, 48, 64, 17], [9, 30, 4, 30]];
  for (const [sw, sh, dw, dh] of cases) {
    const src = new Uint8Array(sw * sh);
    for (let i = 0; i < src.length; i++) src[i] = Math.floor(rnd() * 256);
    const want = pillowResize(src, sw, sh, dw, dh);
    const got = resizeBilinearPil(Float32Array.from(src), sw, sh, dw, dh);
    assert.equal(got.length, want.length);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) diff++;
    assert.equal(diff, 0, `${sw}x${sh} -> ${dw}x${dh}: ${diff} of ${want.length} values differ from Pillow`);
  }
});
