/**
 * The checks Quantize Model… makes before asking anything, and how it grades a result's notes, on
 * real models and on the notes the quantizer really writes. Expected schemes follow
 * ../shared/models/MANIFEST.md (how each file was made), not QuantLens's detector.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openModelFile } from '../../src/core/open';
import { quantizeModel } from '../../src/core/quant/quantize';
import { summarize } from '../../src/core/summary';
import { splitNotes } from '../../src/core/resultNotes';
import { quantizeRefusal } from '../../src/host/commandsChecks';
import { REPO_ROOT, SAMPLE_MODEL, sharedModel } from '../helpers/paths';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-checks-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const refusalOf = async (file: string) => quantizeRefusal(path.basename(file), summarize(await openModelFile(file)));

test('a float ONNX model passes; TFLite and every kind of quantized ONNX model are refused, saying what they hold', async () => {
  assert.equal(await refusalOf(SAMPLE_MODEL), undefined);
  const cases: [string, RegExp][] = [
    [sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx'), /'mnist-12-int8\.onnx' is already quantized \(quantized operators: .*QLinearConv ×2/],
    [sharedModel('onnx', 'mnist', 'mnist-12-uint8.onnx'), /already quantized \(dynamic quantization: .*ConvInteger ×2/],
    [sharedModel('onnx', 'mnist', 'mnist-12-float16.onnx'), /already quantized \(float16 weights\)/],
    [sharedModel('tflite', 'tflite-micro', 'hello_world', 'models', 'hello_world_float.tflite'), /'hello_world_float\.tflite' is a TFLite model; QuantLens quantizes ONNX models only/],
  ];
  for (const [file, re] of cases) assert.match((await refusalOf(file)) ?? 'passed', re, file);
});

test('notes: a raised opset informs; synthetic calibration data warns (notes as the quantizer writes them)', async () => {
  const run = async (name: string, calibration: object) => (await quantizeModel(SAMPLE_MODEL, path.join(dir, name), {
    recipe: { version: 1, mode: 'static', perChannel: true, calibration }, baseDir: REPO_ROOT,
  })).summary;
  const real = await run('real.onnx', { data: path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz'), limit: 16 });
  // mnist-12 is opset 12 and per-channel weights need 13 (ONNX operator docs), so the run notes it
  assert.ok(real.warnings.some((w) => /opset/i.test(w)), `the opset note is there: ${JSON.stringify(real.warnings)}`);
  assert.deepEqual(splitNotes(real.warnings), { info: real.warnings, warnings: [] });
  const synthetic = await run('synthetic.onnx', { synthetic: { count: 4 } });
  const graded = splitNotes(synthetic.warnings);
  assert.ok(graded.warnings.some((w) => /synthetic/i.test(w)), `synthetic data is a warning: ${JSON.stringify(graded)}`);
  // the output model itself is refused: it is quantized now
  assert.match((await refusalOf(path.join(dir, 'real.onnx'))) ?? 'passed', /already quantized \(QuantizeLinear\/DequantizeLinear pairs: /);
});
