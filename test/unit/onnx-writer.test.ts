/**
 * ONNX writer: read -> write round trips keep everything a model computes with (and the metadata
 * around it), compared field by field on the decoded protobuf; external data, atomic writes and
 * lazy weights read back from their file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import Long from 'long';
import { onnx } from '../../src/core/generated/onnx/onnx';
import { readOnnx } from '../../src/core/formats/onnx/reader';
import { writeOnnx, writeOnnxFile } from '../../src/core/formats/onnx/writer';
import { convertTensor } from '../../src/core/formats/onnx/convert';
import { constantBytes, constantNumbers } from '../../src/core/formats/onnx/data';
import { ModelError } from '../../src/core/errors';
import { SHARED_MODELS } from '../helpers/paths';

const TP = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

function vi(name: string, elemType: number, dims: (number | string | null)[] | null, doc?: string): onnx.ValueInfoProto.$Properties {
  const tensorType: onnx.TypeProto.Tensor.$Properties = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) };
  const v: onnx.ValueInfoProto.$Properties = { name, type: { tensorType } };
  if (doc) v.docString = doc;
  return v;
}

function f32(...v: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(v).buffer);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * A canonical JSON of a decoded ModelProto: tensors reduced to (name, type, dims, raw bytes) since
 * the writer may store typed fields as raw_data; empty lists and strings dropped; 64-bit integers as strings.
 */
function canon(bytes: Uint8Array): unknown {
  const walk = (x: unknown): unknown => {
    if (x instanceof onnx.TensorProto) {
      const c = convertTensor(x, 'canon', { copyBytes: true, externals: [] });
      return {
        name: x.name, dataType: x.dataType, dims: (x.dims ?? []).map(String), data: c.data.kind === 'bytes' ? hex(c.data.bytes) : c.data,
        doc: x.docString, metadata: walk(x.metadataProps), location: x.dataLocation, external: walk(x.externalData),
      };
    }
    if (Long.isLong(x)) return (x as Long).toString();
    if (x instanceof Uint8Array) return hex(x);
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        const v = (x as Record<string, unknown>)[k];
        if (Array.isArray(v) && v.length === 0) continue;
        if (v === '') continue; // an empty string field means the same as an absent one
        out[k] = walk(v);
      }
      return out;
    }
    return x;
  };
  return walk(onnx.ModelProto.decode(bytes));
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ql-onnxw-'));
}

/** A model that uses most of what ONNX can say. */
function richModel(): Uint8Array {
  const body: onnx.GraphProto.$Properties = {
    name: 'then',
    output: [vi('t_out', TP.FLOAT, [2])],
    node: [{ opType: 'Add', input: ['x', 'bias'], output: ['t_out'], name: 'inner_add' }],
    initializer: [{ name: 'bias', dataType: TP.FLOAT, dims: [2], floatData: [0.5, -0.5] }],
  };
  const elseG: onnx.GraphProto.$Properties = { name: 'else', output: [vi('e_out', TP.FLOAT, [2])], node: [{ opType: 'Identity', input: ['x'], output: ['e_out'] }] };
  return onnx.ModelProto.encode({
    irVersion: 10,
    producerName: 'writer-test',
    producerVersion: '2.0',
    domain: 'org.test',
    modelVersion: 7,
    docString: 'a model',
    opsetImport: [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }, { domain: 'local', version: 1 }],
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      name: 'main',
      docString: 'main graph',
      input: [vi('x', TP.FLOAT, ['N', 2], 'the input'), vi('c', TP.BOOL, []), { name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: TP.FLOAT } } } } }],
      output: [vi('y', TP.FLOAT, ['N', 2]), vi('z', TP.FLOAT, [2]), vi('g', TP.FLOAT, ['N', 2])],
      valueInfo: [{ name: 'h', type: { tensorType: { elemType: TP.FLOAT, shape: { dim: [{ dimParam: 'N', denotation: 'DATA_BATCH' }, { dimValue: 2 }] } }, denotation: 'TENSOR' } }],
      initializer: [
        { name: 'w', dataType: TP.FLOAT, dims: [2], rawData: f32(2, 3), docString: 'weights', metadataProps: [{ key: 'tk', value: 'tv' }] },
        { name: 'i64', dataType: TP.INT64, dims: [1], int64Data: ['9223372036854775807' as unknown as number] },
        { name: 'h16', dataType: TP.FLOAT16, dims: [2], int32Data: [0x3c00, 0x4000] },
        { name: 'q4', dataType: TP.INT4, dims: [3], rawData: Uint8Array.of(0x78, 0x03) },
        { name: 'f8', dataType: TP.FLOAT8E4M3FN, dims: [2], rawData: Uint8Array.of(0x38, 0x40) },
        { name: 'u2', dataType: TP.UINT2, dims: [4], rawData: Uint8Array.of(0x93) },
        { name: 'str', dataType: TP.STRING, dims: [2], stringData: [new TextEncoder().encode('a'), new TextEncoder().encode('b')] },
      ],
      sparseInitializer: [{
        dims: [2, 3],
        values: { name: 'sp', dataType: TP.FLOAT, dims: [1], floatData: [9] },
        indices: { name: 'sp_i', dataType: TP.INT64, dims: [1], int64Data: [4] },
      }],
      quantizationAnnotation: [{ tensorName: 'y', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 'w' }] }],
      metadataProps: [{ key: 'gk', value: 'gv' }],
      node: [
        { opType: 'Mul', input: ['x', 'w'], output: ['h'], docString: 'scale it', metadataProps: [{ key: 'nk', value: 'nv' }] },
        {
          opType: 'Slice', input: ['h', 'i64', 'i64', '', ''], output: ['y'], name: 'slice',
          attribute: [{ name: 'unused_big', type: AT.INT, i: '-9223372036854775808' as unknown as number, docString: 'attr doc' }, { name: 'ints', type: AT.INTS, ints: ['9007199254740993' as unknown as number, 1] }],
        },
        { opType: 'If', input: ['c'], output: ['z'], attribute: [{ name: 'then_branch', type: AT.GRAPH, g: body }, { name: 'else_branch', type: AT.GRAPH, g: elseG }] },
        { opType: 'Gelu', domain: 'com.microsoft', input: ['h'], output: ['g1'] },
        { opType: 'Twice', domain: 'local', overload: 'v2', input: ['g1'], output: ['g'], attribute: [{ name: 'alpha', type: AT.FLOAT, f: 0.1 }] },
      ],
    },
    functions: [{
      name: 'Twice', domain: 'local', overload: 'v2', input: ['X'], output: ['Y'], attribute: ['alpha'],
      attributeProto: [{ name: 'beta', type: AT.FLOAT, f: 1.5 }],
      opsetImport: [{ domain: '', version: 21 }], docString: 'fn doc', metadataProps: [{ key: 'fk', value: 'fv' }],
      valueInfo: [vi('A', TP.FLOAT, [])],
      node: [
        { opType: 'Constant', output: ['A'], attribute: [{ name: 'value_float', refAttrName: 'alpha', type: AT.FLOAT }] },
        { opType: 'Mul', input: ['X', 'A'], output: ['Y'] },
      ],
    }],
  }).finish();
}

