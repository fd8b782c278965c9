/**
 * Quantization maths against hand-worked values, the ONNX spec's test data (.pb) and
 * onnxruntime-node running one-node QuantizeLinear / DequantizeLinear models built here.
 */
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Writer } from 'protobufjs/minimal';
import {
  computePerChannelParams, computeScaleZeroPoint, computeTensorParams, dequantize, dequantizePerChannel,
  dequantizeValue, packInt4, qRange, quantize, quantizeBias, quantizePerChannel, quantizeValue, quantizedToBytes,
  roundHalfEven, saturationRange, unpackInt4, type QuantType,
} from '../../src/core/quant/math';
import { decodeTensorProto } from '../../src/core/data/tensorproto';
import { ONNX_TESTDATA, sharedModel } from '../helpers/paths';

// ------------------------------------------------------------------------------------------
// A tiny ONNX model writer (protobuf field numbers from onnx.proto), for one-node models.

const ONNX_TYPE: Record<string, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, uint4: 21, int4: 22 };

interface Init { name: string; type: string; dims: number[]; raw: Uint8Array }
interface NodeSpec { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, number> }
interface IO { name: string; type: string; dims: number[] }

function writeTensor(w: Writer, field: number, t: Init): void {
  w.uint32((field << 3) | 2).fork();
  for (const d of t.dims) w.uint32(8).int64(d);
  w.uint32(16).int32(ONNX_TYPE[t.type]);
  w.uint32(66).string(t.name);
  w.uint32(74).bytes(t.raw);
  w.ldelim();
}

function writeValueInfo(w: Writer, field: number, v: IO): void {
  w.uint32((field << 3) | 2).fork();
  w.uint32(10).string(v.name);
  w.uint32(18).fork(); // TypeProto
  w.uint32(10).fork(); // TypeProto.Tensor
  w.uint32(8).int32(ONNX_TYPE[v.type]);
  w.uint32(18).fork(); // TensorShapeProto
  for (const d of v.dims) { w.uint32(10).fork(); w.uint32(8).int64(d); w.ldelim(); }
  w.ldelim(); w.ldelim(); w.ldelim(); w.ldelim();
}

function buildModel(nodes: NodeSpec[], inputs: IO[], outputs: IO[], inits: Init[], opset = 21): Uint8Array {
  const w = Writer.create();
  w.uint32(8).int64(10); // ir_version
  w.uint32(66).fork(); w.uint32(10).string(''); w.uint32(16).int64(opset); w.ldelim(); // opset_import
  w.uint32(58).fork(); // graph
  for (const n of nodes) {
    w.uint32(10).fork();
    for (const i of n.inputs) w.uint32(10).string(i);
    for (const o of n.outputs) w.uint32(18).string(o);
    w.uint32(34).string(n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) {
      w.uint32(42).fork(); w.uint32(10).string(k); w.uint32(24).int64(v); w.uint32(160).int32(2); w.ldelim();
    }
    w.ldelim();
  }
  w.uint32(18).string('g');
  for (const t of inits) writeTensor(w, 5, t);
  for (const i of inputs) writeValueInfo(w, 11, i);
  for (const o of outputs) writeValueInfo(w, 12, o);
  w.ldelim();
  return w.finish();
}

const f32bytes = (a: ArrayLike<number>) => new Uint8Array(Float32Array.from(a).buffer);

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  // no graph optimisation: ORT must not fold a Q -> DQ pair away
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
}

