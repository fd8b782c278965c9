/**
 * ImageNet samples acceptance: `evaluate` of mobilenetv2-12-int8.onnx on the 100 labelled images
 * (labels by file name from labels.tsv) with standard ImageNet pre-processing as torchvision does
 * it on a PIL image: shorter side to 256 with PIL's bilinear (antialiased, 8-bit), centre crop 224
 * at round((size - 224) / 2), RGB / 255, mean / std. Checked against an independent count: the
 * test decodes the JPEGs with jpeg-js (the decoder the product uses), has Pillow itself (Debian's
 * python3-pil) resize and crop them, and ranks the labels in its own onnxruntime session.
 *
 * The manifest's top-1 80 % / top-5 96 % is not reproduced: this pipeline gives top-1 83 % /
 * top-5 96 %, and Pillow's own full pipeline (its libjpeg-turbo decoder included) gives 82 % / 97 %.
 * Eight of the 100 images change their top-1 or top-5 outcome between the two JPEG decoders
 * (jpeg-js differs from libjpeg-turbo by about 0.6 grey levels on average: IDCT and colour
 * rounding, and nearest instead of triangle chroma upsampling in 4:2:0 files), so at 100 samples
 * these figures move by a point or two with the decoder alone.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as jpeg from 'jpeg-js';
import { evaluateModels } from '../../src/core/eval';
import { loadOrt } from '../../src/core/runtime/ort';
import { sharedModel, SYSTEM_PYTHON } from '../helpers/paths';

const MODEL = sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx');
const DIR = sharedModel('data', 'imagenet-samples');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** torchvision Resize(256) + CenterCrop(224) on PIL images, run by Pillow: RGB bytes in, 224x224x3 bytes out per image. */
const PILLOW_RESIZE_CROP = `
import sys
from PIL import Image
d = sys.argv[1]
for name in sys.argv[2:]:
    w, h = map(int, open(f"{d}/{name}.size").read().split())
    im = Image.frombytes("RGB", (w, h), open(f"{d}/{name}.rgb", "rb").read())
    nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    im = im.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
    open(f"{d}/{name}.crop", "wb").write(im.crop((left, top, left + 224, top + 224)).tobytes())
`;

/** [n][3*224*224] normalised NCHW inputs: jpeg-js decoding, Pillow's resize and crop. */
function preprocessAll(files: string[]): Float32Array[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-imagenet-'));
  try {
    const names = files.map((f, i) => {
      const img = jpeg.decode(fs.readFileSync(f), { useTArray: true, formatAsRGBA: true });
      const rgb = new Uint8Array(img.width * img.height * 3);
      for (let k = 0; k < img.width * img.height; k++) rgb.set(img.data.subarray(4 * k, 4 * k + 3), 3 * k);
      fs.writeFileSync(path.join(tmp, `${i}.rgb`), rgb);
      fs.writeFileSync(path.join(tmp, `${i}.size`), `${img.width} ${img.height}`);
      return String(i);
    });
    execFileSync(SYSTEM_PYTHON, ['-c', PILLOW_RESIZE_CROP, tmp, ...names]);
    return names.map((n) => {
      const px = fs.readFileSync(path.join(tmp, `${n}.crop`));
      const out = new Float32Array(3 * 224 * 224);
      for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) out[c * 224 * 224 + i] = (px[3 * i + c] / 255 - MEAN[c]) / STD[c];
      return out;
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('ImageNet samples: mobilenetv2-12-int8 top-1 / top-5 match an independent count (Pillow resize); run-time figures reported', async () => {
  const report = await evaluateModels(MODEL, undefined, {
    data: DIR, labels: path.join(DIR, 'labels.tsv'),
    image: { resize: { shorterSide: 256 }, crop: { width: 224, height: 224 }, mean: MEAN, std: STD },
  });
  const m = report.models[0];
  console.log(`ImageNet samples: top-1 ${m.classification!.top1}, top-5 ${m.classification!.top5}, latency p50/p95 ${m.latency.p50Ms.toFixed(2)}/${m.latency.p95Ms.toFixed(2)} ms, ` +
    `throughput ${m.throughput.samplesPerSecond.toFixed(1)}/s at batch ${m.throughput.batch}, memory ${(m.memory.bytes / 2 ** 20).toFixed(1)} MiB, size ${m.sizeBytes}`);
  assert.equal(report.samples, 100);
  assert.equal(report.output.perSample, 1000);

  const rows = fs.readFileSync(path.join(DIR, 'labels.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  assert.equal(rows.length, 100);
  const inputs = preprocessAll(rows.map(([file]) => path.join(DIR, file)));
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(MODEL);
  let top1 = 0;
  let top5 = 0;
  for (let n = 0; n < rows.length; n++) {
    const y = (await s.run({ input: new ort.Tensor('float32', inputs[n], [1, 3, 224, 224]) })).output.data as Float32Array;
    const label = Number(rows[n][1]);
    let rank = 0;
    for (let k = 0; k < 1000; k++) if (y[k] > y[label] || (y[k] === y[label] && k < label)) rank++;
    top1 += +(rank < 1);
    top5 += +(rank < 5);
  }
  await s.release();
  assert.equal(m.classification!.top1, top1 / 100);
  assert.equal(m.classification!.top5, top5 / 100);
  // not the manifest's 80 % / 96 %: see the header for why (the JPEG decoder moves these figures)
  assert.equal(m.classification!.top1, 0.83);
  assert.equal(m.classification!.top5, 0.96);

  assert.equal(m.throughput.batch, 8, 'the model takes batches: throughput at batch 8');
  assert.equal(m.latency.runs, 100);
  assert.ok(m.latency.p50Ms > 0 && m.latency.p95Ms >= m.latency.p50Ms && m.throughput.samplesPerSecond > 0);
  assert.ok(m.memory.bytes > 3_655_640, 'the session holds at least the weights');
  assert.equal(m.sizeBytes, 3_655_640);
});
