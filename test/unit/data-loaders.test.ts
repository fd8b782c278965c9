/**
 * Calibration data loaders: .npy / .npz (hand-written bytes and files written by numpy), ONNX
 * TensorProto .pb (values checked with python3-onnx), IDX (MNIST), raw files (kws01), JSON /
 * JSON Lines / CSV, folders, synthetic data, batching, and the errors for bad data.
 */
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { zipSync } from 'fflate';
import { openCalibrationData } from '../../src/core/data/loader';
import { batchSamples } from '../../src/core/data/batch';
import { syntheticData, SYNTHETIC_WARNING } from '../../src/core/data/synthetic';
import type { LoadOptions } from '../../src/core/data/options';
import { encodeNpy, parseNpy, parseNpz } from '../../src/core/data/npy';
import { prefetch } from '../../src/core/data/prefetch';
import { decodeTensorProto } from '../../src/core/data/tensorproto';
import { readIdx } from '../../src/core/data/idx';
import { DataError } from '../../src/core/data/errors';
import { planFor, squeezeFit } from '../../src/core/data/shape';
import { floatToHalf, halfToFloat, type InputSpec, type Sample, type TensorArray } from '../../src/core/data/tensor';
import { ModelError, describeError } from '../../src/core/errors';
import { ONNX_TESTDATA, SYSTEM_PYTHON, sharedModel } from '../helpers/paths';

/** Values of any sample array (bigint for 64-bit integers). */
const arr = (a: TensorArray): (number | bigint)[] => Array.from(a as ArrayLike<number | bigint>);

let tmp = '';
before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-data-')); });
after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

async function collect(src: AsyncIterable<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of src) out.push(s);
  return out;
}

const f32 = (name: string, shape: InputSpec['shape']): InputSpec => ({ name, dtype: 'float32', shape });

/** A .npy file built byte by byte from the format description. */
function npyBytes(descr: string, shape: string, body: Uint8Array, opts: { fortran?: boolean; version?: 1 | 2 } = {}): Uint8Array {
  const v = opts.version ?? 1;
  const pre = v === 1 ? 10 : 12;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pad = (64 - ((pre + header.length + 1) % 64)) % 64;
  header += ' '.repeat(pad) + '\n';
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, v, 0]);
  const dv = new DataView(out.buffer);
  if (v === 1) dv.setUint16(8, header.length, true); else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(body, pre + header.length);
  return out;
}

function le32f(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return b;
}

