/** `quantlens quantize` from the command line (the CLI source, run through tsx). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, sharedModel } from '../helpers/paths';

const MODEL = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const IMAGES = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
const CLI = path.join(REPO_ROOT, 'src', 'cli', 'quantlens.ts');

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: REPO_ROOT });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('quantize --json writes the model, the ranges, the recipe and an onnxruntime config', () => {
  const out = path.join(dir, 'q.onnx');
  const r = cli('quantize', MODEL, '--out', out, '--calibration', IMAGES, '--limit', '40', '--per-channel', '--method', 'percentile',
    '--activation-type', 'uint8', '--ranges', path.join(dir, 'ranges.json'), '--save-recipe', path.join(dir, 'r.json'),
    '--export-ort', path.join(dir, 'ort.json'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.mode, 'static');
  assert.equal(s.calibration.samples, 40);
  assert.equal(s.calibration.method, 'percentile');
  assert.ok(fs.statSync(out).size === s.sizeAfter);
  const recipe = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'));
  assert.equal(recipe.activationType, 'uint8');
  assert.equal(recipe.perChannel, true);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'ranges.json'), 'utf8')).method, 'percentile');
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'ort.json'), 'utf8')).activation_type, 'QuantType.QUInt8');

  // the saved recipe reproduces the run: same bytes
  const out2 = path.join(dir, 'q2.onnx');
  const r2 = cli('quantize', MODEL, '--out', out2, '--recipe', path.join(dir, 'r.json'), '--json');
  assert.equal(r2.status, 0, r2.stderr);
  assert.deepEqual(fs.readFileSync(out2), fs.readFileSync(out));
});

test('human output lists what was quantized; fp16 and dynamic modes need no data', () => {
  const r = cli('quantize', MODEL, '--out', path.join(dir, 'h.onnx'), '--mode', 'dynamic', '--progress');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dynamic quantization: .* -> /);
  assert.match(r.stdout, /quantized: Conv 2, Gemm 1/);
  assert.match(r.stdout, /left float \(\d+\):/);
  assert.match(r.stderr, /\[1\/5\] Reading the model/);
  assert.match(r.stdout, /check: output SQNR \d+\.\d dB.* against the float model on 4 synthetic samples/);
  const f = cli('quantize', MODEL, '--out', path.join(dir, 'f.onnx'), '--mode', 'fp16', '--json');
  assert.equal(f.status, 0, f.stderr);
  assert.equal(JSON.parse(f.stdout).mode, 'fp16');
});

test('errors are one line on stderr with a non-zero exit', () => {
  const cases: [string[], number, RegExp][] = [
    [['quantize', MODEL], 2, /needs --out/],
    [['quantize', MODEL, '--out', path.join(dir, 'x.onnx'), '--mode', 'int3'], 2, /--mode must be one of static, dynamic, fp16/],
    [['quantize', MODEL, '--out', path.join(dir, 'x.onnx'), '--weight-type', 'int2'], 2, /--weight-type must be one of/],
    [['quantize', MODEL, '--out', path.join(dir, 'x.onnx')], 1, /needs calibration data/],
    [['quantize', MODEL, '--out', MODEL, '--calibration', IMAGES], 1, /is the source model/],
    [['quantize', path.join(dir, 'nope.onnx'), '--out', path.join(dir, 'x.onnx'), '--mode', 'fp16'], 1, /does not exist/],
    [['quantize', MODEL, '--out', path.join(dir, 'x.onnx'), '--recipe', path.join(dir, 'missing.json')], 1, /Cannot read recipe/],
  ];
  for (const [args, code, re] of cases) {
    const r = cli(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'x.onnx')));
  }
});

test('quantize on an image folder: default pre-processing is named in a warning; --image-* flags set it and go into the recipe', () => {
  const photos = sharedModel('data', 'images', 'ort-examples');
  const plain = cli('quantize', MODEL, '--out', path.join(dir, 'img.onnx'), '--calibration', photos, '--json');
  assert.equal(plain.status, 0, plain.stderr);
  const s = JSON.parse(plain.stdout);
  assert.equal(s.calibration.samples, 6);
  assert.ok(s.warnings.some((w: string) => /default pre-processing \(resize 28x28, GRAYSCALE, NCHW, values 0-1, mean 0, std 1\)/.test(w)), s.warnings.join(' | '));
  const recipe = path.join(dir, 'img.recipe.json');
  const flagged = cli('quantize', MODEL, '--out', path.join(dir, 'img2.onnx'), '--calibration', photos, '--image-resize', '32', '--image-crop', '28x28',
    '--image-scale', '0-255', '--image-mean', '127.5', '--image-std', '1', '--save-recipe', recipe, '--json');
  assert.equal(flagged.status, 0, flagged.stderr);
  assert.ok(!JSON.parse(flagged.stdout).warnings.some((w: string) => /pre-processing/.test(w)));
  assert.deepEqual(JSON.parse(fs.readFileSync(recipe, 'utf8')).calibration.image, { resize: { shorterSide: 32 }, crop: { width: 28, height: 28 }, scale: '0-255', mean: [127.5], std: [1] });
  const bad = cli('quantize', MODEL, '--out', path.join(dir, 'img3.onnx'), '--calibration', photos, '--image-crop', '28');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--image-crop takes WxH/);
});
