/**
 * ONNX reader details on small models built here with the generated encoder: subgraphs, functions,
 * every dtype (hand-worked values), symbolic dims, sparse initializers, lazy file references,
 * external data and its unsafe-path refusals, quantization parameters, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from '../../src/core/generated/onnx/onnx';
import { onnxFormat } from '../../src/core/formats/onnx';
import { readOnnx } from '../../src/core/formats/onnx/reader';
import { constantBytes, constantNumbers } from '../../src/core/formats/onnx/data';
import { ModelError } from '../../src/core/errors';
import { allGraphs, type Constant, type Model } from '../../src/core/model';
import { summarize } from '../../src/core/summary';
import { detectFormat, openModelBytes, openModelFile } from '../../src/core/open';
import { SHARED_MODELS } from '../helpers/paths';

type G = onnx.GraphProto.$Properties;
type T = onnx.TensorProto.$Properties;

const TP = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

function modelBytes(graph: G, extra: onnx.ModelProto.$Properties = {}): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 10,
    opsetImport: [{ domain: '', version: 21 }],
    producerName: 'unit',
    producerVersion: '1.0',
    graph,
    ...extra,
  }).finish();
}

function vi(name: string, elemType: number, dims: (number | string | null)[] | null): onnx.ValueInfoProto.$Properties {
  const tensorType: onnx.TypeProto.Tensor.$Properties = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) };
  return { name, type: { tensorType } };
}

function f32(...v: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(v).buffer);
}

async function open(bytes: Uint8Array, options = {}): Promise<Model> {
  return readOnnx({ kind: 'bytes', bytes }, options);
}

async function rejects(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<ModelError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ModelError, `expected a ModelError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail('expected a rejection');
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ql-onnx-'));
}

// --- basics ---------------------------------------------------------------------------------------

test('reads a small graph: values, producers, consumers, types, synthesised names', async () => {
  const bytes = modelBytes({
    name: 'g',
    docString: 'graph doc',
    input: [vi('x', TP.FLOAT, ['batch', 3, null])],
    output: [vi('z', TP.FLOAT, ['batch', 3, null])],
    valueInfo: [vi('y', TP.FLOAT, ['batch', 3, 7])],
    initializer: [{ name: 'w', dataType: TP.FLOAT, dims: [3, 1], rawData: f32(1, 2, 3) }],
    node: [
      { opType: 'Mul', input: ['x', 'w'], output: ['y'], docString: 'mul doc' },
      { opType: 'Relu', input: ['y'], output: ['z'], name: 'relu1' },
    ],
  }, { docString: 'model doc', metadataProps: [{ key: 'author', value: 'me' }] });
  const m = await open(bytes);
  const g = m.graphs[0];
  assert.equal(m.format, 'onnx');
  assert.equal(m.producer, 'unit 1.0');
  assert.equal(m.formatVersion, 10);
  assert.equal(m.description, 'model doc');
  assert.deepEqual(m.metadata, { author: 'me' });
  assert.deepEqual(m.opsets, [{ domain: '', version: 21 }]);
  assert.equal(g.name, 'g');
  assert.equal(g.doc, 'graph doc');
  assert.deepEqual(g.inputs, ['x']);
  assert.deepEqual(g.outputs, ['z']);
  assert.deepEqual(g.initializers, ['w']);
  assert.equal(g.nodes[0].name, 'Mul_0');
  assert.equal(g.nodes[0].nameSynthesised, true);
  assert.equal(g.nodes[0].doc, 'mul doc');
  assert.equal(g.nodes[1].name, 'relu1');
  assert.equal(g.nodes[1].nameSynthesised, undefined);
  assert.deepEqual(g.values.get('x')?.type, { dtype: 'float32', shape: ['batch', 3, null] });
  assert.deepEqual(g.values.get('y')?.type, { dtype: 'float32', shape: ['batch', 3, 7] });
  assert.deepEqual(g.values.get('w')?.type, { dtype: 'float32', shape: [3, 1] });
  assert.equal(g.values.get('y')?.producer, 0);
  assert.deepEqual(g.values.get('y')?.consumers, [1]);
  assert.deepEqual(g.values.get('x')?.consumers, [0]);
  assert.deepEqual(constantNumbers(g.values.get('w')!.constant!), [1, 2, 3]);
});

test('unknown rank and a value_info without a type stay unknown', async () => {
  const m = await open(modelBytes({
    input: [vi('x', TP.FLOAT, null)],
    output: [{ name: 'y' }],
    node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
  }));
  assert.deepEqual(m.graphs[0].values.get('x')?.type, { dtype: 'float32', shape: null });
  assert.equal(m.graphs[0].values.get('y')?.type, null);
});

// --- every dtype ---------------------------------------------------------------------------------

interface DtypeCase { code: number; dtype: string; dims: number[]; tensor: T; expect: (number | string)[] }

const DTYPE_CASES: DtypeCase[] = [
  { code: TP.FLOAT, dtype: 'float32', dims: [2], tensor: { rawData: f32(1.5, -2) }, expect: [1.5, -2] },
  { code: TP.FLOAT, dtype: 'float32', dims: [2], tensor: { floatData: [0.25, 8] }, expect: [0.25, 8] },
  { code: TP.DOUBLE, dtype: 'float64', dims: [2], tensor: { doubleData: [0.1, -1e300] }, expect: [0.1, -1e300] },
  { code: TP.FLOAT16, dtype: 'float16', dims: [3], tensor: { int32Data: [0x3c00, 0xc000, 0x3555] }, expect: [1, -2, 0.333251953125] },
  { code: TP.FLOAT16, dtype: 'float16', dims: [2], tensor: { rawData: Uint8Array.of(0x00, 0x3c, 0x00, 0x7c) }, expect: [1, Infinity] },
  { code: TP.BFLOAT16, dtype: 'bfloat16', dims: [2], tensor: { int32Data: [0x3f80, 0xc040] }, expect: [1, -3] },
  { code: TP.INT8, dtype: 'int8', dims: [3], tensor: { int32Data: [-1, 5, -128] }, expect: [-1, 5, -128] },
  { code: TP.UINT8, dtype: 'uint8', dims: [2], tensor: { rawData: Uint8Array.of(0, 255) }, expect: [0, 255] },
  { code: TP.INT16, dtype: 'int16', dims: [2], tensor: { int32Data: [-300, 32767] }, expect: [-300, 32767] },
  { code: TP.UINT16, dtype: 'uint16', dims: [2], tensor: { int32Data: [65535, 1] }, expect: [65535, 1] },
  { code: TP.INT32, dtype: 'int32', dims: [2], tensor: { int32Data: [-2147483648, 7] }, expect: [-2147483648, 7] },
  { code: TP.UINT32, dtype: 'uint32', dims: [2], tensor: { uint64Data: [4294967295, 3] }, expect: [4294967295, 3] },
  { code: TP.INT64, dtype: 'int64', dims: [2], tensor: { int64Data: [-5, 1234567] }, expect: [-5, 1234567] },
  { code: TP.UINT64, dtype: 'uint64', dims: [1], tensor: { uint64Data: [42] }, expect: [42] },
  { code: TP.BOOL, dtype: 'bool', dims: [3], tensor: { int32Data: [1, 0, 1] }, expect: [1, 0, 1] },
  { code: TP.STRING, dtype: 'string', dims: [2], tensor: { stringData: [new TextEncoder().encode('a'), new TextEncoder().encode('héllo')] }, expect: ['a', 'héllo'] },
  { code: TP.COMPLEX64, dtype: 'complex64', dims: [2], tensor: { floatData: [1, 2, 3, 4] }, expect: [1, 2, 3, 4] },
  { code: TP.COMPLEX128, dtype: 'complex128', dims: [1], tensor: { doubleData: [5, 6] }, expect: [5, 6] },
  // float8: 0x38 = 2^0 in e4m3fn (bias 7); 0x7f is its NaN; 0xb0 = -0.5.
  { code: TP.FLOAT8E4M3FN, dtype: 'float8e4m3fn', dims: [3], tensor: { rawData: Uint8Array.of(0x38, 0x7f, 0xb0) }, expect: [1, NaN, -0.5] },
  // e4m3fnuz: bias 8, 0x80 (negative zero) is NaN.
  { code: TP.FLOAT8E4M3FNUZ, dtype: 'float8e4m3fnuz', dims: [2], tensor: { int32Data: [0x40, 0x80] }, expect: [1, NaN] },
  // e5m2: bias 15, 0x7c = +inf, 0x3e = 1.5.
  { code: TP.FLOAT8E5M2, dtype: 'float8e5m2', dims: [3], tensor: { rawData: Uint8Array.of(0x3c, 0x7c, 0x3e) }, expect: [1, Infinity, 1.5] },
  { code: TP.FLOAT8E5M2FNUZ, dtype: 'float8e5m2fnuz', dims: [1], tensor: { rawData: Uint8Array.of(0x40) }, expect: [1] },
  // e8m0: 2^(b-127).
  { code: TP.FLOAT8E8M0, dtype: 'float8e8m0', dims: [2], tensor: { rawData: Uint8Array.of(127, 130) }, expect: [1, 8] },
  // int4 [-8, 7, 3]: first element in the low nibble -> 0x78, then 0x03.
  { code: TP.INT4, dtype: 'int4', dims: [3], tensor: { rawData: Uint8Array.of(0x78, 0x03) }, expect: [-8, 7, 3] },
  { code: TP.UINT4, dtype: 'uint4', dims: [2], tensor: { int32Data: [0x1f] }, expect: [15, 1] },
  // float4e2m1: 0b0010 = 1.0, 0b1111 = -6.
  { code: TP.FLOAT4E2M1, dtype: 'float4e2m1', dims: [2], tensor: { rawData: Uint8Array.of(0xf2) }, expect: [1, -6] },
  // int2 [-2, 1, -1, 0] = codes 2,1,3,0 packed from the LSB -> 0x36.
  { code: TP.INT2, dtype: 'int2', dims: [4], tensor: { rawData: Uint8Array.of(0x36) }, expect: [-2, 1, -1, 0] },
  { code: TP.UINT2, dtype: 'uint2', dims: [5], tensor: { int32Data: [0x93, 0x02] }, expect: [3, 0, 1, 2, 2] },
];

test('every ONNX dtype decodes to hand-worked values (raw_data and typed fields)', async () => {
  const initializer = DTYPE_CASES.map((c, i) => ({ name: `t${i}`, dataType: c.code, dims: c.dims, ...c.tensor }));
  const m = await open(modelBytes({ initializer, output: [vi('t0', TP.FLOAT, [2])] }));
  const g = m.graphs[0];
  DTYPE_CASES.forEach((c, i) => {
    const k = g.values.get(`t${i}`)!.constant!;
    assert.equal(k.dtype, c.dtype, `t${i}`);
    assert.deepEqual(k.shape, c.dims);
    if (c.dtype === 'string') {
      assert.deepEqual(k.data, { kind: 'strings', values: c.expect });
      return;
    }
    assert.deepEqual(constantNumbers(k), c.expect, `${c.dtype} ${JSON.stringify(c.tensor)}`);
  });
});

test('int64 and uint64 data beyond 2^53 stay exact in the raw bytes', async () => {
  const big = 2n ** 60n + 1n;
  const m = await open(modelBytes({
    initializer: [
      { name: 'a', dataType: TP.INT64, dims: [2], int64Data: [big.toString() as unknown as number, -1] },
      { name: 'b', dataType: TP.UINT64, dims: [1], uint64Data: ['18446744073709551615' as unknown as number] },
    ],
  }));
  const a = constantBytes(m.graphs[0].values.get('a')!.constant!);
  assert.deepEqual(Array.from(new BigInt64Array(new Uint8Array(a).buffer)), [big, -1n]);
  const b = constantBytes(m.graphs[0].values.get('b')!.constant!);
  assert.deepEqual(Array.from(new BigUint64Array(new Uint8Array(b).buffer)), [2n ** 64n - 1n]);
});

test('a tensor whose data does not fit its shape is refused as corrupt', async () => {
  await rejects(open(modelBytes({ initializer: [{ name: 'w', dataType: TP.FLOAT, dims: [4], rawData: f32(1, 2, 3) }] })), 'corrupt', /'w'.*12 bytes.*needs 16/);
  await rejects(open(modelBytes({ initializer: [{ name: 'w', dataType: TP.INT8, dims: [1], floatData: [1] }] })), 'corrupt', /float_data/);
});

// --- attributes, subgraphs, functions ---------------------------------------------------------------

test('attributes keep their types; int64 beyond 2^53 becomes a bigint', async () => {
  const m = await open(modelBytes({
    node: [{
      opType: 'Slice', input: ['x'], output: ['y'],
      attribute: [
        { name: 'i', type: AT.INT, i: '9223372036854775807' as unknown as number },
        { name: 'small', type: AT.INT, i: -3 },
        { name: 'ints', type: AT.INTS, ints: [1, '-9223372036854775808' as unknown as number] },
        { name: 'f', type: AT.FLOAT, f: 0.1 },
        { name: 'floats', type: AT.FLOATS, floats: [1.5] },
        { name: 's', type: AT.STRING, s: new TextEncoder().encode('NOTSET') },
        { name: 'strs', type: AT.STRINGS, strings: [new TextEncoder().encode('a')] },
        { name: 'empty', type: AT.INTS },
        { name: 't', type: AT.TENSOR, t: { dataType: TP.FLOAT, dims: [1], floatData: [3] } },
        { name: 'tp', type: AT.TYPE_PROTO, tp: { tensorType: { elemType: TP.INT8, shape: { dim: [{ dimValue: 2 }] } } } },
        { name: 'noType', f: 2.5 },
      ],
    }],
  }));
  const attrs = Object.fromEntries(m.graphs[0].nodes[0].attributes.map((a) => [a.name, a.value]));
  assert.deepEqual(attrs.i, { type: 'int', value: 9223372036854775807n });
  assert.deepEqual(attrs.small, { type: 'int', value: -3 });
  assert.deepEqual(attrs.ints, { type: 'ints', value: [1, -9223372036854775808n] });
  assert.equal(attrs.f.type, 'float');
  assert.equal(attrs.f.value, Math.fround(0.1));
  assert.deepEqual(attrs.floats, { type: 'floats', value: [1.5] });
  assert.deepEqual(attrs.s, { type: 'string', value: 'NOTSET' });
  assert.deepEqual(attrs.strs, { type: 'strings', value: ['a'] });
  assert.deepEqual(attrs.empty, { type: 'ints', value: [] });
  assert.equal(attrs.t.type, 'tensor');
  assert.deepEqual(constantNumbers((attrs.t as { value: Constant }).value), [3]);
  assert.deepEqual(attrs.tp, { type: 'type', value: { dtype: 'int8', shape: [2] } });
  assert.deepEqual(attrs.noType, { type: 'float', value: 2.5 }, 'IR 1 attributes without a type are inferred');
});

test('If/Loop bodies are Node.subgraphs and graph attributes, with outer-scope references', async () => {
  const body: G = {
    name: 'body',
    input: [vi('i', TP.INT64, []), vi('cond_in', TP.BOOL, []), vi('acc_in', TP.FLOAT, [1])],
    output: [vi('cond_out', TP.BOOL, []), vi('acc_out', TP.FLOAT, [1])],
    node: [
      { opType: 'Identity', input: ['cond_in'], output: ['cond_out'] },
      { opType: 'Add', input: ['acc_in', 'outer'], output: ['acc_out'] },
    ],
  };
  const thenG: G = { name: 'then', output: [vi('a', TP.FLOAT, [1])], node: [{ opType: 'Identity', input: ['outer'], output: ['a'] }] };
  const elseG: G = { name: 'else', output: [vi('b', TP.FLOAT, [1])], node: [{ opType: 'Neg', input: ['outer'], output: ['b'] }] };
  const m = await open(modelBytes({
    input: [vi('n', TP.INT64, []), vi('c', TP.BOOL, []), vi('outer', TP.FLOAT, [1])],
    output: [vi('r', TP.FLOAT, [1]), vi('s', TP.FLOAT, [1])],
    node: [
      { opType: 'Loop', input: ['n', 'c', 'outer'], output: ['r'], attribute: [{ name: 'body', type: AT.GRAPH, g: body }] },
      { opType: 'If', input: ['c'], output: ['s'], attribute: [{ name: 'then_branch', type: AT.GRAPH, g: thenG }, { name: 'else_branch', type: AT.GRAPH, g: elseG }] },
    ],
  }));
  const [loop, iff] = m.graphs[0].nodes;
  assert.equal(loop.subgraphs.length, 1);
  assert.equal(loop.subgraphs[0], (loop.attributes[0].value as { value: unknown }).value, 'same object in both places');
  assert.equal(loop.subgraphs[0].name, 'body');
  assert.deepEqual(loop.subgraphs[0].inputs, ['i', 'cond_in', 'acc_in']);
  assert.equal(loop.subgraphs[0].values.get('outer')?.producer, undefined);
  assert.deepEqual(loop.subgraphs[0].values.get('outer')?.consumers, [1]);
  assert.deepEqual(iff.subgraphs.map((s) => s.name), ['then', 'else']);
  assert.equal([...allGraphs(m)].length, 4);
  assert.equal(summarize(m).nodeCount, 6);
  assert.equal(summarize(m).subgraphCount, 3);
});

test('model-local functions keep inputs, attributes, defaults, opsets and bodies', async () => {
  const m = await open(modelBytes({
    input: [vi('x', TP.FLOAT, [2])],
    output: [vi('y', TP.FLOAT, [2])],
    node: [{ opType: 'Scale', domain: 'custom', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', type: AT.FLOAT, f: 2 }] }],
  }, {
    opsetImport: [{ domain: '', version: 21 }, { domain: 'custom', version: 1 }],
    functions: [{
      name: 'Scale', domain: 'custom', input: ['X'], output: ['Y'], attribute: ['alpha'],
      attributeProto: [{ name: 'beta', type: AT.FLOAT, f: 0.5 }],
      opsetImport: [{ domain: '', version: 21 }], docString: 'scales',
      node: [
        { opType: 'Constant', output: ['A'], attribute: [{ name: 'value_float', refAttrName: 'alpha', type: AT.FLOAT }] },
        { opType: 'Mul', input: ['X', 'A'], output: ['Y'] },
      ],
    }],
  }));
  assert.equal(m.functions.length, 1);
  const f = m.functions[0];
  assert.equal(f.name, 'Scale');
  assert.equal(f.domain, 'custom');
  assert.deepEqual(f.inputs, ['X']);
  assert.deepEqual(f.outputs, ['Y']);
  assert.deepEqual(f.attributeNames, ['alpha']);
  assert.deepEqual(f.opsets, [{ domain: '', version: 21 }]);
  assert.equal(f.doc, 'scales');
  assert.equal(f.graph.nodes.length, 2);
  const ref = f.graph.nodes[0].attributes[0];
  assert.equal(ref.refAttrName, 'alpha');
  assert.deepEqual(ref.value, { type: 'object', value: { onnxAttributeType: 'FLOAT', reference: true } });
  assert.equal((f.formatExtras?.attributeDefaults as { name: string }[])[0].name, 'beta');
  assert.equal(summarize(m).nodeCount, 3);
});

test('sequence/optional types are kept for the writer, sparse initializers become sparse constants', async () => {
  const m = await open(modelBytes({
    input: [{ name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: TP.FLOAT } } } } }],
    output: [{ name: 'opt', type: { optionalType: { elemType: { tensorType: { elemType: TP.INT64 } } } } }],
    node: [{ opType: 'Optional', input: ['seq'], output: ['opt'] }],
    sparseInitializer: [{
      dims: [3, 4],
      values: { name: 'sp', dataType: TP.FLOAT, dims: [2], floatData: [5, 6] },
      indices: { name: 'sp_idx', dataType: TP.INT64, dims: [2], int64Data: [1, 10] },
    }],
  }));
  const g = m.graphs[0];
  assert.equal(g.values.get('seq')?.type, null);
  assert.deepEqual(g.values.get('seq')?.formatExtras?.onnxType, { sequenceType: { elemType: { tensorType: { elemType: 1, shape: undefined } } } });
  const sp = g.values.get('sp')!.constant!;
  assert.deepEqual(g.initializers, ['sp']);
  assert.equal(sp.dtype, 'float32');
  assert.deepEqual(sp.shape, [3, 4]);
  assert.equal(sp.data.kind, 'sparse');
  if (sp.data.kind === 'sparse') {
    assert.deepEqual(constantNumbers(sp.data.values), [5, 6]);
    assert.deepEqual(constantNumbers(sp.data.indices), [1, 10]);
  }
});

// --- lazy weights --------------------------------------------------------------------------------

test('big initializers stay in the file: references with the right offset and length', async () => {
  const dir = tmpDir();
  try {
    const n = 1 << 20;
    const data = new Float32Array(n).map((_, i) => i * 0.5);
    const raw = new Uint8Array(data.buffer);
    const bytes = modelBytes({
      initializer: [{ name: 'big', dataType: TP.FLOAT, dims: [n], rawData: raw }, { name: 'small', dataType: TP.FLOAT, dims: [1], rawData: f32(7) }],
      input: [vi('x', TP.FLOAT, [n])],
      output: [vi('y', TP.FLOAT, [n])],
      node: [{ opType: 'Add', input: ['x', 'big'], output: ['y'] }],
    });
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, bytes);
    const m = await readOnnx({ kind: 'file', path: file });
    const big = m.graphs[0].values.get('big')!.constant!;
    assert.equal(big.data.kind, 'file');
    if (big.data.kind === 'file') {
      assert.equal(big.data.path, file);
      assert.equal(big.data.length, raw.length);
      assert.deepEqual(Buffer.from(bytes.subarray(big.data.offset, big.data.offset + big.data.length)).equals(Buffer.from(raw)), true);
    }
    assert.deepEqual(Buffer.from(constantBytes(big)).equals(Buffer.from(raw)), true);
    assert.equal(m.graphs[0].values.get('small')!.constant!.data.kind, 'bytes');

    // In memory: views of the caller's buffer, not copies.
    const mm = await readOnnx({ kind: 'bytes', bytes });
    const bigMem = mm.graphs[0].values.get('big')!.constant!;
    assert.equal(bigMem.data.kind, 'bytes');
    if (bigMem.data.kind === 'bytes') assert.equal(bigMem.data.bytes.buffer, bytes.buffer);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a Constant node with a big value is walked, not decoded, and stays lazy', async () => {
  const dir = tmpDir();
  try {
    const raw = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const bytes = modelBytes({
      output: [vi('c', TP.UINT8, [raw.length])],
      node: [{ opType: 'Constant', output: ['c'], attribute: [{ name: 'value', type: AT.TENSOR, t: { dataType: TP.UINT8, dims: [raw.length], rawData: raw } }] }],
    });
    const file = path.join(dir, 'c.onnx');
    fs.writeFileSync(file, bytes);
    const m = await readOnnx({ kind: 'file', path: file });
    const v = m.graphs[0].nodes[0].attributes[0].value;
    assert.equal(v.type, 'tensor');
    if (v.type === 'tensor') {
      assert.equal(v.value.data.kind, 'file');
      assert.ok(Buffer.from(constantBytes(v.value)).equals(Buffer.from(raw)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- external data ---------------------------------------------------------------------------------

function externalModel(location: string, offset: number, length: number): Uint8Array {
  return modelBytes({
    initializer: [{
      name: 'w', dataType: TP.FLOAT, dims: [length / 4], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(length) }],
    }],
    output: [vi('w', TP.FLOAT, [length / 4])],
  });
}

test('external data resolves beside the model and reads the right bytes', async () => {
  const dir = tmpDir();
  try {
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'w.bin'), Buffer.concat([Buffer.alloc(8), Buffer.from(f32(1, 2, 3))]));
    fs.writeFileSync(path.join(dir, 'm.onnx'), externalModel('sub/w.bin', 8, 12));
    const m = await readOnnx({ kind: 'file', path: path.join(dir, 'm.onnx') });
    const w = m.graphs[0].values.get('w')!.constant!;
    assert.equal(w.data.kind, 'file');
    assert.deepEqual(constantNumbers(w), [1, 2, 3]);
    // From memory, with baseDir.
    const mm = await readOnnx({ kind: 'bytes', bytes: externalModel('sub/w.bin', 8, 12) }, { baseDir: dir });
    assert.deepEqual(constantNumbers(mm.graphs[0].values.get('w')!.constant!), [1, 2, 3]);
    await rejects(readOnnx({ kind: 'bytes', bytes: externalModel('sub/w.bin', 8, 12) }), 'unsupported', /baseDir/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('external data that escapes the model folder is refused (.., absolute, symlink)', async () => {
  const root = tmpDir();
  try {
    const dir = path.join(root, 'model');
    fs.mkdirSync(dir);
    const outside = path.join(root, 'secret.bin');
    fs.writeFileSync(outside, Buffer.alloc(16));
    fs.symlinkSync(outside, path.join(dir, 'link.bin'));
    fs.mkdirSync(path.join(dir, 'sub'));
    const cases: [string, RegExp][] = [
      ['../secret.bin', /'\.\.'/],
      ['sub/../../secret.bin', /'\.\.'/],
      [outside, /absolute/],
      ['C:\\secret.bin', /absolute/],
      ['link.bin', /symbolic link/],
    ];
    for (const [loc, why] of cases) {
      fs.writeFileSync(path.join(dir, 'm.onnx'), externalModel(loc, 0, 16));
      await rejects(readOnnx({ kind: 'file', path: path.join(dir, 'm.onnx') }), 'unsafe-path', why);
    }
    // A symlink that stays inside is fine.
    fs.writeFileSync(path.join(dir, 'sub', 'real.bin'), Buffer.from(f32(4, 5, 6, 7)));
    fs.symlinkSync(path.join(dir, 'sub', 'real.bin'), path.join(dir, 'inside.bin'));
    fs.writeFileSync(path.join(dir, 'm.onnx'), externalModel('inside.bin', 0, 16));
    const m = await readOnnx({ kind: 'file', path: path.join(dir, 'm.onnx') });
    assert.deepEqual(constantNumbers(m.graphs[0].values.get('w')!.constant!), [4, 5, 6, 7]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('external data offsets and lengths are checked against the file', async () => {
  const dir = tmpDir();
  try {
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(16));
    fs.writeFileSync(path.join(dir, 'm.onnx'), externalModel('w.bin', 8, 16));
    await rejects(readOnnx({ kind: 'file', path: path.join(dir, 'm.onnx') }), 'corrupt', /only 16 bytes/);
    fs.writeFileSync(path.join(dir, 'm.onnx'), externalModel('missing.bin', 0, 16));
    await rejects(readOnnx({ kind: 'file', path: path.join(dir, 'm.onnx') }), 'io', /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// --- quantization parameters ------------------------------------------------------------------------

test('QDQ, QOperator and dynamic quantization parameters are attached to the quantized values', async () => {
  const m = await open(modelBytes({
    input: [vi('x', TP.FLOAT, [1, 2, 4, 4])],
    output: [vi('y', TP.FLOAT, [1, 2, 4, 4]), vi('q2', TP.UINT8, [1, 2, 4, 4]), vi('d', TP.UINT8, [4])],
    initializer: [
      { name: 'x_scale', dataType: TP.FLOAT, dims: [], rawData: f32(0.5) },
      { name: 'x_zp', dataType: TP.INT8, dims: [], int32Data: [-3] },
      { name: 'w_q', dataType: TP.INT8, dims: [2, 2, 1, 1], int32Data: [1, 2, 3, 4] },
      { name: 'w_scale', dataType: TP.FLOAT, dims: [2], floatData: [0.1, 0.2] },
      { name: 'w_zp', dataType: TP.INT8, dims: [2], int32Data: [0, 0] },
      { name: 'a_scale', dataType: TP.FLOAT, dims: [], floatData: [0.25] },
      { name: 'a_zp', dataType: TP.UINT8, dims: [], int32Data: [128] },
      { name: 'dx', dataType: TP.FLOAT, dims: [4], floatData: [1, 2, 3, 4] },
    ],
    node: [
      { opType: 'QuantizeLinear', input: ['x', 'x_scale', 'x_zp'], output: ['xq'] },
      { opType: 'DequantizeLinear', input: ['w_q', 'w_scale', 'w_zp'], output: ['w'], attribute: [{ name: 'axis', type: AT.INT, i: 0 }] },
      { opType: 'DequantizeLinear', input: ['xq', 'x_scale', 'x_zp'], output: ['xd'] },
      { opType: 'Conv', input: ['xd', 'w'], output: ['y'] },
      { opType: 'QLinearConv', input: ['xq', 'x_scale', 'x_zp', 'w_q', 'w_scale', 'w_zp', 'a_scale', 'a_zp'], output: ['q2'] },
      { opType: 'DynamicQuantizeLinear', input: ['dx'], output: ['d', 'd_scale', 'd_zp'] },
    ],
  }));
  const g = m.graphs[0];
  assert.deepEqual(g.values.get('xq')?.quant, { scale: [0.5], zeroPoint: [-3], origin: 'qdq', quantizedType: 'int8' });
  assert.deepEqual(g.values.get('w_q')?.quant, { scale: [Math.fround(0.1), Math.fround(0.2)], zeroPoint: [0, 0], origin: 'qdq', quantizedType: 'int8', axis: 0 });
  assert.deepEqual(g.values.get('q2')?.quant, { scale: [0.25], zeroPoint: [128], origin: 'qoperator', quantizedType: 'uint8' });
  assert.deepEqual(g.values.get('d')?.quant, { scale: [], zeroPoint: [], origin: 'dynamic', quantizedType: 'uint8' });
  assert.equal(g.values.get('x')?.quant, undefined);
  const s = summarize(m);
  assert.equal(s.quantization.quantizedTensorCount, 4);
});

test('the quantized shared models carry quantization parameters', async () => {
  const file = path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12-int8.onnx');
  assert.ok(fs.existsSync(file), `missing ${file}`);
  const m = await readOnnx({ kind: 'file', path: file });
  const s = summarize(m);
  assert.ok(s.quantization.quantizedTensorCount > 0);
  for (const v of m.graphs[0].values.values()) {
    if (!v.quant || v.quant.origin === 'dynamic') continue;
    assert.ok(v.quant.scale.length > 0 && v.quant.scale.every((x) => x > 0 && Number.isFinite(x)), v.name);
  }
});

// --- format detection and bad input ------------------------------------------------------------

test('match() accepts a ModelProto head and refuses other formats', () => {
  const onnxHead = modelBytes({ node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] }).subarray(0, 16);
  assert.equal(onnxFormat.match(onnxHead), true);
  const mnist = fs.readFileSync(path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12.onnx')).subarray(0, 64);
  assert.equal(onnxFormat.match(mnist), true);
  const tflite = Uint8Array.of(0x1c, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33, 0x14, 0, 0x20, 0, 0x1c, 0, 0x18, 0);
  assert.equal(onnxFormat.match(tflite), false);
  assert.equal(onnxFormat.match(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46)), false);
  assert.equal(onnxFormat.match(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), false);
  assert.equal(onnxFormat.match(new TextEncoder().encode('{"hello": "json"}')), false);
  assert.equal(onnxFormat.match(new Uint8Array(0)), false);
});

test('bad input gives ModelErrors that name the problem', async () => {
  const good = modelBytes({
    input: [vi('x', TP.FLOAT, [1])],
    output: [vi('y', TP.FLOAT, [1])],
    node: Array.from({ length: 10 }, (_, i) => ({ opType: 'Relu', input: [i ? `v${i}` : 'x'], output: [i === 9 ? 'y' : `v${i + 1}`], name: `n${i}` })),
  });
  await rejects(open(new Uint8Array(0)), 'empty');
  const e = await rejects(open(good.subarray(0, good.length - 7)), 'truncated');
  assert.match(e.message, /at byte \d+ inside graph\.(node|output)/);
  await rejects(open(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4)), 'not-a-model', /ff d8 ff e0/);
  // An absurd length prefix (2^40) for the graph field.
  await rejects(open(Uint8Array.of(0x08, 0x07, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20)), 'truncated', /inside graph: it needs 1099511627776 bytes/);
  // A node count limit.
  await rejects(open(good, { limits: { maxNodes: 5 } }), 'too-large', /more than 5 nodes/);
});

/** A graph nesting If nodes `depth` deep, encoded by hand (the generated encoder stops at 100 message levels). */
function nestedIfGraph(depth: number): Uint8Array {
  const enc = new TextEncoder();
  const field = (num: number, payload: Uint8Array): Uint8Array => {
    const head: number[] = [num * 8 + 2];
    let n = payload.length;
    while (n >= 128) { head.push((n & 0x7f) | 0x80); n >>>= 7; }
    head.push(n);
    return Buffer.concat([Uint8Array.from(head), payload]);
  };
  let g: Uint8Array = field(1, Buffer.concat([field(1, enc.encode('c')), field(2, enc.encode('y0')), field(4, enc.encode('Identity'))]));
  for (let i = 1; i <= depth; i++) {
    const attr = Buffer.concat([field(1, enc.encode('then_branch')), Uint8Array.of(0xa0, 0x01, 5), field(6, g)]);
    g = field(1, Buffer.concat([field(1, enc.encode('c')), field(2, enc.encode(`y${i}`)), field(4, enc.encode('If')), field(5, attr)]));
  }
  return Buffer.concat([Uint8Array.of(0x08, 0x0a), field(7, g), field(8, Buffer.concat([field(1, new Uint8Array(0)), Uint8Array.of(0x10, 21)]))]);
}

