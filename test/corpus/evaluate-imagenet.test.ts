/**
 * ImageNet samples acceptance: `evaluate` of mobilenetv2-12-int8.onnx on the 100 labelled images
 * (labels by file name from labels.tsv) with standard ImageNet pre-processing as torchvision does
 * it on a PIL image: shorter side to 256 with PIL's bilinear (antialiased, 8-bit), centre crop 224
 * at round((size - 224) / 2), RGB / 255, mean / std. Checked against an independent count: the
 * product's JPEG decoder (checked here against Pillow's libjpeg-turbo decode of the same files),
 * then Pillow itself (Debian's python3-pil) resizes and crops, and the test ranks the labels in
 * its own onnxruntime session.
 *
 * The manifest says top-1 80 % / top-5 96 %. This pipeline gives top-1 80 % / top-5 97 %; Pillow's
 * own full pipeline (its decoder included) gives 82 % / 97 %. The two decoders differ by about
 * 0.1 grey level on average (jpeg-js's IDCT rounding), and that alone changes the top-1 or top-5
 * outcome of 8 of the 100 images: this int8 model has several samples on a knife edge, so at 100
 * samples these figures move by a point or two with invisible input differences.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { decodeImage } from '../../src/core/data';
import { evaluateModels } from '../../src/core/eval';
import { loadOrt } from '../../src/core/runtime/ort';
import { sharedModel, SYSTEM_PYTHON } from '../helpers/paths';

const MODEL = sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx');
const DIR = sharedModel('data', 'imagenet-samples');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * torchvision Resize(256) + CenterCrop(224) on PIL images, run by Pillow, for the given decoded
 * pixels (n.rgb, n.size -> n.crop) and for Pillow's own decode of the JPEG (n.jpg -> n.pil, n.pilcrop).
 */
const PILLOW_RESIZE_CROP = `
import sys
from PIL import Image
def resize_crop(im):
    w, h = im.size
    nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    im = im.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
    return im.crop((left, top, left + 224, top + 224)).tobytes()
d = sys.argv[1]
for n in sys.argv[2:]:
    w, h = map(int, open(f"{d}/{n}.size").read().split())
    open(f"{d}/{n}.crop", "wb").write(resize_crop(Image.frombytes("RGB", (w, h), open(f"{d}/{n}.rgb", "rb").read())))
    pil = Image.open(f"{d}/{n}.jpg").convert("RGB")
    open(f"{d}/{n}.pil", "wb").write(pil.tobytes())
    open(f"{d}/{n}.pilcrop", "wb").write(resize_crop(pil))
`;

interface Prepared {
  /** Our decode, Pillow's resize and crop: normalised NCHW. */
  ours: Float32Array[];
  /** Pillow's decode, resize and crop. */
  pillow: Float32Array[];
  /** Our decode against Pillow's, in grey levels. */
  decodeMeanAbs: number;
  decodeMaxAbs: number;
}

function normalise(px: Buffer): Float32Array {
  const out = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < 224 * 224; i++) for (let c = 0; c < 3; c++) out[c * 224 * 224 + i] = (px[3 * i + c] / 255 - MEAN[c]) / STD[c];
  return out;
}

function prepare(files: string[]): Prepared {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-imagenet-'));
  try {
    const decoded = files.map((f, i) => {
      const bytes = fs.readFileSync(f);
      fs.writeFileSync(path.join(tmp, `${i}.jpg`), bytes);
      const img = decodeImage(new Uint8Array(bytes), f);
      const rgb = new Uint8Array(img.width * img.height * 3);
      for (let k = 0; k < img.width * img.height; k++) rgb.set(img.data.subarray(4 * k, 4 * k + 3), 3 * k);
      fs.writeFileSync(path.join(tmp, `${i}.rgb`), rgb);
      fs.writeFileSync(path.join(tmp, `${i}.size`), `${img.width} ${img.height}`);
      return rgb;
    });
    execFileSync(SYSTEM_PYTHON, ['-c', PILLOW_RESIZE_CROP, tmp, ...files.map((_, i) => String(i))]);
    let sum = 0;
    let count = 0;
    let max = 0;
    decoded.forEach((rgb, i) => {
      const ref = fs.readFileSync(path.join(tmp, `${i}.pil`));
      assert.equal(ref.length, rgb.length, `${files[i]}: decoded sizes differ`);
      for (let k = 0; k < rgb.length; k++) { const e = Math.abs(rgb[k] - ref[k]); sum += e; max = Math.max(max, e); }
      count += rgb.length;
    });
    return {
      ours: files.map((_, i) => normalise(fs.readFileSync(path.join(tmp, `${i}.crop`)))),
      pillow: files.map((_, i) => normalise(fs.readFileSync(path.join(tmp, `${i}.pilcrop`)))),
      decodeMeanAbs: sum / count,
      decodeMaxAbs: max,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('ImageNet samples: mobilenetv2-12-int8 top-1 / top-5 match an independent count (Pillow resize and crop); run-time figures reported', async () => {
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
  const prepared = prepare(rows.map(([file]) => path.join(DIR, file)));
  console.log(`decoder against Pillow: mean ${prepared.decodeMeanAbs.toFixed(3)}, max ${prepared.decodeMaxAbs} grey levels`);
  assert.ok(prepared.decodeMeanAbs < 0.15 && prepared.decodeMaxAbs <= 3, 'the JPEG decoder stays close to libjpeg-turbo');
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(MODEL);
  const count = async (inputs: Float32Array[]) => {
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
    return { top1, top5 };
  };
  const { top1, top5 } = await count(prepared.ours);
  const pillow = await count(prepared.pillow);
  console.log(`Pillow's own pipeline (libjpeg-turbo decode): top-1 ${pillow.top1} %, top-5 ${pillow.top5} %`);
  await s.release();
  assert.equal(m.classification!.top1, top1 / 100);
  assert.equal(m.classification!.top5, top5 / 100);
  // the manifest's top-1 80 %, but top-5 97 % where it says 96 %: see the header
  assert.equal(m.classification!.top1, 0.8);
  assert.equal(m.classification!.top5, 0.97);

  assert.equal(m.throughput.batch, 8, 'the model takes batches: throughput at batch 8');
  assert.equal(m.latency.runs, 100);
  assert.ok(m.latency.p50Ms > 0 && m.latency.p95Ms >= m.latency.p50Ms && m.throughput.samplesPerSecond > 0);
  assert.ok(m.memory.bytes > 3_655_640, 'the session holds at least the weights');
  assert.equal(m.sizeBytes, 3_655_640);
});
