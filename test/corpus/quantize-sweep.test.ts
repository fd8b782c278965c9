/**
 * Every model of ONNX's own test corpus (libonnx-testdata: node, pytorch-converted,
 * pytorch-operator, simple), quantized static and dynamic with its test_data_set_0 folder as
 * calibration data. Each run must either write a model (which the quantizer has already loaded in
 * onnxruntime) that passes onnx.checker, or refuse with a ModelError / DataError: never another
 * exception, never a model onnxruntime rejects. A static model's first output on the calibration
 * sample stays within 5 % relative RMS of onnxruntime's float output, bar the cases named below.
 */

/** Where per-tensor int8 cannot follow the float model on the test's own input, and why. */
const HARD: Record<string, string> = {
  'node/test_softmax_large_number': 'one tensor spans 0..10^4: a step of ~40 erases the row of small logits',
};

/** Relative RMS difference of the first output of `quantized` and `float` on `sample`. */
async function relativeError(float: string, quantized: string, sample: Sample): Promise<number> {
  const ort = loadOrt();
  const outs: Float64Array[] = [];
  for (const f of [float, quantized]) {
    const s = await ort.InferenceSession.create(f);
    const r = await s.run(sampleFeeds(sample));
    outs.push(Float64Array.from(r[s.outputNames[0]].data as Float32Array, Number));
    await s.release();
  }
  let e = 0; let p = 0;
  outs[0].forEach((v, i) => { e += (outs[1][i] - v) ** 2; p += v * v; });
  return Math.sqrt(e / Math.max(p, 1e-30));
}
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { quantizeModel } from '../../src/core/quant/quantize';
import { inputSpecsFromModel, openCalibrationData, type Sample } from '../../src/core/data';
import { openModelFile } from '../../src/core/open';
import { sampleFeeds } from '../../src/core/quant/preprocess';
import { loadOrt } from '../../src/core/runtime/ort';
import { ONNX_TESTDATA, SYSTEM_PYTHON } from '../helpers/paths';

const SETS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-sweep-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('static and dynamic quantization over the ONNX test corpus: a valid model or a typed refusal, every time', async () => {
  const outcomes: Record<string, number> = {};
  const written: string[] = [];
  const untyped: string[] = [];
  const inaccurate: string[] = [];
  for (const set of SETS) {
    for (const name of fs.readdirSync(path.join(ONNX_TESTDATA, set)).sort()) {
      const model = path.join(ONNX_TESTDATA, set, name, 'model.onnx');
      const data = path.join(ONNX_TESTDATA, set, name, 'test_data_set_0');
      if (!fs.existsSync(model) || !fs.existsSync(data)) continue;
      for (const mode of ['static', 'dynamic'] as const) {
        const out = path.join(dir, `${set}-${name}-${mode}.onnx`);
        try {
          const r = await quantizeModel(model, out, { recipe: { version: 1, mode, perChannel: true, calibration: { data } } });
          const key = r.summary.quantizedCount > 0 ? 'quantized' : 'nothing to quantize';
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (r.summary.quantizedCount > 0) written.push(out); else fs.rmSync(out);
          if (mode === 'static' && r.summary.quantizedCount > 0 && !HARD[`${set}/${name}`]) {
            const m = await openModelFile(model);
            for await (const sample of await openCalibrationData(data, { inputs: inputSpecsFromModel(m) })) {
              const err = await relativeError(model, out, sample);
              if (!(err <= 0.05)) inaccurate.push(`${set}/${name}: ${(100 * err).toFixed(1)} %`);
              break;
            }
          }
        } catch (e) {
          const err = e as Error;
          outcomes[err.name] = (outcomes[err.name] ?? 0) + 1;
          if (err.name !== 'ModelError' && err.name !== 'DataError') untyped.push(`${mode} ${set}/${name}: ${err.name}: ${err.message}`);
          if (/bug in QuantLens/.test(err.message)) untyped.push(`${mode} ${set}/${name}: ${err.message}`);
          assert.ok(!fs.existsSync(out), `${set}/${name}: a failed run left ${out}`);
        }
      }
    }
  }
  console.log(`corpus sweep: ${JSON.stringify(outcomes)}`);
  assert.deepEqual(untyped, []);
  assert.deepEqual(inaccurate, [], 'static outputs more than 5 % from float');
  assert.ok((outcomes.quantized ?? 0) > 300, `only ${outcomes.quantized} models were quantized`);
  // onnx.checker over every written model in one Python process (onnx 1.12 knows opsets up to 17)
  const script = [
    'import onnx, sys',
    'bad, newer = [], 0',
    'for f in sys.argv[1:]:',
    '    m = onnx.load(f)',
    '    if max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) > 17: newer += 1; continue',
    '    try: onnx.checker.check_model(m)',
    '    except Exception as e: bad.append(f + ": " + str(e).splitlines()[0])',
    'print(newer); print("\\n".join(bad))',
  ].join('\n');
  const r = spawnSync(SYSTEM_PYTHON, ['-c', script, ...written], { encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr);
  const [newer, ...bad] = r.stdout.trim().split('\n');
  console.log(`onnx.checker: ${written.length - Number(newer)} checked, ${newer} newer than onnx 1.12 (loaded by onnxruntime only)`);
  assert.deepEqual(bad.filter(Boolean), []);
});
