/**
 * Image loading and pre-processing, checked by hand on tiny synthetic images written here
 * (PNG via pngjs, JPEG via jpeg-js), and on the ImageNet sample JPEGs.
 */
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { openCalibrationData } from '../../src/core/data/loader';
import { decodeImage } from '../../src/core/data/image';
import { DataError } from '../../src/core/data/errors';
import type { InputSpec, Sample, TensorArray } from '../../src/core/data/tensor';
import { sharedModel } from '../helpers/paths';

/** Values of any sample array (bigint for 64-bit integers). */
const arr = (a: TensorArray): (number | bigint)[] => Array.from(a as ArrayLike<number | bigint>);

let tmp = '';
before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-img-')); });
after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

/** Writes a PNG whose pixel (x, y) is rgb(x, y). */
function writePng(name: string, w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): string {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      const i = 4 * (y * w + x);
      png.data[i] = r; png.data[i + 1] = g; png.data[i + 2] = b; png.data[i + 3] = 255;
    }
  }
  const f = path.join(tmp, name);
  fs.writeFileSync(f, PNG.sync.write(png));
  return f;
}

async function first(file: string, input: InputSpec, image?: object): Promise<Sample> {
  for await (const s of await openCalibrationData(file, { inputs: [input], image })) return s;
  throw new Error('no sample');
}

const R = (x: number, y: number) => 10 * x + 40 * y;
const pixel = (x: number, y: number): [number, number, number] => [R(x, y), 255 - R(x, y), 60];
const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

/**
 * PIL's bilinear 4 -> 2 (see resample.ts): output 0 centres on source 1.0 with support 2, taps at
 * 0, 1, 2 weighted by the triangle at distances 0.25, 0.25, 0.75 (in units of 2): 3/7, 3/7, 1/7;
 * output 1 takes sources 1, 2, 3 with 1/7, 3/7, 3/7. Rows of R = 10x + 40y: 50/7 = 7.14 -> 7 and
 * 160/7 = 22.86 -> 23 (plus 40y); then columns: 7 + 200/7 = 35.57 -> 36, 23 + 200/7 -> 52,
 * 7 + 640/7 = 98.43 -> 98, 23 + 640/7 -> 114.
 */
const R_2x2 = [36, 52, 98, 114];

describe('image pre-processing (hand-worked)', () => {
  test('bilinear 4x4 -> 2x2 as PIL (antialiased, 8-bit); NCHW, scale 0-1', async () => {
    const f = writePng('a.png', 4, 4, pixel);
    const s = await first(f, { name: 'img', dtype: 'float32', shape: [1, 3, 2, 2] });
    const r = R_2x2;
    assert.deepEqual(s.img.shape, [1, 3, 2, 2]);
    close(s.img.data as Float32Array, [...r, ...r.map((v) => 255 - v), 60, 60, 60, 60].map((v) => v / 255));
  });

  test('mean / std per channel, NHWC, grayscale, 0-255 and uint8 inputs', async () => {
    const f = path.join(tmp, 'a.png');
    const r = R_2x2;
    const mean = [0.5, 0.5, 0.5];
    const std = [0.25, 0.5, 1];
    const s = await first(f, { name: 'img', dtype: 'float32', shape: [1, 3, 2, 2] }, { mean, std });
    const want = [r, r.map((v) => 255 - v), [60, 60, 60, 60]].flatMap((ch, c) => ch.map((v) => (v / 255 - mean[c]) / std[c]));
    close(s.img.data as Float32Array, want);
    // NHWC is inferred from [1, H, W, 3]; values interleave per pixel
    const n = await first(f, { name: 'img', dtype: 'float32', shape: [1, 2, 2, 3] }, { scale: '0-255' });
    close(n.img.data as Float32Array, r.flatMap((v) => [v, 255 - v, 60]));
    // one channel: gray = 0.299 R + 0.587 G + 0.114 B = 156.525 - 2.88x - 11.52y, then resized:
    // rows 154.47 - 11.52y -> 154, 143, 131, 120 and 149.94 - 11.52y -> 150, 138, 127, 115;
    // columns (3, 3, 1) / 7 and (1, 3, 3) / 7: 1022/7 = 146, 991/7 -> 142, 896/7 = 128, 864/7 -> 123
    const g = await first(f, { name: 'img', dtype: 'float32', shape: [1, 1, 2, 2] }, { scale: '0-255' });
    close(g.img.data as Float32Array, [146, 142, 128, 123]);
    // BGR order
    const b = await first(f, { name: 'img', dtype: 'float32', shape: [1, 3, 2, 2] }, { scale: '0-255', color: 'bgr' });
    close((b.img.data as Float32Array).subarray(0, 4), [60, 60, 60, 60]);
    // uint8 input: pixels as integers
    const u = await first(f, { name: 'img', dtype: 'uint8', shape: [1, 2, 2, 3] }, { scale: '0-255' });
    assert.deepEqual(arr(u.img.data), r.flatMap((v) => [v, 255 - v, 60]));
    await assert.rejects(first(f, { name: 'img', dtype: 'uint8', shape: [1, 2, 2, 3] }), /set image.scale/);
  });

  test('centre crop, shorter-side resize, upsampling', async () => {
    const f = path.join(tmp, 'a.png');
    // crop 2x2 from 4x4: top = left = 1 -> pixels (1..2, 1..2)
    const c = await first(f, { name: 'img', dtype: 'float32', shape: [1, 3, 2, 2] }, { crop: { width: 2, height: 2 }, scale: '0-255' });
    close((c.img.data as Float32Array).subarray(0, 4), [R(1, 1), R(2, 1), R(1, 2), R(2, 2)]);
    // 6x4 image, shorter side 2 -> 3x2, then a 2x2 crop at left = round(0.5) = 0 (half to even).
    // Rows 6 -> 3: output 1 centres on 3.0, taps 1..4 weighted (1, 3, 3, 1) / 8: 10 * 20 / 8 = 25
    // (plus 40y); output 0 as in 4 -> 2 (7). Columns as in 4 -> 2: 36, 25 + 200/7 -> 54, 98, 25 + 640/7 -> 116
    const wide = writePng('wide.png', 6, 4, pixel);
    const s = await first(wide, { name: 'img', dtype: 'float32', shape: [1, 3, 2, 2] }, { resize: { shorterSide: 2 }, crop: { width: 2, height: 2 }, scale: '0-255' });
    close((s.img.data as Float32Array).subarray(0, 4), [36, 54, 98, 116]);
    // 2x1 -> 4x1 (support 1, plain linear): source x = (X + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25;
    // at the edges only the pixel inside the image has weight, normalised to 1
    const two = writePng('two.png', 2, 1, (x) => [100 * x, 0, 0]);
    const up = await first(two, { name: 'img', dtype: 'float32', shape: [1, 3, 1, 4] }, { scale: '0-255' });
    close((up.img.data as Float32Array).subarray(0, 4), [0, 25, 75, 100]);
  });

  test('mismatches name the input and the shapes', async () => {
    const f = path.join(tmp, 'a.png');
    const input: InputSpec = { name: 'data', dtype: 'float32', shape: [1, 3, 224, 224] };
    await assert.rejects(
      openCalibrationData(f, { inputs: [input], image: { resize: { shorterSide: 256 }, crop: { width: 200, height: 200 } } }),
      (e: unknown) => e instanceof DataError && e.reason === 'shape-mismatch' && e.input === 'data'
        && /Input "data" expects \[1,3,224,224\] but the image pre-processing produces \[1,3,200,200\]/.test(e.message),
    );
    await assert.rejects(openCalibrationData(f, { inputs: [input], image: { color: 'grayscale' } }), /has 3 channels but the images are converted to grayscale/);
    await assert.rejects(openCalibrationData(f, { inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 'h', 'w'] }] }), /no fixed height and width/);
    await assert.rejects(first(f, { name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] }, { crop: { width: 8, height: 8 } }), /8x8 centre crop does not fit in the 4x4 image/);
    await assert.rejects(openCalibrationData(f, { inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 2, 2] }], image: { mean: [1, 2] } }), /mean has 2 values/);
    const notImage = path.join(tmp, 'broken.png');
    fs.writeFileSync(notImage, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2]));
    await assert.rejects(first(notImage, { name: 'x', dtype: 'float32', shape: [1, 3, 2, 2] }), (e: unknown) => e instanceof DataError && e.reason === 'bad-file');
  });
});