describe('npy / npz', () => {
  test('hand-written .npy: float32, big-endian int16, Fortran order, v2 header, bool, float16', () => {
    const a = parseNpy(npyBytes('<f4', '(2, 3)', le32f([1, 2, 3, 4, 5, 6.5])));
    assert.deepEqual([a.dtype, a.shape, arr(a.data)], ['float32', [2, 3], [1, 2, 3, 4, 5, 6.5]]);
    // '>i2' 258 = 0x0102, -2 = 0xfffe
    const b = parseNpy(npyBytes('>i2', '(2,)', new Uint8Array([0x01, 0x02, 0xff, 0xfe])));
    assert.deepEqual([b.dtype, b.shape, arr(b.data)], ['int16', [2], [258, -2]]);
    // Fortran order: column-major [[1,2,3],[4,5,6]] is stored 1,4,2,5,3,6
    const c = parseNpy(npyBytes('<f4', '(2, 3)', le32f([1, 4, 2, 5, 3, 6]), { fortran: true }));
    assert.deepEqual(arr(c.data), [1, 2, 3, 4, 5, 6]);
    const d = parseNpy(npyBytes('<f4', '()', le32f([7]), { version: 2 }));
    assert.deepEqual([d.shape, arr(d.data)], [[], [7]]);
    const e = parseNpy(npyBytes('|b1', '(3,)', new Uint8Array([1, 0, 1])));
    assert.deepEqual([e.dtype, arr(e.data)], ['bool', [1, 0, 1]]);
    const h = parseNpy(npyBytes('<f2', '(2,)', new Uint8Array([0x00, 0x3c, 0x00, 0xc0]))); // 1.0, -2.0
    assert.deepEqual([h.dtype, Array.from(h.data as Uint16Array, halfToFloat)], ['float16', [1, -2]]);
    assert.equal(floatToHalf(1), 0x3c00);
    assert.equal(floatToHalf(65520), 0x7c00); // rounds to infinity
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie to even
  });

  test('bad .npy files name the problem', () => {
    const bad = (bytes: Uint8Array, re: RegExp) => assert.throws(() => parseNpy(bytes, 'x.npy'), (e: unknown) => e instanceof DataError && re.test(e.message));
    bad(new Uint8Array([1, 2, 3]), /not a NumPy/);
    bad(npyBytes('<f4', '(2, 3)', le32f([1, 2, 3])), /truncated/);
    bad(npyBytes('<c8', '(1,)', new Uint8Array(8)), /not supported/);
    bad(npyBytes('|O', '(1,)', new Uint8Array(8)), /not supported/);
    const round = parseNpy(encodeNpy({ dtype: 'int64', shape: [2, 2], data: BigInt64Array.from([1n, -2n, 3n, 2n ** 40n]) }));
    assert.deepEqual(arr(round.data), [1n, -2n, 3n, 2n ** 40n]);
  });

  test('files written by numpy: npy (C and Fortran order, big-endian), npz (stored and deflated)', () => {
    const dir = path.join(tmp, 'numpy');
    fs.mkdirSync(dir);
    execFileSync(SYSTEM_PYTHON, ['-c', `
import numpy as np, os
d = ${JSON.stringify(dir)}
a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8 - 1
np.save(os.path.join(d, 'c.npy'), a)
np.save(os.path.join(d, 'f.npy'), np.asfortranarray(a))
np.save(os.path.join(d, 'be.npy'), a.astype('>f8'))
np.save(os.path.join(d, 'u8.npy'), (np.arange(12) * 20).astype(np.uint8).reshape(3, 4))
np.savez(os.path.join(d, 'plain.npz'), x=a, y=np.array([1, 2], dtype=np.int64))
np.savez_compressed(os.path.join(d, 'comp.npz'), a, np.array([[True, False]]))
`]);
    const want = Array.from({ length: 24 }, (_, i) => i / 8 - 1);
    for (const f of ['c.npy', 'f.npy', 'be.npy']) {
      const t = parseNpy(fs.readFileSync(path.join(dir, f)), f);
      assert.deepEqual(t.shape, [2, 3, 4], f);
      assert.deepEqual(arr(t.data).map(Number), want, f);
    }
    const plain = parseNpz(fs.readFileSync(path.join(dir, 'plain.npz')));
    assert.deepEqual([...plain.keys()], ['x', 'y']);
    assert.deepEqual(arr(plain.get('y')!.data), [1n, 2n]);
    const comp = parseNpz(fs.readFileSync(path.join(dir, 'comp.npz')));
    assert.deepEqual([...comp.keys()], ['arr_0', 'arr_1']);
    assert.deepEqual(arr(comp.get('arr_0')!.data), want);
    assert.deepEqual([comp.get('arr_1')!.dtype, arr(comp.get('arr_1')!.data)], ['bool', [1, 0]]);
  });

  test('a stacked .npy feeds one sample at a time; npz keys map to inputs', async () => {
    const dir = path.join(tmp, 'numpy');
    // [2,3,4] against [N,3,4]: two samples of [1,3,4]
    const s1 = await collect(await openCalibrationData(path.join(dir, 'c.npy'), { inputs: [f32('x', ['N', 3, 4])] }));
    assert.equal(s1.length, 2);
    assert.deepEqual(s1[1].x.shape, [1, 3, 4]);
    assert.deepEqual(arr(s1[1].x.data), Array.from({ length: 12 }, (_, i) => (i + 12) / 8 - 1));
    // against [3,4]: items of [3,4]
    const s2 = await collect(await openCalibrationData(path.join(dir, 'f.npy'), { inputs: [f32('x', [3, 4])] }));
    assert.deepEqual(s2.map((s) => s.x.shape), [[3, 4], [3, 4]]);
    // uint8 into float, scaled to 0-1
    const s3 = await collect(await openCalibrationData(path.join(dir, 'u8.npy'), { inputs: [f32('x', [1, 4])], scale: '0-1' }));
    assert.equal(s3.length, 3);
    assert.deepEqual(arr(s3[0].x.data), [0, 20, 40, 60].map((v) => Math.fround(v / 255)));
    // npz by name, with int64 kept
    const s4 = await collect(await openCalibrationData(path.join(dir, 'plain.npz'), {
      inputs: [f32('x', [1, 3, 4]), { name: 'y', dtype: 'int64', shape: [1] }],
    }));
    assert.equal(s4.length, 2);
    assert.deepEqual(arr(s4[1].y.data), [2n]);
    // stacks of different lengths cannot be paired
    const uneven = path.join(tmp, 'uneven.npz');
    fs.writeFileSync(uneven, zipSync({
      'x.npy': encodeNpy({ dtype: 'float32', shape: [2, 3, 4], data: new Float32Array(24) }),
      'y.npy': encodeNpy({ dtype: 'int64', shape: [3], data: new BigInt64Array(3) }),
    }));
    await assert.rejects(
      openCalibrationData(uneven, { inputs: [f32('x', [1, 3, 4]), { name: 'y', dtype: 'int64', shape: [1] }] }).then(collect),
      (e: unknown) => e instanceof DataError && /input "x" has 2 samples but input "y" has 3/.test(e.message),
    );
  });
});