test('read -> write keeps every field of a rich model', async () => {
  const original = richModel();
  const model = await readOnnx({ kind: 'bytes', bytes: original });
  const written = writeOnnx(model);
  assert.deepEqual(canon(written), canon(original));
  // And a second generation is byte-identical to the first.
  const again = writeOnnx(await readOnnx({ kind: 'bytes', bytes: written }));
  assert.equal(hex(again), hex(written));
});

test('int64 attributes beyond 2^53 are written exactly', async () => {
  const model = await readOnnx({ kind: 'bytes', bytes: richModel() });
  const decoded = onnx.ModelProto.decode(writeOnnx(model));
  const slice = decoded.graph!.node!.find((n) => n.name === 'slice')!;
  assert.equal(String(slice.attribute![0].i), '-9223372036854775808');
  assert.deepEqual(slice.attribute![1].ints!.map(String), ['9007199254740993', '1']);
});

test('IR 3 models keep initializers listed among the graph inputs, in order', async () => {
  const original = onnx.ModelProto.encode({
    irVersion: 3,
    opsetImport: [{ domain: '', version: 8 }],
    graph: {
      input: [vi('w', TP.FLOAT, [1]), vi('x', TP.FLOAT, [1])],
      output: [vi('y', TP.FLOAT, [1])],
      initializer: [{ name: 'w', dataType: TP.FLOAT, dims: [1], floatData: [2] }],
      node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
    },
  }).finish();
  const model = await readOnnx({ kind: 'bytes', bytes: original });
  assert.deepEqual(model.graphs[0].inputs, ['x']);
  const written = writeOnnx(model);
  assert.deepEqual(canon(written), canon(original));
  const s = await ort.InferenceSession.create(written, { logSeverityLevel: 4 });
  const r = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1), [1]) });
  assert.deepEqual(Array.from(r.y.data as Float32Array), [3]);
});

/** A model with one big weight, y = x + w, and the weight's values. */
function bigModel(n: number): { bytes: Uint8Array; w: Float32Array } {
  const w = new Float32Array(n).map((_, i) => (i % 1000) * 0.25);
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      input: [vi('x', TP.FLOAT, [n])],
      output: [vi('y', TP.FLOAT, [n])],
      initializer: [{ name: 'w', dataType: TP.FLOAT, dims: [n], rawData: new Uint8Array(w.buffer) }, { name: 'tiny', dataType: TP.FLOAT, dims: [1], rawData: f32(1) }],
      node: [{ opType: 'Add', input: ['x', 'w'], output: ['y0'] }, { opType: 'Mul', input: ['y0', 'tiny'], output: ['y'] }],
    },
  }).finish();
  return { bytes, w };
}

