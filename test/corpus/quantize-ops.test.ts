/**
 * Single-op models from the ONNX backend test data, quantized statically with int8 and with int16
 * activations (calibrated on their own input .pb), compared with the spec's expected output.
 * Weight-like inputs (Conv W, Gemm B and C, ...) are frozen into initializers first, so the weight
 * path (per-channel axis, int32 bias) is what is tested.
 *
 * Bounds (relative RMS error against the expected output): int8 <= 1.5 %, int16 <= 0.01 %, and the
 * int16 MSE at least 10x lower than the int8 one.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeTensorProto, type DecodedTensor } from '../../src/core/data';
import { openModelFile } from '../../src/core/open';
import { writeOnnxFile } from '../../src/core/formats/onnx';
import { quantizeModel } from '../../src/core/quant/quantize';
import { loadOrt } from '../../src/core/runtime/ort';
import { ONNX_TESTDATA, SYSTEM_PYTHON } from '../helpers/paths';

interface Case { name: string; freeze: 'rest' | 'none'; perChannel?: boolean; expectOp: string }

const CASES: Case[] = [
  { name: 'test_conv_with_strides_padding', freeze: 'rest', perChannel: true, expectOp: 'Conv' },
  { name: 'test_conv_with_autopad_same', freeze: 'rest', perChannel: true, expectOp: 'Conv' },
  { name: 'test_convtranspose', freeze: 'rest', perChannel: true, expectOp: 'ConvTranspose' },
  { name: 'test_gemm_default_vector_bias', freeze: 'rest', perChannel: true, expectOp: 'Gemm' },
  { name: 'test_gemm_transposeB', freeze: 'rest', perChannel: true, expectOp: 'Gemm' },
  { name: 'test_gemm_all_attributes', freeze: 'rest', perChannel: true, expectOp: 'Gemm' },
  { name: 'test_matmul_2d', freeze: 'rest', perChannel: true, expectOp: 'MatMul' },
  { name: 'test_matmul_4d', freeze: 'rest', perChannel: false, expectOp: 'MatMul' },
  { name: 'test_add', freeze: 'none', expectOp: 'Add' },
  { name: 'test_mul', freeze: 'none', expectOp: 'Mul' },
  { name: 'test_concat_2d_axis_0', freeze: 'none', expectOp: 'Concat' },
  { name: 'test_maxpool_2d_default', freeze: 'none', expectOp: 'MaxPool' },
  { name: 'test_averagepool_2d_default', freeze: 'none', expectOp: 'AveragePool' },
  { name: 'test_softmax_axis_1', freeze: 'none', expectOp: 'Softmax' },
  { name: 'test_layer_normalization_2d_axis0', freeze: 'rest', expectOp: 'LayerNormalization' },
  { name: 'test_gather_0', freeze: 'rest', expectOp: 'Gather' },
  { name: 'test_resize_downsample_scales_linear', freeze: 'rest', expectOp: 'Resize' },
  { name: 'test_relu', freeze: 'none', expectOp: 'Relu' },
];

export function checkWithOnnx(file: string): string {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]))', file], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr.trim().split('\n').pop() ?? 'failed';
}

function readPb(file: string): DecodedTensor {
  return decodeTensorProto(new Uint8Array(fs.readFileSync(file)), file);
}

/** The model with inputs 1.. frozen (or not) and a calibration folder with the rest. */
async function prepare(c: Case, dir: string): Promise<{ model: string; data: string; feeds: Record<string, DecodedTensor>; expected: DecodedTensor }> {
  const src = path.join(ONNX_TESTDATA, 'node', c.name);
  const set = path.join(src, 'test_data_set_0');
  const m = await openModelFile(path.join(src, 'model.onnx'));
  const g = m.graphs[0];
  const inputs = [...g.inputs];
  const feeds: Record<string, DecodedTensor> = {};
  const dataDir = path.join(dir, 'data', 'test_data_set_0');
  fs.mkdirSync(dataDir, { recursive: true });
  let k = 0;
  inputs.forEach((name, i) => {
    const pb = path.join(set, `input_${i}.pb`);
    const t = readPb(pb);
    if (c.freeze === 'rest' && i > 0) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
      g.values.get(name)!.constant = { name, dtype: t.dtype, shape: t.shape, data: { kind: 'bytes', bytes } };
      g.initializers.push(name);
      g.inputs = g.inputs.filter((x) => x !== name);
    } else {
      feeds[name] = t;
      fs.copyFileSync(pb, path.join(dataDir, `input_${k++}.pb`));
    }
  });
  const model = path.join(dir, 'model.onnx');
  await writeOnnxFile(m, model);
  return { model, data: path.join(dir, 'data'), feeds, expected: readPb(path.join(set, 'output_0.pb')) };
}