describe('JPEG', () => {
  test('a flat colour survives a quality-100 round trip', () => {
    const w = 16;
    const data = new Uint8Array(w * w * 4);
    for (let i = 0; i < w * w; i++) data.set([200, 100, 50, 255], 4 * i);
    const bytes = jpeg.encode({ data, width: w, height: w }, 100).data;
    const img = decodeImage(new Uint8Array(bytes), 'flat.jpg');
    assert.deepEqual([img.width, img.height], [w, w]);
    for (let i = 0; i < w * w; i++) {
      assert.ok(Math.abs(img.data[4 * i] - 200) <= 3 && Math.abs(img.data[4 * i + 1] - 100) <= 3 && Math.abs(img.data[4 * i + 2] - 50) <= 3, `pixel ${i}`);
    }
  });

  test('ImageNet samples: resize 256, crop 224, normalise', async () => {
    const dir = sharedModel('data', 'imagenet-samples');
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const data = await openCalibrationData(dir, {
      inputs: [{ name: 'data', dtype: 'float32', shape: ['N', 3, 224, 224] }],
      image: { resize: { shorterSide: 256 }, crop: { width: 224, height: 224 }, mean, std },
      limit: 3,
    });
    assert.equal(data.files.length, 100);
    let n = 0;
    for await (const s of data) {
      assert.deepEqual(s.data.shape, [1, 3, 224, 224]);
      const d = s.data.data as Float32Array;
      for (let c = 0; c < 3; c++) {
        const lo = (0 - mean[c]) / std[c] - 1e-5;
        const hi = (1 - mean[c]) / std[c] + 1e-5;
        let mn = Infinity;
        let mx = -Infinity;
        for (let i = c * 224 * 224; i < (c + 1) * 224 * 224; i++) { mn = Math.min(mn, d[i]); mx = Math.max(mx, d[i]); }
        assert.ok(mn >= lo && mx <= hi && mx - mn > 0.5, `channel ${c}: ${mn}..${mx}`);
      }
      n++;
    }
    assert.equal(n, 3);
    assert.ok(data.warnings.some((w) => /labels\.tsv/.test(w)));
  });

  test('a resize to the image\'s own size leaves the decoded pixels unchanged', async () => {
    const f = sharedModel('data', 'images', 'ort-examples', 'cat.jpg');
    const img = decodeImage(new Uint8Array(fs.readFileSync(f)), f);
    const s = await first(f, { name: 'x', dtype: 'float32', shape: [1, img.height, img.width, 3] }, { scale: '0-255' });
    const d = s.x.data as Float32Array;
    for (const i of [0, 1, 1000, img.width * img.height - 1]) {
      assert.deepEqual([d[3 * i], d[3 * i + 1], d[3 * i + 2]], [img.data[4 * i], img.data[4 * i + 1], img.data[4 * i + 2]]);
    }
  });
});