describe('read-ahead over stacked files', () => {
  test('samples served from 1 MB blocks equal the file, across block edges, with offset and limit', async () => {
    // 3000 samples of 100 float32 (400 bytes): a block holds 2621, so the read crosses a block edge
    const all = Float32Array.from({ length: 3000 * 100 }, (_, i) => Math.sin(i) * 1000);
    const f = path.join(tmp, 'many.npy');
    fs.writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [3000, 100], data: all }));
    const s = await collect(await openCalibrationData(f, { inputs: [f32('x', [1, 100])], offset: 7, limit: 2990 }));
    assert.equal(s.length, 2990);
    for (const k of [0, 1, 2613, 2614, 2615, 2989]) assert.deepEqual(arr(s[k].x.data), Array.from(all.subarray((k + 7) * 100, (k + 8) * 100)), `sample ${k}`);
    // each sample owns its memory (same type, nothing converted): no view keeps a 1 MB block alive
    for (const k of [0, 1, 2989]) assert.equal((s[k].x.data as Float32Array).buffer.byteLength, 400, `sample ${k}`);
    // uint8 converted to float32 scaled 0-1: values from the file, each sample its own array
    const bytes = Uint8Array.from({ length: 50 * 16 }, (_, i) => (i * 37) % 256);
    const u = path.join(tmp, 'bytes.npy');
    fs.writeFileSync(u, encodeNpy({ dtype: 'uint8', shape: [50, 16], data: bytes }));
    const c = await collect(await openCalibrationData(u, { inputs: [f32('x', [1, 16])], scale: '0-1' }));
    assert.equal(c.length, 50);
    assert.deepEqual(arr(c[49].x.data), Array.from(bytes.subarray(49 * 16), (v) => Math.fround(v / 255)));
    assert.equal((c[3].x.data as Float32Array).buffer.byteLength, 64);
    // a raw file (no shape of its own): int8 samples of 490 bytes
    const raw = Int8Array.from({ length: 5000 * 490 }, (_, i) => (i * 7) % 256 - 128);
    const r = path.join(tmp, 'many.bin');
    fs.writeFileSync(r, raw);
    const t = await collect(await openCalibrationData(r, { inputs: [{ name: 'a', dtype: 'int8', shape: [1, 49, 10, 1] }], offset: 4990 }));
    assert.equal(t.length, 10);
    assert.deepEqual(arr(t[9].a.data), Array.from(raw.subarray(4999 * 490)));
  });
});

