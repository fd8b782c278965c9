/**
 * JPEG decoding close to libjpeg-turbo: hand-worked colour conversion and fancy upsampling, then
 * agreement with Pillow's decoder (libjpeg-turbo, Debian's python3-pil) on JPEGs Pillow writes
 * with 4:4:4, 4:2:2 and 4:2:0 chroma at odd sizes, and on grayscale and Adobe CMYK ones.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as jpeg from 'jpeg-js';
import { decodeImage } from '../../src/core/data/image';
import { fancyUpsample, jpegFrameInfo, ycbcrToRgb } from '../../src/core/data/jpeg';
import { SYSTEM_PYTHON } from '../helpers/paths';

test('YCbCr -> RGB rounds as libjpeg does (jdcolor.c fixed point)', () => {
  // Cr = 200: R = 100 + 1.402 * 72 = 200.94 -> 201; G = 100 - 0.71414 * 72 = 48.58 -> 49
  // (in 16-bit fixed point: floor((32768 - 46802 * 72) / 65536) = -51); B = 100
  assert.deepEqual(ycbcrToRgb(100, 128, 200), [201, 49, 100]);
  assert.deepEqual(ycbcrToRgb(128, 128, 128), [128, 128, 128]);
  // R = 250 + 178 clamps to 255; G = 250 + floor((32768 - 46802 * 127) / 65536) = 250 - 91
  assert.deepEqual(ycbcrToRgb(250, 128, 255), [255, 159, 250]);
});

test('fancy upsampling: 3/4 nearer + 1/4 further sample with libjpeg\'s rounding, edges repeated', () => {
  // h2v1: [0, 100] -> 0, (0 * 3 + 100 + 2) >> 2 = 25, (300 + 0 + 1) >> 2 = 75, 100
  assert.deepEqual([...fancyUpsample(Uint8Array.from([0, 100]), 2, 1, false)], [0, 25, 75, 100]);
  // h2v2 of [[0, 100], [40, 200]]: column sums 3 * nearer row + further row (the row itself
  // above the top), then (3 * this + neighbour + 8 or 7) >> 4, and (4 * this + 8 or 7) >> 4 at the ends.
  // Output row 1 (below row 0): sums 0 * 3 + 40 = 40, 100 * 3 + 200 = 500 ->
  // (160 + 8) >> 4 = 10, (120 + 500 + 7) >> 4 = 39, (1500 + 40 + 8) >> 4 = 96, (2000 + 7) >> 4 = 125
  assert.deepEqual([...fancyUpsample(Uint8Array.from([0, 100, 40, 200]), 2, 2, true)], [
    0, 25, 75, 100,
    10, 39, 96, 125,
    30, 66, 139, 175,
    40, 80, 160, 200,
  ]);
});

test('frame info: sampling factors from the SOF marker', () => {
  const data = new Uint8Array(16 * 16 * 4).fill(200);
  const bytes = new Uint8Array(jpeg.encode({ data, width: 16, height: 16 }, 90).data);
  assert.deepEqual(jpegFrameInfo(bytes), { factors: [{ h: 1, v: 1 }, { h: 1, v: 1 }, { h: 1, v: 1 }], adobe: false });
  assert.equal(jpegFrameInfo(new Uint8Array([0xff, 0xd8, 0x00])), null);
});

/** Pillow writes a textured odd-sized image as JPEG (subsampling 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, grayscale, Adobe CMYK) and its own RGB decode. */
const PILLOW_JPEGS = `
import sys, math
from PIL import Image
d = sys.argv[1]
w, h = 61, 37
px = [(int(128 + 120 * math.sin(x / 3.0 + y / 7.0)), (x * 4 + y * 3) % 256, int(128 + 100 * math.cos(x * y / 50.0))) for y in range(h) for x in range(w)]
im = Image.new("RGB", (w, h)); im.putdata(px)
for s in (0, 1, 2):
    im.save(f"{d}/s{s}.jpg", quality=90, subsampling=s)
    open(f"{d}/s{s}.rgb", "wb").write(Image.open(f"{d}/s{s}.jpg").convert("RGB").tobytes())
im.convert("L").save(f"{d}/gray.jpg", quality=90)
open(f"{d}/gray.rgb", "wb").write(Image.open(f"{d}/gray.jpg").convert("RGB").tobytes())
im.convert("CMYK").save(f"{d}/cmyk.jpg", quality=90)
open(f"{d}/cmyk.rgb", "wb").write(Image.open(f"{d}/cmyk.jpg").convert("RGB").tobytes())
`;

test('close to Pillow (libjpeg-turbo) at 4:4:4, 4:2:2, 4:2:0, grayscale and CMYK; plain jpeg-js is not for YCbCr', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-jpeg-'));
  try {
    execFileSync(SYSTEM_PYTHON, ['-c', PILLOW_JPEGS, tmp]);
    const diff = (a: Uint8Array, ref: Buffer) => {
      let sum = 0;
      let max = 0;
      for (let k = 0; k < ref.length / 3; k++) {
        for (let c = 0; c < 3; c++) { const e = Math.abs(a[4 * k + c] - ref[3 * k + c]); sum += e; max = Math.max(max, e); }
      }
      return { mean: sum / ref.length, max };
    };
    const factors: Record<string, number[]> = { s0: [1, 1], s1: [2, 1], s2: [2, 2], gray: [1, 1], cmyk: [1, 1] };
    for (const name of ['s0', 's1', 's2', 'gray', 'cmyk']) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(tmp, `${name}.jpg`)));
      const ref = fs.readFileSync(path.join(tmp, `${name}.rgb`));
      const info = jpegFrameInfo(bytes)!;
      assert.deepEqual([info.factors[0].h, info.factors[0].v], factors[name]);
      const ours = decodeImage(bytes, name);
      assert.deepEqual([ours.width, ours.height], [61, 37]);
      const d = diff(ours.data, ref);
      // what remains is jpeg-js's IDCT rounding
      assert.ok(d.mean < 0.25 && d.max <= 4, `${name}: mean ${d.mean.toFixed(3)}, max ${d.max} grey levels from Pillow`);
      if (name.startsWith('s')) {
        const plain = diff(jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true }).data, ref);
        assert.ok(plain.mean > d.mean + 0.2, `${name}: plain jpeg-js ${plain.mean.toFixed(3)} vs ours ${d.mean.toFixed(3)}`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