/** Runs ORT QuantizeLinear on x; returns the integers (int4 via a DequantizeLinear with scale 1). */
async function ortQuantize(
  x: Float32Array, dims: number[], scales: number[], zps: number[], type: QuantType, axis?: number,
): Promise<number[]> {
  const sdims = scales.length === 1 && axis === undefined ? [] : [scales.length];
  const inits: Init[] = [
    { name: 's', type: 'float32', dims: sdims, raw: f32bytes(scales) },
    { name: 'z', type, dims: sdims, raw: quantizedToBytes(Int32ToTyped(zps, type), type) },
  ];
  const nodes: NodeSpec[] = [{ op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'], attrs: axis === undefined ? {} : { axis } }];
  let out = 'q';
  let outType = type as string;
  if (type === 'int4' || type === 'uint4') {
    inits.push({ name: 'one', type: 'float32', dims: [], raw: f32bytes([1]) }, { name: 'zero', type, dims: [], raw: new Uint8Array([0]) });
    nodes.push({ op: 'DequantizeLinear', inputs: ['q', 'one', 'zero'], outputs: ['y'] });
    out = 'y';
    outType = 'float32';
  }
  const s = await session(buildModel(nodes, [{ name: 'x', type: 'float32', dims }], [{ name: out, type: outType, dims }], inits));
  const r = await s.run({ x: new ort.Tensor('float32', x, dims) });
  return Array.from(r[out].data as ArrayLike<number>, Number);
}

/** Runs ORT DequantizeLinear on quantized values stored as an initializer. */
async function ortDequantize(q: ArrayLike<number>, dims: number[], scales: number[], zps: number[], type: QuantType | 'int32', axis?: number): Promise<Float32Array> {
  const sdims = scales.length === 1 && axis === undefined ? [] : [scales.length];
  const qt = Int32ToTyped(Array.from(q), type);
  const inits: Init[] = [
    { name: 'q', type, dims, raw: quantizedToBytes(qt, type) },
    { name: 's', type: 'float32', dims: sdims, raw: f32bytes(scales) },
    { name: 'z', type, dims: sdims, raw: quantizedToBytes(Int32ToTyped(zps, type), type) },
  ];
  const s = await session(buildModel(
    [{ op: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['y'], attrs: axis === undefined ? {} : { axis } }],
    [], [{ name: 'y', type: 'float32', dims }], inits,
  ));
  return (await s.run({})).y.data as Float32Array;
}

function Int32ToTyped(v: ArrayLike<number>, type: QuantType | 'int32'): Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array {
  switch (type) {
    case 'int8': case 'int4': return Int8Array.from(v);
    case 'uint8': case 'uint4': return Uint8Array.from(v);
    case 'int16': return Int16Array.from(v);
    case 'uint16': return Uint16Array.from(v);
    case 'int32': return Int32Array.from(v);
  }
}

/** Deterministic pseudo-random floats (mulberry32 + Box-Muller). */
function randn(n: number, seed: number, sigma = 1, mu = 0): Float32Array {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mu + sigma * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

// ------------------------------------------------------------------------------------------

describe('rounding and ranges', () => {
  test('round half to even', () => {
    const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999, 2], [2.5001, 3], [-7, -7], [1e9 + 0.5, 1e9]];
    for (const [x, want] of cases) assert.equal(roundHalfEven(x) + 0, want + 0, `round(${x})`);
  });

  test('qmin / qmax per type, reduce-range and symmetric (onnxruntime tables)', () => {
    const cases: [QuantType, object, [number, number]][] = [
      ['int8', {}, [-128, 127]], ['uint8', {}, [0, 255]], ['int16', {}, [-32768, 32767]], ['uint16', {}, [0, 65535]],
      ['int4', {}, [-8, 7]], ['uint4', {}, [0, 15]],
      ['int8', { reduceRange: true }, [-64, 64]], ['uint8', { reduceRange: true }, [0, 127]],
      ['int16', { reduceRange: true }, [-16384, 16384]], ['uint16', { reduceRange: true }, [0, 32767]],
      ['int4', { reduceRange: true }, [-4, 3]], ['uint4', { reduceRange: true }, [0, 7]],
      ['int8', { symmetric: true }, [-127, 127]], ['int16', { symmetric: true }, [-32767, 32767]], ['int4', { symmetric: true }, [-7, 7]],
      ['uint8', { symmetric: true }, [1, 255]], ['uint16', { symmetric: true }, [1, 65535]], ['uint4', { symmetric: true }, [1, 15]],
      ['int8', { symmetric: true, reduceRange: true }, [-64, 64]],
    ];
    for (const [t, o, [lo, hi]] of cases) assert.deepEqual(qRange(t, o), { qmin: lo, qmax: hi }, `${t} ${JSON.stringify(o)}`);
    assert.deepEqual(saturationRange('int8'), { qmin: -128, qmax: 127 });
  });
});

describe('scale and zero point (hand-worked)', () => {
  const f = Math.fround;
  test('asymmetric ranges include 0', () => {
    // uint8 [-1, 3]: scale 4/255, zp = round(0 + 1 / (4/255)) = round(63.75) = 64
    assert.deepEqual(computeScaleZeroPoint(-1, 3, 'uint8'), { scale: f(4 / 255), zeroPoint: 64, type: 'uint8' });
    // int8 [-1, 3]: zp = round(-128 + 63.75) = round(-64.25) = -64
    assert.deepEqual(computeScaleZeroPoint(-1, 3, 'int8'), { scale: f(4 / 255), zeroPoint: -64, type: 'int8' });
    // [2, 5] widens to [0, 5]: zp at qmin
    assert.deepEqual(computeScaleZeroPoint(2, 5, 'uint8'), { scale: f(5 / 255), zeroPoint: 0, type: 'uint8' });
    assert.deepEqual(computeScaleZeroPoint(-5, -2, 'int8'), { scale: f(5 / 255), zeroPoint: 127, type: 'int8' });
    // int16 [0, 1]: scale 1/65535, zp -32768
    assert.deepEqual(computeScaleZeroPoint(0, 1, 'int16'), { scale: f(1 / 65535), zeroPoint: -32768, type: 'int16' });
    // int4 [-1, 3]: scale 4/15, zp = round(-8 + 3.75) = round(-4.25) = -4
    assert.deepEqual(computeScaleZeroPoint(-1, 3, 'int4'), { scale: f(4 / 15), zeroPoint: -4, type: 'int4' });
    // reduce range int8 [-64, 64]: scale 4/128, zp = round(-64 + 32) = -32
    assert.deepEqual(computeScaleZeroPoint(-1, 3, 'int8', { reduceRange: true }), { scale: 1 / 32, zeroPoint: -32, type: 'int8' });
    // a tie: uint8 [-0.5, 0.5] -> scale 1/255, zp = round(127.5) = 128 (half to even)
    assert.equal(computeScaleZeroPoint(-0.5, 0.5, 'uint8').zeroPoint, 128);
    // [-1.5, 1] in uint8: zp = round(1.5 / (2.5/255)) = round(153) = 153
    assert.equal(computeScaleZeroPoint(-1.5, 1, 'uint8').zeroPoint, 153);
  });

  test('symmetric', () => {
    // int8 [-1, 3] -> [-3, 3] over [-127, 127]: scale 6/254, zp 0
    assert.deepEqual(computeScaleZeroPoint(-1, 3, 'int8', { symmetric: true }), { scale: f(6 / 254), zeroPoint: 0, type: 'int8' });
    assert.deepEqual(computeScaleZeroPoint(-1, 3, 'uint8', { symmetric: true }), { scale: f(6 / 254), zeroPoint: 128, type: 'uint8' });
    assert.deepEqual(computeScaleZeroPoint(-2, 1, 'int16', { symmetric: true }), { scale: f(4 / 65534), zeroPoint: 0, type: 'int16' });
    assert.deepEqual(computeScaleZeroPoint(-2, 1, 'uint16', { symmetric: true }), { scale: f(4 / 65534), zeroPoint: 32768, type: 'uint16' });
    assert.deepEqual(computeScaleZeroPoint(0, 7, 'int4', { symmetric: true }), { scale: 1, zeroPoint: 0, type: 'int4' });
    // both ends of a symmetric uint8 range are exact: -3 -> 1, +3 -> 255
    const p = computeScaleZeroPoint(-3, 3, 'uint8', { symmetric: true });
    assert.equal(quantizeValue(-3, p.scale, p.zeroPoint, 'uint8'), 1);
    assert.equal(quantizeValue(3, p.scale, p.zeroPoint, 'uint8'), 255);
  });

  test('degenerate and invalid ranges', () => {
    assert.deepEqual(computeScaleZeroPoint(0, 0, 'uint8'), { scale: 1, zeroPoint: 0, type: 'uint8' });
    assert.deepEqual(computeScaleZeroPoint(0, 0, 'uint8', { symmetric: true }), { scale: 1, zeroPoint: 128, type: 'uint8' });
    assert.deepEqual(computeScaleZeroPoint(0, 1e-40, 'int8'), { scale: 1, zeroPoint: 0, type: 'int8' });
    // min_real_range widens [0, 1e-6] to [0, 0.01]
    assert.equal(computeScaleZeroPoint(0, 1e-6, 'uint8', { minRealRange: 0.01 }).scale, f(f(0.01) / 255));
    assert.throws(() => computeScaleZeroPoint(NaN, 1, 'int8'), /finite/);
    assert.throws(() => computeScaleZeroPoint(2, 1, 'int8'), /above/);
  });

  test('tensor and per-channel parameters from data', () => {
    const p = computeTensorParams([0.5, -1, 3, 2], 'uint8');
    assert.deepEqual({ scale: p.scale, zeroPoint: p.zeroPoint, min: p.min, max: p.max }, { scale: f(4 / 255), zeroPoint: 64, min: -1, max: 3 });
    // shape [2, 3, 2], axis 1: channel c holds elements {c*2, c*2+1} and {6+c*2, 6+c*2+1}
    const w = [1, -1, 0, 2, -4, 4, /* */ 0.5, 0, 1, 0, 0, -2];
    const pc = computePerChannelParams(w, [2, 3, 2], 1, 'int8', { symmetric: true });
    assert.deepEqual(Array.from(pc.mins), [-1, 0, -4]);
    assert.deepEqual(Array.from(pc.maxs), [1, 2, 4]);
    assert.deepEqual(Array.from(pc.scales), [f(2 / 254), f(4 / 254), f(8 / 254)]);
    assert.deepEqual(Array.from(pc.zeroPoints), [0, 0, 0]);
    const q = quantizePerChannel(w, [2, 3, 2], 1, pc.scales, pc.zeroPoints, 'int8');
    // channel 0: 1/(2/254) = 127; channel 1: 2 -> 127, 1 -> 63.5 -> 64 (even); channel 2: -4 -> -127, -2 -> -63.5 -> -64
    assert.deepEqual(Array.from(q), [127, -127, 0, 127, -127, 127, 64, 0, 64, 0, 0, -64]);
    assert.throws(() => computePerChannelParams(w, [2, 3, 2], 3, 'int8'), /Axis 3/);
    assert.throws(() => quantizePerChannel(w, [2, 3, 2], 1, [1, 1], [0, 0], 'int8'), /3 channels/);
  });
});

describe('quantize / dequantize (hand-worked)', () => {
  test('QuantizeLinear: ties to even, saturation, NaN', () => {
    // scale 0.5: x / s = 0.5, 1.5, -0.5, -1.5, 2.5, 127.5, 128, 200, -200, NaN
    const x = [0.25, 0.75, -0.25, -0.75, 1.25, 63.75, 64, 100, -100, NaN];
    assert.deepEqual(Array.from(quantize(x, 0.5, 0, 'int8')), [0, 2, 0, -2, 2, 127, 127, 127, -128, 0]);
    assert.deepEqual(Array.from(quantize([0.25, 0.75, -1, 300], 0.5, 10, 'uint8')), [10, 12, 8, 255]);
    assert.deepEqual(Array.from(quantize([3.5, -3.5, 100], 1, 0, 'int4')), [4, -4, 7]);
    assert.deepEqual(Array.from(quantize([-100, 3, 100], 1, 3, 'uint4')), [0, 6, 15]);
    assert.deepEqual(Array.from(quantize([-1e9, 2.5, 1e9], 1, 0, 'int16')), [-32768, 2, 32767]);
    assert.deepEqual(Array.from(quantize([-1e9, 2.5, 1e9], 2, 32767, 'uint16')), [0, 32768, 65535]);
    assert.throws(() => quantize([1], 0, 0, 'int8'), /Scale/);
    assert.throws(() => quantize([1], 1, 200, 'int8'), /Zero point 200/);
  });

  test('DequantizeLinear and bias', () => {
    assert.deepEqual(Array.from(dequantize([0, 64, 255], Math.fround(4 / 255), 64)), [-64 * Math.fround(4 / 255), 0, 191 * Math.fround(4 / 255)].map(Math.fround));
    assert.equal(dequantizeValue(-128, 0.5, -128), 0);
    // bias: input scale 0.5 x weight scales [0.25, 0.1] -> [0.125, 0.05]
    const b = quantizeBias([1, -0.3, 1e12], 0.5, [0.25, Math.fround(0.1), 0.25]);
    assert.deepEqual(Array.from(b.scales), [0.125, Math.fround(0.5 * Math.fround(0.1)), 0.125]);
    assert.equal(b.data[0], 8);
    assert.equal(b.data[1], -6); // -0.3 / 0.05 = -6 (in float32: -5.9999995 or -6.0000005, rounds to -6)
    assert.equal(b.data[2], 2147483647);
    assert.equal(b.saturated, 1);
    assert.throws(() => quantizeBias([1, 2, 3], 1, [1, 2]), /3 values/);
  });

  test('int4 packing is low nibble first (ONNX)', () => {
    const bytes = packInt4([1, -1, 7, -8, 3]);
    assert.deepEqual(Array.from(bytes), [0xf1, 0x87, 0x03]);
    assert.deepEqual(Array.from(unpackInt4(bytes, 5, true)), [1, -1, 7, -8, 3]);
    assert.deepEqual(Array.from(unpackInt4(new Uint8Array([0xf1]), 2, false)), [1, 15]);
    assert.deepEqual(Array.from(quantizedToBytes(Int16Array.from([1, -2]), 'int16')), [1, 0, 0xfe, 0xff]);
  });
});

describe('the ONNX spec test data (.pb)', () => {
  const dirs = [
    path.join(ONNX_TESTDATA, 'node'),
    sharedModel('onnx', 'onnx-node-quant'),
  ];
  const find = (name: string): string | undefined => {
    for (const d of dirs) {
      const p = path.join(d, name, 'test_data_set_0');
      if (fs.existsSync(p)) return p;
    }
    return undefined;
  };
  const load = (dir: string, f: string) => decodeTensorProto(fs.readFileSync(path.join(dir, f)), f);

  const qcases: [string, QuantType, number | undefined][] = [
    ['test_quantizelinear', 'uint8', undefined], ['test_quantizelinear_axis', 'uint8', 1],
    ['test_quantizelinear_int4', 'int4', 0], ['test_quantizelinear_uint4', 'uint4', 0],
    ['test_quantizelinear_int16', 'int16', undefined], ['test_quantizelinear_uint16', 'uint16', undefined],
  ];
  for (const [name, type, axis] of qcases) {
    test(name, () => {
      const dir = find(name);
      assert.ok(dir, `${name} test data not found`);
      const x = load(dir, 'input_0.pb');
      const s = load(dir, 'input_1.pb');
      const z = load(dir, 'input_2.pb');
      const want = load(dir, 'output_0.pb');
      assert.equal(want.dtype, type);
      const got = s.shape.length === 0
        ? quantize(x.data as Float32Array, s.data[0] as number, Number(z.data[0]), type)
        : quantizePerChannel(x.data as Float32Array, x.shape, axis!, s.data as Float32Array, Array.from(z.data as Int8Array, Number), type);
      assert.deepEqual(Array.from(got), Array.from(want.data as ArrayLike<number>));
    });
  }

  for (const name of ['test_dequantizelinear', 'test_dequantizelinear_axis', 'test_dequantizelinear_int4', 'test_dequantizelinear_uint16', 'test_dequantizelinear_int16']) {
    test(name, () => {
      const dir = find(name);
      assert.ok(dir, `${name} test data not found`);
      const x = load(dir, 'input_0.pb');
      const s = load(dir, 'input_1.pb');
      const z = load(dir, 'input_2.pb');
      const want = load(dir, 'output_0.pb');
      const q = Array.from(x.data as ArrayLike<number>, Number);
      const got = s.shape.length === 0
        ? dequantize(q, s.data[0] as number, Number(z.data[0]))
        : dequantizePerChannel(q, x.shape, 1, s.data as Float32Array, Array.from(z.data as ArrayLike<number>, Number));
      assert.deepEqual(Array.from(got), Array.from(want.data as Float32Array));
    });
  }
});

describe('against onnxruntime-node QuantizeLinear / DequantizeLinear', () => {
  const types: QuantType[] = ['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4'];
  for (const type of types) {
    for (const symmetric of [false, true]) {
      test(`${type} ${symmetric ? 'symmetric' : 'asymmetric'}: same integers and same floats back`, async () => {
        const n = 3000;
        const x = randn(n, 7 + types.indexOf(type), 2.5, 0.3);
        const p = computeScaleZeroPoint(-4, 5, type, { symmetric });
        // ties: x / scale exactly k + 0.5 (float32-exact), plus values far outside the range
        for (let i = 0; i < 40; i++) x[i] = Math.fround((i - 20 + 0.5) * p.scale);
        x[40] = 1e6; x[41] = -1e6; x[42] = 0; x[43] = -0;
        let ties = 0;
        for (let i = 0; i < 40; i++) { const v = Math.fround(x[i] / p.scale); if (v - Math.floor(v) === 0.5) ties++; }
        assert.ok(ties >= 30, `only ${ties} exact ties exercised`);
        const ours = quantize(x, p.scale, p.zeroPoint, type);
        const theirs = await ortQuantize(x, [n], [p.scale], [p.zeroPoint], type);
        let diff = 0;
        for (let i = 0; i < n; i++) if (ours[i] !== theirs[i]) diff++;
        assert.equal(diff, 0, `${diff} of ${n} values differ; first at ${Array.from(ours).findIndex((v, i) => v !== theirs[i])}`);
        const back = dequantize(ours, p.scale, p.zeroPoint);
        const ortBack = await ortDequantize(ours, [n], [p.scale], [p.zeroPoint], type);
        assert.deepEqual(Array.from(back), Array.from(ortBack));
        // and the round trip is within half a step inside the range
        for (let i = 44; i < n; i++) {
          const lo = p.scale * (qRange(type).qmin - p.zeroPoint);
          const hi = p.scale * (qRange(type).qmax - p.zeroPoint);
          if (x[i] > lo && x[i] < hi) assert.ok(Math.abs(back[i] - x[i]) <= p.scale / 2 + 1e-6, `x=${x[i]} back=${back[i]}`);
        }
      });
    }
  }

  test('per-channel (axis 1 and axis 0) int8 and uint8', async () => {
    const dims = [4, 3, 5];
    const x = randn(60, 99, 1.5);
    for (const [type, axis] of [['int8', 1], ['uint8', 0], ['int8', 2]] as [QuantType, number][]) {
      const pc = computePerChannelParams(x, dims, axis, type, { symmetric: type === 'int8' });
      const ours = quantizePerChannel(x, dims, axis, pc.scales, pc.zeroPoints, type);
      const theirs = await ortQuantize(x, dims, Array.from(pc.scales), Array.from(pc.zeroPoints), type, axis);
      assert.deepEqual(Array.from(ours), theirs, `${type} axis ${axis}`);
      const back = dequantizePerChannel(ours, dims, axis, pc.scales, pc.zeroPoints);
      const ortBack = await ortDequantize(ours, dims, Array.from(pc.scales), Array.from(pc.zeroPoints), type, axis);
      assert.deepEqual(Array.from(back), Array.from(ortBack));
    }
  });

  test('int32 bias dequantizes back to the float bias', async () => {
    const bias = randn(16, 5, 3);
    const inputScale = Math.fround(0.0123);
    const wScales = Array.from(randn(16, 6, 0.01)).map((v) => Math.fround(Math.abs(v) + 1e-3));
    const qb = quantizeBias(bias, inputScale, wScales);
    const back = await ortDequantize(qb.data, [16], Array.from(qb.scales), new Array(16).fill(0), 'int32', 0);
    for (let i = 0; i < 16; i++) assert.ok(Math.abs(back[i] - bias[i]) <= qb.scales[i] / 2 * 1.0001, `bias ${i}: ${bias[i]} vs ${back[i]}`);
  });
});