describe('prefetch: reading starts before the consumer asks', () => {
  const images = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
  const opts: LoadOptions = { inputs: [f32('Input3', [1, 1, 28, 28])], limit: 7 };

  test('the same samples in the same order, and one iteration only', async () => {
    const plain = await collect(await openCalibrationData(images, opts));
    const d = await openCalibrationData(images, opts);
    const pre = prefetch(d, 3);
    assert.equal(pre.source, d.source);
    assert.equal(pre.format, 'idx');
    // the first samples are read without anyone iterating
    await new Promise((r) => setTimeout(r, 50));
    const got = await collect(pre);
    assert.equal(got.length, 7);
    got.forEach((s, i) => assert.deepEqual(arr(s.Input3.data), arr(plain[i].Input3.data), `sample ${i}`));
    assert.throws(() => pre[Symbol.asyncIterator](), /iterated once/);
  });

  test('a read that fails before anyone asks is reported at next(), not as an unhandled rejection', async () => {
    const f = path.join(tmp, 'short2-idx3-ubyte');
    fs.writeFileSync(f, new Uint8Array([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pre = prefetch(await openCalibrationData(f, { inputs: [f32('x', [2, 2])] }), 2);
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(collect(pre), (e: unknown) => e instanceof DataError && /truncated/.test(e.message));
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('close() ends the source: nothing more is read', async () => {
    let produced = 0;
    let finished = false;
    async function* source(): AsyncGenerator<Sample> {
      try {
        for (let i = 0; i < 100; i++) { produced++; yield { x: { dtype: 'float32', shape: [1], data: Float32Array.of(i) } }; }
      } finally {
        finished = true;
      }
    }
    const data = { source: 's', format: 'synthetic' as const, synthetic: true, warnings: [], files: [], [Symbol.asyncIterator]: source };
    const pre = prefetch(data, 2);
    const it = pre[Symbol.asyncIterator]();
    assert.deepEqual(arr((await it.next()).value!.x.data), [0]);
    await pre.close();
    assert.equal(finished, true);
    assert.ok(produced <= 4, `${produced} samples were produced`);
    assert.equal((await it.next()).done, true);
  });
});

describe('ONNX TensorProto (.pb)', () => {
  test('decoded values equal python3-onnx numpy_helper', () => {
    const files = [
      'node/test_quantizelinear/test_data_set_0/input_0.pb',
      'node/test_quantizelinear/test_data_set_0/input_2.pb',
      'node/test_add/test_data_set_0/input_1.pb',
      'node/test_cast_FLOAT_to_FLOAT16/test_data_set_0/output_0.pb',
      'node/test_argmax_default_axis_example/test_data_set_0/output_0.pb',
      'node/test_and2d/test_data_set_0/input_0.pb',
    ].map((f) => path.join(ONNX_TESTDATA, f));
    for (const f of files) assert.ok(fs.existsSync(f), f);
    const out = execFileSync(SYSTEM_PYTHON, ['-c', `
import onnx, json, sys
from onnx import numpy_helper
res = []
for f in sys.argv[1:]:
    t = onnx.TensorProto(); t.ParseFromString(open(f, 'rb').read())
    a = numpy_helper.to_array(t)
    v = a.view('uint16') if a.dtype.name == 'float16' else a
    res.append({'name': t.name, 'shape': list(a.shape), 'values': [int(x) if a.dtype.kind in 'iub' or a.dtype.name == 'float16' else float(x) for x in v.ravel()]})
print(json.dumps(res))
`, ...files], { encoding: 'utf8' });
    const want = JSON.parse(out) as { name: string; shape: number[]; values: number[] }[];
    files.forEach((f, i) => {
      const t = decodeTensorProto(fs.readFileSync(f), f);
      assert.equal(t.name, want[i].name, f);
      assert.deepEqual(t.shape, want[i].shape, f);
      assert.deepEqual(arr(t.data).map(Number), want[i].values.map((v) => (t.dtype === 'float32' ? Math.fround(v) : v)), f);
    });
  });

  test('a test_data_set folder gives one sample with both inputs', async () => {
    const data = await openCalibrationData(path.join(ONNX_TESTDATA, 'node', 'test_add'), {
      inputs: [f32('x', [3, 4, 5]), f32('y', [3, 4, 5])],
    });
    const s = await collect(data);
    assert.equal(s.length, 1);
    const y = decodeTensorProto(fs.readFileSync(path.join(ONNX_TESTDATA, 'node/test_add/test_data_set_0/input_1.pb')));
    assert.deepEqual(arr(s[0].y.data), arr(y.data));
    assert.deepEqual(s[0].x.shape, [3, 4, 5]);
    // the test_data_set_0 folder itself: the same sample, its output_0.pb not taken for an input
    const own = await collect(await openCalibrationData(path.join(ONNX_TESTDATA, 'node', 'test_add', 'test_data_set_0'), {
      inputs: [f32('x', [3, 4, 5]), f32('y', [3, 4, 5])],
    }));
    assert.equal(own.length, 1);
    assert.deepEqual(arr(own[0].y.data), arr(y.data));
    assert.deepEqual(arr(own[0].x.data), arr(s[0].x.data));
  });

  test('bad .pb bytes', () => {
    assert.throws(() => decodeTensorProto(new Uint8Array([0x0a, 0xff, 0xff, 0xff]), 'bad.pb'), (e: unknown) => e instanceof DataError && /bad\.pb/.test(e.message));
    // dims [4] float with only 2 floats
    assert.throws(() => decodeTensorProto(new Uint8Array([0x08, 0x04, 0x10, 0x01, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]), 't.pb'), /needs 4 float32 values/);
  });
});

describe('IDX (MNIST)', () => {
  const images = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
  const labels = sharedModel('data', 'mnist', 't10k-labels-idx1-ubyte.gz');

  test('labels start 7, 2, 1, 0, 4 and images are 10000 x 28 x 28', async () => {
    const l = await readIdx(labels);
    assert.deepEqual([l.dtype, l.shape], ['uint8', [10000]]);
    assert.deepEqual(arr(l.data.subarray(0, 5) as TensorArray), [7, 2, 1, 0, 4]);
    const raw = zlib.gunzipSync(fs.readFileSync(images));
    const data = await openCalibrationData(images, { inputs: [f32('Input3', [1, 1, 28, 28])] });
    let n = 0;
    let first: Sample | undefined;
    let last: Sample | undefined;
    for await (const s of data) {
      if (!first) first = s;
      last = s;
      n++;
    }
    assert.equal(n, 10000);
    assert.deepEqual(first!.Input3.shape, [1, 1, 28, 28]);
    assert.deepEqual(arr(first!.Input3.data), Array.from(raw.subarray(16, 16 + 784)));
    assert.deepEqual(arr(last!.Input3.data), Array.from(raw.subarray(16 + 9999 * 784, 16 + 10000 * 784)));
  });

  test('offset and limit pick the calibration slice', async () => {
    const raw = zlib.gunzipSync(fs.readFileSync(images));
    const data = await openCalibrationData(images, { inputs: [f32('x', ['batch', 784])], offset: 9800, limit: 1000, scale: '0-1' });
    const s = await collect(data);
    assert.equal(s.length, 200);
    assert.deepEqual(s[0].x.shape, [1, 784]);
    assert.deepEqual(arr(s[0].x.data), Array.from(raw.subarray(16 + 9800 * 784, 16 + 9801 * 784), (v) => Math.fround(v / 255)));
  });

  test('gzip IDX: a cut-off stream serves the samples it holds, and reading past the cut or a corrupt stream is a DataError naming the file', async () => {
    const whole = fs.readFileSync(images);
    const cut = path.join(tmp, 'cut-idx3-ubyte.gz');
    fs.writeFileSync(cut, whole.subarray(0, 40_000)); // about 250 images' worth of compressed bytes
    const raw = zlib.gunzipSync(whole);
    const first = await collect(await openCalibrationData(cut, { inputs: [f32('x', [1, 1, 28, 28])], limit: 100 }));
    assert.equal(first.length, 100);
    assert.deepEqual(arr(first[99].x.data), Array.from(raw.subarray(16 + 99 * 784, 16 + 100 * 784)));
    await assert.rejects(openCalibrationData(cut, { inputs: [f32('x', [1, 1, 28, 28])] }).then(collect),
      (e: unknown) => e instanceof DataError && e.message.includes(cut) && /gzip|truncated/.test(e.message));
    const bad = path.join(tmp, 'bad-idx3-ubyte.gz');
    fs.writeFileSync(bad, Buffer.concat([whole.subarray(0, 10), Buffer.alloc(5000, 0x5a)]));
    await assert.rejects(openCalibrationData(bad, { inputs: [f32('x', [1, 1, 28, 28])] }).then(collect),
      (e: unknown) => e instanceof DataError && /not a valid gzip stream/.test(e.message));
  });

  test('a truncated IDX file is an error', async () => {
    const f = path.join(tmp, 'short-idx3-ubyte');
    fs.writeFileSync(f, new Uint8Array([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]));
    await assert.rejects(openCalibrationData(f, { inputs: [f32('x', [2, 2])] }).then(collect), (e: unknown) => e instanceof DataError && /truncated/.test(e.message));
  });
});

describe('raw files (kws01)', () => {
  test('1000 int8 feature files of 490 bytes, in file order, labels and README ignored', async () => {
    const dir = sharedModel('data', 'kws01');
    const data = await openCalibrationData(dir, { inputs: [{ name: 'input_1', dtype: 'int8', shape: [1, 49, 10, 1] }] });
    assert.equal(data.files.length, 1000);
    let n = 0;
    for await (const s of data) {
      if (n === 0 || n === 999) {
        const bytes = fs.readFileSync(data.files[n]);
        assert.equal(bytes.length, 490);
        assert.deepEqual(arr(s.input_1.data), Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, 490)));
        assert.deepEqual(s.input_1.shape, [1, 49, 10, 1]);
      }
      n++;
    }
    assert.equal(n, 1000);
    assert.match(path.basename(data.files[0]), /^tst_000000_/);
    assert.ok(data.warnings.some((w) => /ignored 2 file\(s\).*README/.test(w)), data.warnings.join('\n'));
    // the wrong element count is named
    await assert.rejects(
      openCalibrationData(data.files[0], { inputs: [{ name: 'input_1', dtype: 'int8', shape: [1, 49, 11, 1] }] }).then(collect),
      (e: unknown) => e instanceof DataError && e.reason === 'shape-mismatch' && /Input "input_1" expects int8\[1,49,11,1\].*490 values/.test(e.message),
    );
  });
});

describe('JSON, JSON Lines, CSV', () => {
  test('JSON samples: nested arrays, tensor objects, int64 inputs', async () => {
    const f = path.join(tmp, 'samples.json');
    fs.writeFileSync(f, JSON.stringify([
      { x: [[1, 2], [3, 4]], ids: [5, 6] },
      { x: { shape: [2, 2], data: [5, 6, 7, 8] }, ids: { data: [7, 8] } },
    ]));
    const inputs: InputSpec[] = [f32('x', [1, 2, 2]), { name: 'ids', dtype: 'int64', shape: ['b', 2] }];
    const s = await collect(await openCalibrationData(f, { inputs }));
    assert.equal(s.length, 2);
    assert.deepEqual(s[1].x.shape, [1, 2, 2]);
    assert.deepEqual(arr(s[1].x.data), [5, 6, 7, 8]);
    assert.deepEqual([s[0].ids.shape, arr(s[0].ids.data)], [[1, 2], [5n, 6n]]);
    fs.writeFileSync(f, JSON.stringify({ x: [[1, 2], [3, 4]], ids: [1.5, 2] }));
    await assert.rejects(openCalibrationData(f, { inputs }).then(collect), (e: unknown) => e instanceof DataError && e.reason === 'dtype-mismatch' && /1\.5 .*not an integer.*int64/.test(e.message));
    fs.writeFileSync(f, JSON.stringify({ x: [[1, 2], [3]], ids: [1, 2] }));
    await assert.rejects(openCalibrationData(f, { inputs }).then(collect), /not rectangular/);
    fs.writeFileSync(f, JSON.stringify({ x: [[1, 2], [3, 4]] }));
    await assert.rejects(openCalibrationData(f, { inputs }).then(collect), (e: unknown) => e instanceof DataError && e.reason === 'missing-input' && /no data for input "ids"/.test(e.message));
  });

  test('JSON Lines and CSV', async () => {
    const jl = path.join(tmp, 'samples.jsonl');
    fs.writeFileSync(jl, '{"x": [1, 2, 3, 4]}\n\n{"x": [5, 6, 7, 8]}\n');
    const s = await collect(await openCalibrationData(jl, { inputs: [f32('x', [1, 4])] }));
    assert.deepEqual(s.map((t) => arr(t.x.data)), [[1, 2, 3, 4], [5, 6, 7, 8]]);
    const csv = path.join(tmp, 'rows.csv');
    fs.writeFileSync(csv, 'a,b,c,d\n1,2,3,4\n"5",6,7,8e0\n');
    const c = await collect(await openCalibrationData(csv, { inputs: [f32('x', [1, 2, 2])] }));
    assert.deepEqual(c.map((t) => [t.x.shape, arr(t.x.data)]), [[[1, 2, 2], [1, 2, 3, 4]], [[1, 2, 2], [5, 6, 7, 8]]]);
    fs.writeFileSync(csv, '1,2,3,4\n1,2,x,4\n');
    await assert.rejects(openCalibrationData(csv, { inputs: [f32('x', [1, 4])] }).then(collect), /line 2.*not a row of numbers/);
    fs.writeFileSync(csv, '1,2,3\n');
    await assert.rejects(openCalibrationData(csv, { inputs: [f32('x', [1, 4])] }).then(collect), (e: unknown) => e instanceof DataError && e.reason === 'shape-mismatch');
  });
});

describe('shapes and errors', () => {
  test('fitting rules', () => {
    assert.deepEqual(squeezeFit([28, 28], [1, 1, 28, 28]), [1, 1, 28, 28]);
    assert.deepEqual(squeezeFit([28, 28], ['N', 1, 28, 28]), [1, 1, 28, 28]);
    assert.deepEqual(squeezeFit([3, 224, 224], ['N', 'C', 224, 224]), [1, 3, 224, 224]);
    assert.equal(squeezeFit([28, 28], [1, 3, 28, 28]), null);
    assert.deepEqual(planFor([8, 3, 4], [2, 3, 4]), { kind: 'stack', count: 4, itemsPerSample: 2, sampleShape: [2, 3, 4] });
    assert.deepEqual(planFor([10, 28, 28], [1, 1, 28, 28]), { kind: 'stack', count: 10, itemsPerSample: 1, sampleShape: [1, 1, 28, 28] });
    assert.deepEqual(planFor([28, 28], [1, 1, 28, 28]), { kind: 'single', sampleShape: [1, 1, 28, 28] });
    assert.deepEqual(planFor([10, 28, 28], ['N', 784]), { kind: 'stack', count: 10, itemsPerSample: 1, sampleShape: [1, 784] });
    assert.equal(planFor([10, 28, 28], ['N', 780]), null);
    assert.deepEqual(planFor([10, 28, 28], ['N', 28, 'W']), { kind: 'stack', count: 10, itemsPerSample: 1, sampleShape: [1, 28, 28] });
    assert.equal(planFor([10, 28, 28], ['N', 28, 27]), null);
    assert.equal(planFor([3, 28, 28], [1, 1, 32, 32]), null);
  });

  test('a shape mismatch names the input and both shapes', async () => {
    const f = path.join(tmp, 'wrong.npy');
    fs.writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [3, 28, 28], data: new Float32Array(3 * 784) }));
    await assert.rejects(
      openCalibrationData(f, { inputs: [f32('image', [1, 1, 32, 32])] }).then(collect),
      (e: unknown) => e instanceof DataError && e instanceof ModelError && e.reason === 'shape-mismatch'
        && e.input === 'image' && e.expected === 'float32[1,1,32,32]' && e.actual === '[3,28,28]'
        && /Input "image" expects float32\[1,1,32,32\] but .*wrong\.npy holds float32\[3,28,28\]/.test(describeError(e)),
    );
    await assert.rejects(
      openCalibrationData(f, { inputs: [{ name: 'ids', dtype: 'int64', shape: [3, 28, 28] }] }).then(collect),
      (e: unknown) => e instanceof DataError && e.reason === 'dtype-mismatch' && /Input "ids" expects int64\[3,28,28\] .*float32\[3,28,28\]/.test(e.message),
    );
    const i16 = path.join(tmp, 'big.npy');
    fs.writeFileSync(i16, encodeNpy({ dtype: 'int16', shape: [2], data: Int16Array.from([1, 300]) }));
    await assert.rejects(
      openCalibrationData(i16, { inputs: [{ name: 'b', dtype: 'int8', shape: [2] }] }).then(collect),
      (e: unknown) => e instanceof DataError && e.reason === 'dtype-mismatch' && /value 300 at index 1 does not fit/.test(e.message),
    );
  });

  test('paths and folders', async () => {
    const inputs = [f32('x', [1, 4])];
    await assert.rejects(openCalibrationData(path.join(tmp, 'nope'), { inputs }), (e: unknown) => e instanceof DataError && e.reason === 'io' && /does not exist/.test(e.message));
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'notes.txt'), 'hello');
    await assert.rejects(openCalibrationData(empty, { inputs }), (e: unknown) => e instanceof DataError && e.reason === 'no-data');
    await assert.rejects(openCalibrationData(path.join(empty, 'notes.txt'), { inputs }), /Cannot tell the format/);
    await assert.rejects(openCalibrationData(null, { inputs }), (e: unknown) => e instanceof DataError && /explicitly requested/.test(e.message));
    await assert.rejects(openCalibrationData(empty, { inputs: [{ name: 's', dtype: 'string', shape: [1] }] }), /element type string/);
    // a folder of .npy files, one sample each, in natural order
    const dir = path.join(tmp, 'npys');
    fs.mkdirSync(dir);
    for (const i of [10, 2, 1]) fs.writeFileSync(path.join(dir, `s${i}.npy`), encodeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4).fill(i) }));
    const s = await collect(await openCalibrationData(dir, { inputs }));
    assert.deepEqual(s.map((t) => t.x.data[0]), [1, 2, 10]);
    const zipped = path.join(tmp, 'bad.npz');
    fs.writeFileSync(zipped, zipSync({ 'x.npy': new Uint8Array([1, 2, 3]) }));
    await assert.rejects(openCalibrationData(zipped, { inputs }).then(collect), /not a NumPy/);
    fs.writeFileSync(zipped, new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]));
    await assert.rejects(openCalibrationData(zipped, { inputs }).then(collect), (e: unknown) => e instanceof DataError && e.reason === 'bad-file');
  });
});