async function run(model: string, feeds: Record<string, DecodedTensor>): Promise<Float32Array> {
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(model);
  const f: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const [n, t] of Object.entries(feeds)) f[n] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape);
  const out = await s.run(f);
  await s.release();
  return out[s.outputNames[0]].data as Float32Array;
}

function mse(a: Float32Array, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  return e / a.length;
}

for (const c of CASES) {
  test(`${c.name}: int8 and int16 static QDQ stay close to the spec output`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ql-${c.name}-`));
    try {
      const p = await prepare(c, dir);
      const ref = p.expected.data as Float32Array;
      const power = mse(new Float32Array(ref.length), ref) || 1;
      const floatOut = await run(p.model, p.feeds);
      assert.ok(mse(floatOut, ref) / power < 1e-8, 'float model reproduces the spec output');
      const errs: Record<string, number> = {};
      for (const act of ['int8', 'int16'] as const) {
        const out = path.join(dir, `q-${act}.onnx`);
        const res = await quantizeModel(p.model, out, {
          recipe: { version: 1, mode: 'static', activationType: act, perChannel: !!c.perChannel, calibration: { data: p.data } },
        });
        assert.ok((res.summary.quantizedByOp[c.expectOp] ?? 0) >= 1, `${c.expectOp} quantized (${JSON.stringify(res.summary.quantizedByOp)}, left float ${JSON.stringify(res.summary.leftFloat)})`);
        const q = await openModelFile(out);
        const qdq = q.graphs[0].nodes.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
        assert.ok(qdq.length >= 2, 'Q/DQ inserted');
        const qtypes = new Set(qdq.filter((n) => n.opType === 'QuantizeLinear').map((n) => q.graphs[0].values.get(n.inputs[2])?.constant?.dtype));
        assert.deepEqual([...qtypes], [act], `activation Q type ${[...qtypes]}`);
        const why = checkWithOnnx(out);
        assert.equal(why, '', `onnx.checker: ${why}`);
        const y = await run(out, p.feeds);
        errs[act] = mse(y, ref) / power;
      }
      if (['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(c.expectOp) && c.freeze === 'rest') {
        // dynamic: int8 weights, input quantized at run time
        const out = path.join(dir, 'q-dyn.onnx');
        // MatMulInteger covers 2-D weights and plain Gemm; the rest stays float with the reason, and
        // a run that would quantize nothing is refused with it (no file)
        const res = await quantizeModel(p.model, out, { recipe: { version: 1, mode: 'dynamic', perChannel: !!c.perChannel } }).catch((e: Error) => e);
        if (res instanceof Error) {
          assert.match(res.message, new RegExp(`Nothing in .* can be quantized in dynamic mode.*\\(${c.expectOp}\\): (its weight is not a constant 2-D float32 tensor|Gemm with transA / alpha / beta)`));
          assert.ok(!fs.existsSync(out));
        } else {
          assert.equal(res.summary.quantizedByOp[c.expectOp], 1);
          assert.equal(checkWithOnnx(out), '');
          const relDyn = Math.sqrt(mse(await run(out, p.feeds), ref) / power);
          console.log(`${c.name}: dynamic relative RMS error ${(100 * relDyn).toFixed(3)} %`);
          assert.ok(relDyn <= 0.015, `dynamic relative RMS error ${relDyn}`);
        }
      }
      const rel8 = Math.sqrt(errs.int8);
      const rel16 = Math.sqrt(errs.int16);
      console.log(`${c.name}: relative RMS error int8 ${(100 * rel8).toFixed(3)} %, int16 ${(100 * rel16).toFixed(4)} %`);
      assert.ok(rel8 <= 0.015, `int8 relative RMS error ${rel8}`);
      assert.ok(rel16 <= 0.0001, `int16 relative RMS error ${rel16}`);
      assert.ok(errs.int16 * 10 <= errs.int8 || errs.int8 === 0, `int16 MSE ${errs.int16} not 10x below int8 ${errs.int8}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