test('nesting is limited by maxDepth, past protobufjs recursion limit', async () => {
  const ok = await open(nestedIfGraph(50));
  assert.equal([...allGraphs(ok)].length, 51);
  await rejects(open(nestedIfGraph(70)), 'too-large', /deeper than 64/);
  await rejects(open(nestedIfGraph(20), { limits: { maxDepth: 10 } }), 'too-large', /deeper than 10/);
});

test('mnist-12 through openModelFile: input Input3 float32 [1,1,28,28], 12 nodes', async () => {
  const m = await openModelFile(path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12.onnx'));
  assert.equal(m.format, 'onnx');
  const s = summarize(m);
  assert.deepEqual(s.inputs, [{ name: 'Input3', dtype: 'float32', shape: [1, 1, 28, 28] }]);
  assert.equal(s.nodeCount, 12);
  // The registry picks ONNX by signature even without the extension, and from memory.
  const bytes = fs.readFileSync(path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12.onnx'));
  assert.equal(detectFormat(bytes.subarray(0, 64), 'model.bin').format, 'onnx');
  assert.equal(summarize(await openModelBytes(bytes)).nodeCount, 12);
});

test('a JPEG renamed .onnx is refused with not-a-model through openModelFile', async () => {
  const dir = tmpDir();
  try {
    const jpeg = path.join(SHARED_MODELS, 'data', 'images', 'ort-examples', 'cat.jpg');
    const fake = path.join(dir, 'cat.onnx');
    fs.copyFileSync(jpeg, fake);
    await rejects(openModelFile(fake), 'not-a-model', /not an ONNX model/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