describe('synthetic data and batching', () => {
  test('synthetic data only on request, seeded, and flagged', async () => {
    const inputs: InputSpec[] = [f32('x', ['batch', 3]), { name: 'ids', dtype: 'int64', shape: ['batch', 'seq'] }];
    const d = await openCalibrationData(null, { inputs, synthetic: { count: 3, seed: 7, dims: { seq: 5 } } });
    assert.equal(d.synthetic, true);
    assert.equal(d.warning, SYNTHETIC_WARNING);
    assert.match(d.warning!, /SYNTHETIC/);
    const a = await collect(d);
    const b = await collect(syntheticData(inputs, { count: 3, seed: 7, dims: { seq: 5 } }));
    assert.equal(a.length, 3);
    assert.deepEqual(a[0].ids.shape, [1, 5]);
    assert.deepEqual(a.map((s) => arr(s.x.data)), b.map((s) => arr(s.x.data)));
    assert.ok(arr(a[0].x.data).every((v) => v >= 0 && v < 1));
    const opts: LoadOptions = { inputs, synthetic: { count: 1 } };
    await assert.rejects(openCalibrationData(tmp, opts), /choose one/);
    const real = await openCalibrationData(sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz'), { inputs: [f32('x', [1, 784])], limit: 1 });
    assert.equal(real.synthetic, false);
    assert.equal(real.warning, undefined);
  });

  test('batching concatenates along the first axis', async () => {
    const inputs = [f32('x', ['N', 2])];
    const f = path.join(tmp, 'five.npy');
    fs.writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [5, 2], data: Float32Array.from({ length: 10 }, (_, i) => i) }));
    const batches = await collect(batchSamples(await openCalibrationData(f, { inputs }), 2, inputs));
    assert.deepEqual(batches.map((b) => b.x.shape), [[2, 2], [2, 2], [1, 2]]);
    assert.deepEqual(arr(batches[1].x.data), [4, 5, 6, 7]);
    await assert.rejects(collect(batchSamples(await openCalibrationData(f, { inputs }), 2, [f32('x', [1, 2])])), /fixed batch dimension of 1/);
  });
});
