/**
 * Every model of ONNX's own test corpus (libonnx-testdata: node, pytorch-converted,
 * pytorch-operator, simple), quantized static and dynamic with its test_data_set_0 folder as
 * calibration data. Each run must either write a model (which the quantizer has already loaded in
 * onnxruntime) that passes onnx.checker, or refuse with a ModelError / DataError: never another
 * exception, never a model onnxruntime rejects; a model with nothing to quantize is refused, not
 * written. Every output of every written model (static and dynamic), run on the spec's own inputs,
 * is compared with onnxruntime's float output: float outputs within 5 % relative RMS, bar the cases
 * named below, other outputs with the float model's type and shape. Every result carries its
 * measured output check.
 */

/** Where per-tensor int8 cannot follow the float model on the test's own input, and why. */
const HARD: Record<string, string> = {
  'node/test_softmax_large_number': 'one tensor spans 0..10^4: a step of ~40 erases the row of small logits',
};

/**
 * Every output of `quantized` against `float` on `sample`: the relative RMS difference of each
 * float output, and the outputs whose type or shape changed.
 */
async function outputErrors(float: string, quantized: string, sample: Sample): Promise<{ errors: Record<string, number>; changed: string[] }> {
  const ort = loadOrt();
  const runs: Record<string, OrtTensor>[] = [];
  let names: readonly string[] = [];
  for (const f of [float, quantized]) {
    const s = await ort.InferenceSession.create(f);
    runs.push(await s.run(sampleFeeds(sample)) as Record<string, OrtTensor>);
    names = s.outputNames;
    await s.release();
  }
  const errors: Record<string, number> = {};
  const changed: string[] = [];
  for (const name of names) {
    const a = runs[0][name]; const b = runs[1][name];
    if (!b || a.type !== b.type || a.dims.join() !== b.dims.join()) { changed.push(name); continue; }
    if (a.type !== 'float32') continue;
    let e = 0; let p = 0;
    const x = a.data as Float32Array; const y = b.data as Float32Array;
    x.forEach((v, i) => { if (v === y[i]) return; e += (y[i] - v) ** 2; p += v * v; });
    errors[name] = Math.sqrt(e / Math.max(p, 1e-30));
  }
  return { errors, changed };
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
import { loadOrt, type OrtTensor } from '../../src/core/runtime/ort';
import { ONNX_TESTDATA, SYSTEM_PYTHON } from '../helpers/paths';

const SETS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-sweep-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('static and dynamic quantization over the ONNX test corpus: a valid model or a typed refusal, every time', async () => {
  const outcomes: Record<string, number> = {};
  const written: string[] = [];
  const untyped: string[] = [];
  const inaccurate: string[] = [];
  const unchecked: string[] = [];
  const checks: number[] = [];
  let compared = 0;
  for (const set of SETS) {
    for (const name of fs.readdirSync(path.join(ONNX_TESTDATA, set)).sort()) {
      const model = path.join(ONNX_TESTDATA, set, name, 'model.onnx');
      const data = path.join(ONNX_TESTDATA, set, name, 'test_data_set_0');
      if (!fs.existsSync(model) || !fs.existsSync(data)) continue;
      for (const mode of ['static', 'dynamic'] as const) {
        const out = path.join(dir, `${set}-${name}-${mode}.onnx`);
        try {
          const r = await quantizeModel(model, out, { recipe: { version: 1, mode, perChannel: true, calibration: { data } } });
          outcomes.quantized = (outcomes.quantized ?? 0) + 1;
          written.push(out);
          if (!(r.summary.quantizedCount > 0)) untyped.push(`${mode} ${set}/${name}: written with nothing quantized`);
          if (!r.summary.check || r.summary.check.skipped) unchecked.push(`${mode} ${set}/${name}: ${r.summary.check?.skipped ?? 'no check'}`);
          else checks.push(r.summary.check.sqnrDb);
          const m = await openModelFile(model);
          for await (const sample of await openCalibrationData(data, { inputs: inputSpecsFromModel(m) })) {
            const { errors, changed } = await outputErrors(model, out, sample);
            for (const c of changed) inaccurate.push(`${mode} ${set}/${name}: output ${c} changed type or shape`);
            for (const [o, err] of Object.entries(errors)) {
              compared++;
              if (!(err <= 0.05) && !HARD[`${set}/${name}`]) inaccurate.push(`${mode} ${set}/${name} ${o}: ${(100 * err).toFixed(1)} %`);
            }
            break;
          }
        } catch (e) {
          const err = e as Error;
          const key = /^Nothing in '.*' can be quantized/.test(err.message) ? 'refused: nothing to quantize' : err.name;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (err.name !== 'ModelError' && err.name !== 'DataError') untyped.push(`${mode} ${set}/${name}: ${err.name}: ${err.message}`);
          if (/bug in QuantLens/.test(err.message)) untyped.push(`${mode} ${set}/${name}: ${err.message}`);
          assert.ok(!fs.existsSync(out), `${set}/${name}: a failed run left ${out}`);
        }
      }
    }
  }
  checks.sort((a, b) => a - b);
  console.log(`corpus sweep: ${JSON.stringify(outcomes)}; ${compared} float outputs compared; output check SQNR median ${checks[checks.length >> 1]} dB, 5th percentile ${checks[Math.floor(checks.length / 20)]} dB`);
  assert.deepEqual(untyped, []);
  assert.deepEqual(unchecked, [], 'runs without a measured output check');
  assert.deepEqual(inaccurate, [], 'outputs more than 5 % from float');
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
