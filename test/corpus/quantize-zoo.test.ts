/**
 * Whole model-zoo graphs from ONNX's own test set (`onnx-light`: opset 9 CNNs whose weights are
 * ConstantOfShape nodes): static per-channel quantization must raise the opset as far as the ops
 * allow, pass onnx.checker and run in onnxruntime with the float model's output shape. The
 * weights are constants, so the outputs' values say nothing here; structure and validity do.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { quantizeModel } from '../../src/core/quant/quantize';
import { openModelFile } from '../../src/core/open';
import { inputSpecsFromModel, openCalibrationData } from '../../src/core/data';
import { sampleFeeds } from '../../src/core/quant/preprocess';
import { createSession } from '../../src/core/runtime/ort';
import { sharedModel, SYSTEM_PYTHON } from '../helpers/paths';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-zoo-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function checker(file: string): void {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `onnx.checker: ${r.stderr}`);
}

async function outputShapes(file: string): Promise<number[][]> {
  const m = await openModelFile(file);
  const data = await openCalibrationData(null, { inputs: inputSpecsFromModel(m), synthetic: { count: 1, seed: 3 } });
  const s = await createSession(new Uint8Array(fs.readFileSync(file)));
  try {
    for await (const sample of data) {
      const res = await s.run(sampleFeeds(sample));
      return s.outputNames.map((n) => res[n].dims.map(Number));
    }
    throw new Error('no sample');
  } finally {
    await s.release();
  }
}

for (const name of ['light_squeezenet', 'light_shufflenet', 'light_inception_v1']) {
  test(`${name} (opset 9): static per-channel int8 is valid and runs`, async () => {
    const src = sharedModel('onnx', 'onnx-light', `${name}.onnx`);
    const out = path.join(dir, `${name}-int8.onnx`);
    const res = await quantizeModel(src, out, { recipe: { version: 1, mode: 'static', perChannel: true, calibration: { synthetic: { count: 4, seed: 1 } } } });
    const s = res.summary;
    assert.ok(s.warnings.some((w) => /raised from 9 to 10/.test(w)), s.warnings.join(' | '));
    assert.ok(s.opset >= 10);
    // per-channel needs opset 13: either it got there or a warning names the op that stopped it
    if (s.opset < 13) assert.ok(s.warnings.some((w) => /per-tensor/.test(w) && /changed form|axes|meaning|subgraphs/.test(w)), s.warnings.join(' | '));
    assert.ok((s.quantizedByOp.Conv ?? 0) > 10, JSON.stringify(s.quantizedByOp));
    checker(out);
    assert.deepEqual(await outputShapes(out), await outputShapes(src));
  });
}

test('light_resnet50 (opset 9): dynamic per-channel raises the opset for DynamicQuantizeLinear, is valid and runs', async () => {
  const src = sharedModel('onnx', 'onnx-light', 'light_resnet50.onnx');
  const out = path.join(dir, 'resnet50-dynamic.onnx');
  const res = await quantizeModel(src, out, { recipe: { version: 1, mode: 'dynamic', perChannel: true } });
  const s = res.summary;
  assert.ok(s.warnings.some((w) => /raised from 9 to 11 for DynamicQuantizeLinear/.test(w)), s.warnings.join(' | '));
  assert.equal(s.opset, 13, s.warnings.join(' | '));
  assert.equal(s.quantizedByOp.Conv, 53);
  checker(out);
  assert.deepEqual(await outputShapes(out), await outputShapes(src));
});