test('writeOnnxFile streams lazy weights from the source file, and can overwrite its source', async () => {
  const dir = tmpDir();
  try {
    const { bytes } = bigModel(300_000);
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, bytes);
    const model = await readOnnx({ kind: 'file', path: file });
    assert.equal(model.graphs[0].values.get('w')!.constant!.data.kind, 'file');
    const out = path.join(dir, 'copy.onnx');
    await writeOnnxFile(model, out);
    assert.deepEqual(canon(fs.readFileSync(out)), canon(bytes));
    // In place: the weights are read from the old file before the new one replaces it.
    await writeOnnxFile(model, file);
    assert.deepEqual(canon(fs.readFileSync(file)), canon(bytes));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['copy.onnx', 'm.onnx'], 'no temporary files left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('external data: on request and past the size threshold; onnxruntime runs the result', async () => {
  const dir = tmpDir();
  try {
    const n = 100_000;
    const { bytes, w } = bigModel(n);
    const model = await readOnnx({ kind: 'bytes', bytes });
    const x = new Float32Array(n).map((_, i) => i);
    const expected = Array.from(x, (v, i) => Math.fround(v + w[i]));

    const a = path.join(dir, 'always.onnx');
    await writeOnnxFile(model, a, { externalData: 'always' });
    assert.ok(fs.existsSync(`${a}.data`));
    assert.ok(fs.statSync(a).size < 1000, 'weights left the model file');
    const back = await readOnnx({ kind: 'file', path: a });
    const wc = back.graphs[0].values.get('w')!.constant!;
    assert.equal(wc.data.kind, 'file');
    if (wc.data.kind === 'file') {
      assert.equal(wc.data.path, fs.realpathSync(`${a}.data`));
      assert.equal(wc.data.offset % 4096, 0, 'big tensors are page aligned');
    }
    assert.equal(hex(constantBytes(wc)), hex(new Uint8Array(w.buffer)));
    assert.equal(back.graphs[0].values.get('tiny')!.constant!.data.kind, 'bytes', 'small tensors stay inline');
    const s = await ort.InferenceSession.create(a, { logSeverityLevel: 4 });
    const r = await s.run({ x: new ort.Tensor('float32', x, [n]) });
    assert.deepEqual(Array.from(r.y.data as Float32Array), expected);
    await s.release();

    const b = path.join(dir, 'auto.onnx');
    await writeOnnxFile(model, b, { sizeThreshold: 100_000, externalLocation: 'weights.bin' });
    assert.ok(fs.existsSync(path.join(dir, 'weights.bin')));
    const back2 = await readOnnx({ kind: 'file', path: b });
    assert.deepEqual(canon(writeOnnx(back2)), canon(bytes));

    const c = path.join(dir, 'inline.onnx');
    await writeOnnxFile(model, c, { sizeThreshold: 10_000_000 });
    assert.ok(!fs.existsSync(`${c}.data`));
    assert.deepEqual(canon(fs.readFileSync(c)), canon(bytes));

    assert.throws(() => writeOnnx(model, { sizeThreshold: 1000 }), (e) => e instanceof ModelError && e.code === 'too-large');
    await assert.rejects(writeOnnxFile(model, path.join(dir, 'never.onnx'), { sizeThreshold: 1000, externalData: 'never' }), (e) => e instanceof ModelError && e.code === 'too-large');
    await assert.rejects(writeOnnxFile(model, path.join(dir, 'bad.onnx'), { externalData: 'always', externalLocation: '../x.bin' }), (e) => e instanceof ModelError && e.code === 'unsafe-path');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write leaves the old file and no temporary file behind', async () => {
  const dir = tmpDir();
  try {
    const { bytes } = bigModel(10_000);
    const src = path.join(dir, 'src.onnx');
    fs.writeFileSync(src, bytes);
    const model = await readOnnx({ kind: 'file', path: src });
    const out = path.join(dir, 'out.onnx');
    fs.writeFileSync(out, 'old');
    fs.rmSync(src); // the lazy weights are gone
    await assert.rejects(writeOnnxFile(model, out), (e) => e instanceof ModelError && e.code === 'io');
    assert.equal(fs.readFileSync(out, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['out.onnx']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the shared models survive read -> write field for field', async () => {
  const root = path.join(SHARED_MODELS, 'onnx');
  const files = ['mnist/mnist-12.onnx', 'mnist/mnist-12-int8.onnx', 'mnist/mnist-12-float16.onnx', 'hwacc_design_garage/mobilenetv2-12-int8.onnx', 'onnx-light/light_inception_v1.onnx'];
  for (const f of files) {
    const file = path.join(root, f);
    const bytes = fs.readFileSync(file);
    const model = await readOnnx({ kind: 'file', path: file });
    assert.deepEqual(canon(writeOnnx(model)), canon(bytes), f);
  }
});

test('edited weights are written: constants with new bytes replace the lazy ones', async () => {
  const { bytes } = bigModel(1000);
  const model = await readOnnx({ kind: 'bytes', bytes });
  const w = model.graphs[0].values.get('w')!.constant!;
  w.data = { kind: 'bytes', bytes: new Uint8Array(new Float32Array(1000).fill(1).buffer) };
  const back = await readOnnx({ kind: 'bytes', bytes: writeOnnx(model) });
  assert.deepEqual(new Set(constantNumbers(back.graphs[0].values.get('w')!.constant!)), new Set([1]));
});
