/**
 * TFLite reader details, on a fixture built by flatc (independent encoder) from hand-written JSON:
 * every expectation below comes from that JSON, not from our reader.
 */
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tfliteFormat, readTflite, writeTflite } from '../../src/core/formats/tflite';
import { readTensorDataBytes } from '../../src/core/formats/tflite/reader';
import { getTfliteExtras } from '../../src/core/formats/tflite/extras';
import { openModelBytes, openModelFile } from '../../src/core/open';
import { ModelError } from '../../src/core/errors';
import type { Graph, Model, Value } from '../../src/core/model';
import { summarize } from '../../src/core/summary';
import {
  CONV_BIAS,
  CONV_WEIGHTS,
  CUSTOM_OPTIONS,
  LABELS,
  SPARSE_VALUES,
  fixtureJson,
  flatcFromJson,
} from '../helpers/litert';

let bytes: Uint8Array;
let model: Model;
let tmp: string;
let filePath: string;

function val(g: Graph, name: string): Value {
  const v = g.values.get(name);
  assert.ok(v, `value '${name}' exists`);
  return v;
}

before(async () => {
  bytes = flatcFromJson(fixtureJson());
  model = await readTflite({ kind: 'bytes', bytes, name: 'fixture.tflite' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-tflite-reader-'));
  filePath = path.join(tmp, 'fixture.tflite');
  fs.writeFileSync(filePath, bytes);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('TFLite reader: structure', () => {
  test('match() looks for TFL3 at bytes 4..8 only', () => {
    assert.equal(tfliteFormat.match(bytes.subarray(0, 16)), true);
    const other = new Uint8Array(16);
    other.set([0x54, 0x46, 0x4c, 0x33], 0); // TFL3 at the wrong place
    assert.equal(tfliteFormat.match(other), false);
    assert.equal(tfliteFormat.match(new Uint8Array(7)), false);
    assert.deepEqual(tfliteFormat.extensions, ['.tflite']);
  });

  test('open() through the format registry picks TFLite by signature, whatever the name', async () => {
    const m = await openModelBytes(bytes, 'model.onnx');
    assert.equal(m.format, 'tflite');
    const f = await openModelFile(filePath);
    assert.equal(f.path, filePath);
    assert.equal(f.fileSize, bytes.length);
  });

  test('model fields: producer from description, schema version, metadata as text when text', () => {
    assert.equal(model.format, 'tflite');
    assert.equal(model.producer, 'QuantLens unit fixture');
    assert.equal(model.formatVersion, 3);
    assert.equal(model.metadata.min_runtime_version, '1.14.0');
    assert.equal(model.metadata.blob, '(binary, 5 bytes)');
  });

  test('all subgraphs, main first; names kept or synthesised', () => {
    assert.deepEqual(model.graphs.map((g) => g.name), ['main', 'cond', 'subgraph_2']);
    const ex = getTfliteExtras(model)!;
    assert.equal(ex.graphs[2].fileName, '', 'the file had no name for subgraph 2');
    const s = summarize(model);
    assert.equal(s.subgraphCount, 2);
    assert.equal(s.nodeCount, 5 + 1 + 1);
    assert.equal(s.mainGraphNodeCount, 5);
  });

  test('builtin operators by enum name; both opcode styles; custom ops in domain custom', () => {
    const g = model.graphs[0];
    assert.deepEqual(g.nodes.map((n) => n.opType), ['CONV_2D', 'GELU', 'MyCustomOp', 'WHILE', 'FULLY_CONNECTED']);
    assert.deepEqual(g.nodes.map((n) => n.domain), ['', '', 'custom', '', '']);
    assert.equal(model.graphs[1].nodes[0].opType, 'LESS');
    assert.equal(model.graphs[2].nodes[0].opType, 'ADD', 'deprecated and new code both 0 is ADD');
    const codes = getTfliteExtras(model)!.operatorCodes;
    assert.deepEqual(codes.map((c) => c.version), [3, 2, 1, 1, 1, 1, 4]);
  });

  test('builtin options as attributes: schema names, enums by name, plain values', () => {
    const [conv, gelu, , loop, fc] = model.graphs[0].nodes;
    const a = Object.fromEntries(conv.attributes.map((x) => [x.name, x.value]));
    assert.deepEqual(a.padding, { type: 'string', value: 'VALID' });
    assert.deepEqual(a.stride_w, { type: 'int', value: 2 });
    assert.deepEqual(a.stride_h, { type: 'int', value: 2 });
    assert.deepEqual(a.fused_activation_function, { type: 'string', value: 'RELU6' });
    assert.deepEqual(a.dilation_w_factor, { type: 'int', value: 1 }, 'schema default');
    assert.deepEqual(gelu.attributes, [{ name: 'approximate', value: { type: 'bool', value: true } }]);
    const l = Object.fromEntries(loop.attributes.map((x) => [x.name, x.value]));
    assert.deepEqual(l.cond_subgraph_index, { type: 'int', value: 1 });
    assert.deepEqual(l.body_subgraph_index, { type: 'int', value: 2 });
    const f = Object.fromEntries(fc.attributes.map((x) => [x.name, x.value]));
    assert.deepEqual(f.weights_format, { type: 'string', value: 'DEFAULT' });
    assert.deepEqual(f.keep_num_dims, { type: 'bool', value: false });
  });

  test('custom op options decoded from their FlexBuffer for display', () => {
    const custom = model.graphs[0].nodes[2];
    const a = Object.fromEntries(custom.attributes.map((x) => [x.name, x.value]));
    assert.deepEqual(a.alpha, { type: 'int', value: CUSTOM_OPTIONS.alpha });
    assert.deepEqual(a.mode, { type: 'string', value: CUSTOM_OPTIONS.mode });
    assert.deepEqual(a.taps, { type: 'ints', value: CUSTOM_OPTIONS.taps });
    assert.deepEqual(a.gain, { type: 'float', value: CUSTOM_OPTIONS.gain });
    assert.deepEqual(a.on, { type: 'bool', value: true });
    assert.deepEqual(custom.inputs, ['y#5', ''], 'omitted optional input (-1) is empty');
  });

  test('tensor names unique: duplicates and empties get #index', () => {
    const g = model.graphs[0];
    const names = [...g.values.keys()];
    assert.deepEqual(names.slice(0, 6), ['x', 'conv/w', 'conv/b', 'y', '#4', 'y#5']);
    assert.equal(new Set(names).size, names.length);
    assert.equal(getTfliteExtras(model)!.graphs[0].tensors['y#5'].fileName, 'y');
  });

  test('node names synthesised from the first output', () => {
    const g = model.graphs[0];
    assert.deepEqual(g.nodes.map((n) => n.name), ['y', 'y#5', '#4', 'loop_out', 'fc_out']);
    assert.ok(g.nodes.every((n) => n.nameSynthesised === true));
  });

  test('producer and consumer indices', () => {
    const g = model.graphs[0];
    assert.equal(val(g, 'y').producer, 0);
    assert.deepEqual(val(g, 'y').consumers, [1]);
    assert.deepEqual(val(g, 'x').consumers, [0]);
    assert.equal(val(g, 'x').producer, undefined);
    assert.deepEqual(val(g, 'loop_out').consumers, [4]);
    assert.equal(val(g, 'fc_out').producer, 4);
    assert.deepEqual(val(g, 'state').consumers, [3]);
  });

  test('graph inputs, outputs and initializers', () => {
    const g = model.graphs[0];
    assert.deepEqual(g.inputs, ['x']);
    assert.deepEqual(g.outputs, ['y', 'loop_out', 'fc_out']);
    assert.deepEqual(g.initializers, ['conv/w', 'conv/b', 'labels', 'sparse_w']);
  });

  test('dtypes and shapes: shape_signature -1 is unknown, missing rank is null', () => {
    const g = model.graphs[0];
    assert.deepEqual(val(g, 'x').type, { dtype: 'float32', shape: [null, 2, 2, 3] });
    assert.deepEqual(val(g, 'conv/w').type, { dtype: 'int8', shape: [4, 1, 1, 3] });
    assert.deepEqual(val(g, 'labels').type, { dtype: 'string', shape: [3] });
    assert.deepEqual(val(g, 'unknown_rank').type, { dtype: 'float32', shape: null });
    assert.deepEqual(val(model.graphs[1], 'limit').type, { dtype: 'float32', shape: [] }, 'scalar');
    assert.deepEqual(val(model.graphs[1], 'less').type, { dtype: 'bool', shape: [1, 4] });
  });

  test('per-channel quantization: quantized_dimension is the axis', () => {
    const q = val(model.graphs[0], 'conv/w').quant!;
    assert.deepEqual(q.scale, [0.5, 0.25, 0.125, 2]);
    assert.deepEqual(q.zeroPoint, [0, 0, 0, 0]);
    assert.equal(q.axis, 0);
    assert.equal(q.quantizedType, 'int8');
    assert.equal(q.origin, 'tflite');
    const b = val(model.graphs[0], 'conv/b').quant!;
    assert.equal(b.scale.length, 4);
    assert.equal(Math.fround(0.3), b.scale[2], 'float32 scales, exactly');
  });

  test('per-tensor quantization with min/max; a range alone is not quantization', () => {
    const q = val(model.graphs[0], 'y').quant!;
    assert.deepEqual(q.scale, [Math.fround(0.05)]);
    assert.deepEqual(q.zeroPoint, [-3]);
    assert.equal(q.axis, undefined);
    assert.deepEqual(q.min, [-6.25]);
    assert.deepEqual(q.max, [6.5]);
    const r = val(model.graphs[0], 'range_only');
    assert.equal(r.quant, undefined);
    assert.match(r.description ?? '', /range/);
  });

  test('variable tensors are marked and are not graph inputs', () => {
    const s = val(model.graphs[0], 'state');
    assert.equal(s.isVariable, true);
    assert.equal(s.constant, undefined);
    assert.ok(!model.graphs[0].inputs.includes('state'));
  });

  test('constants from bytes are subarray views of the source (no copy)', () => {
    const w = val(model.graphs[0], 'conv/w').constant!;
    assert.equal(w.data.kind, 'bytes');
    if (w.data.kind !== 'bytes') return;
    assert.equal(w.data.bytes.buffer, bytes.buffer, 'same ArrayBuffer');
    assert.deepEqual([...new Int8Array(w.data.bytes.buffer, w.data.bytes.byteOffset, 12)], CONV_WEIGHTS);
    assert.equal(w.data.bytes.byteOffset % 16, 0, 'flatc aligns force_align(16) buffer data');
  });

  test('constants from files are lazy {file, offset, length} references to the right bytes', async () => {
    const m = await readTflite({ kind: 'file', path: filePath });
    const b = val(m.graphs[0], 'conv/b').constant!;
    assert.equal(b.data.kind, 'file');
    if (b.data.kind !== 'file') return;
    assert.equal(b.data.path, filePath);
    assert.equal(b.data.length, 16);
    const raw = fs.readFileSync(filePath).subarray(b.data.offset, b.data.offset + b.data.length);
    assert.deepEqual([...new Int32Array(new Uint8Array(raw).buffer)], CONV_BIAS);
    assert.deepEqual([...new Int32Array(readTensorDataBytes(b.data).buffer)], CONV_BIAS);
    const one = val(m.graphs[2], 'one').constant!;
    assert.equal(new DataView(readTensorDataBytes(one.data).buffer).getFloat32(0, true), 1);
  });

  test('string tensors are decoded', () => {
    const c = val(model.graphs[0], 'labels').constant!;
    assert.deepEqual(c.data, { kind: 'strings', values: LABELS });
  });

  test('sparsity stays visible: description plus the stored values only', () => {
    const v = val(model.graphs[0], 'sparse_w');
    assert.match(v.description ?? '', /^sparse .*traversal_order \[0,1\].*csr\(3 indices\)/);
    assert.deepEqual(v.type, { dtype: 'int8', shape: [3, 4] }, 'the dense shape');
    assert.deepEqual(v.constant!.shape, [3], 'the constant holds the 3 stored values');
    assert.deepEqual([...readTensorDataBytes(v.constant!.data)], SPARSE_VALUES);
    const sp = getTfliteExtras(model)!.graphs[0].tensors.sparse_w.sparsity!;
    assert.deepEqual(sp.dimMetadata[1].arrayIndices, { type: 'Uint8Vector', values: [2, 0, 3] });
  });

  test('signatures map names to unique value names', () => {
    assert.deepEqual(model.signatures, [
      {
        key: 'serving_default',
        subgraphIndex: 0,
        inputs: [{ name: 'image', value: 'x' }],
        outputs: [
          { name: 'logits', value: 'y' },
          { name: 'loop', value: 'loop_out' },
        ],
      },
    ]);
  });
});

describe('TFLite reader: every TensorType maps to a dtype', () => {
  const table: [string, string][] = [
    ['FLOAT32', 'float32'], ['FLOAT16', 'float16'], ['INT32', 'int32'], ['UINT8', 'uint8'], ['INT64', 'int64'],
    ['STRING', 'string'], ['BOOL', 'bool'], ['INT16', 'int16'], ['COMPLEX64', 'complex64'], ['INT8', 'int8'],
    ['FLOAT64', 'float64'], ['COMPLEX128', 'complex128'], ['UINT64', 'uint64'], ['RESOURCE', 'resource'],
    ['VARIANT', 'variant'], ['UINT32', 'uint32'], ['UINT16', 'uint16'], ['INT4', 'int4'], ['BFLOAT16', 'bfloat16'],
    ['INT2', 'int2'], ['UINT4', 'uint4'], ['FLOAT8_E4M3FN', 'float8e4m3fn'], ['FLOAT8_E5M2', 'float8e5m2'],
  ];
  test('names from the schema enum, via flatc', async () => {
    const json = {
      version: 3,
      operator_codes: [],
      subgraphs: [{ tensors: table.map(([t], i) => ({ name: `t${i}`, type: t, shape: [2] })), inputs: [], outputs: [] }],
      buffers: [{}],
    };
    const m = await readTflite({ kind: 'bytes', bytes: flatcFromJson(json) });
    assert.deepEqual([...m.graphs[0].values.values()].map((v) => v.type?.dtype), table.map(([, d]) => d));
  });

  test('an int4 constant holds packed nibbles (ceil(n/2) bytes)', async () => {
    const json = {
      version: 3,
      subgraphs: [{ tensors: [{ name: 'w', type: 'INT4', shape: [3], buffer: 1 }], inputs: [], outputs: [] }],
      buffers: [{}, { data: [0x21, 0x03] }],
    };
    const m = await readTflite({ kind: 'bytes', bytes: flatcFromJson(json) });
    const c = m.graphs[0].values.get('w')!.constant!;
    assert.deepEqual([...readTensorDataBytes(c.data)], [0x21, 0x03]);
  });
});

describe('TFLite reader: buffers beyond the flatbuffer (Buffer.offset/size)', () => {
  test('data appended after the flatbuffer is referenced, and bounds are checked', async () => {
    const base = {
      version: 3,
      subgraphs: [{ tensors: [{ name: 'w', type: 'INT8', shape: [4], buffer: 1 }], inputs: [], outputs: [] }],
      buffers: [{}, { offset: 0, size: 4 }],
    };
    // First build to learn the flatbuffer size, then point the buffer after it.
    const probe = flatcFromJson({ ...base, buffers: [{}, { offset: 1000000, size: 4 }] });
    const at = Math.ceil(probe.length / 16) * 16;
    const fb = flatcFromJson({ ...base, buffers: [{}, { offset: at, size: 4 }] });
    assert.equal(fb.length, probe.length);
    const file = new Uint8Array(at + 4);
    file.set(fb);
    file.set([9, 8, 7, 6], at);
    const m = await readTflite({ kind: 'bytes', bytes: file });
    const c = m.graphs[0].values.get('w')!.constant!;
    assert.deepEqual([...readTensorDataBytes(c.data)], [9, 8, 7, 6]);
    assert.equal(getTfliteExtras(m)!.usedBufferOffsets, true);
    // The same flatbuffer without the appended bytes: the reference points past the end.
    await assert.rejects(readTflite({ kind: 'bytes', bytes: fb }), (e: unknown) => {
      assert.ok(e instanceof ModelError);
      assert.equal(e.code, 'truncated');
      assert.match(e.message, /buffer 1 claims 4 bytes at offset/);
      return true;
    });
  });
});

describe('TFLite reader: a file over 2 GiB (data beyond the flatbuffer, sparse file on disk)', () => {
  test('opens without reading the data, and the reference reaches past 2 GiB', async () => {
    const at = 2 ** 31 + 2 ** 29; // 2.5 GiB
    const fb = flatcFromJson({
      version: 3,
      subgraphs: [{ tensors: [{ name: 'far', type: 'FLOAT32', shape: [2], buffer: 1 }], inputs: [], outputs: [] }],
      buffers: [{}, { offset: at, size: 8 }],
    });
    const p = path.join(tmp, 'big.tflite');
    const fd = fs.openSync(p, 'w');
    try {
      fs.writeSync(fd, fb, 0, fb.length, 0);
      fs.writeSync(fd, new Uint8Array(new Float32Array([1.5, -2]).buffer), 0, 8, at);
    } finally {
      fs.closeSync(fd);
    }
    try {
      assert.equal(fs.statSync(p).size, at + 8);
      // reading the whole file would hold 2.5 GB in ArrayBuffers; opening holds the flatbuffer only
      const before = process.memoryUsage().arrayBuffers;
      const m = await readTflite({ kind: 'file', path: p });
      const grew = process.memoryUsage().arrayBuffers - before;
      assert.ok(grew < 64 * 2 ** 20, `opening grew ArrayBuffers by ${(grew / 2 ** 20).toFixed(0)} MB`);
      const c = m.graphs[0].values.get('far')!.constant!;
      assert.deepEqual(c.data, { kind: 'file', path: p, offset: at, length: 8 });
      assert.deepEqual([...new Float32Array(readTensorDataBytes(c.data).buffer)], [1.5, -2]);
      assert.equal(m.fileSize, at + 8);
    } finally {
      fs.rmSync(p, { force: true });
    }
  });
});

describe('TFLite reader: bad input gives ModelError naming the problem', () => {
  async function rejects(b: Uint8Array, code: string, re: RegExp): Promise<void> {
    await assert.rejects(readTflite({ kind: 'bytes', bytes: b, name: 'bad.tflite' }), (e: unknown) => {
      assert.ok(e instanceof ModelError, `ModelError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, re);
      return true;
    });
  }

  test('empty, tiny, wrong identifier', async () => {
    await rejects(new Uint8Array(0), 'empty', /empty/);
    await rejects(bytes.subarray(0, 6), 'truncated', /too short/);
    const wrong = new Uint8Array(bytes);
    wrong[5] = 0x58;
    await rejects(wrong, 'not-a-model', /not a TFLite model/);
  });

  test('truncated files', async () => {
    for (const n of [8, 16, 64, Math.floor(bytes.length / 2), bytes.length - 8]) {
      await assert.rejects(readTflite({ kind: 'bytes', bytes: bytes.subarray(0, n) }), (e: unknown) => {
        assert.ok(e instanceof ModelError, `cut at ${n}: ${String(e)}`);
        assert.ok(['truncated', 'corrupt'].includes(e.code), e.code);
        return true;
      });
    }
  });

  test('a tensor index out of range', async () => {
    const j = fixtureJson() as { subgraphs: { operators: { inputs: number[] }[] }[] };
    j.subgraphs[0].operators[0].inputs = [0, 99, 2];
    await rejects(flatcFromJson(j), 'corrupt', /refers to tensor 99, but the subgraph has 13/);
  });

  test('a buffer index out of range', async () => {
    const j = fixtureJson() as { subgraphs: { tensors: { buffer?: number }[] }[] };
    j.subgraphs[0].tensors[1].buffer = 40;
    await rejects(flatcFromJson(j), 'corrupt', /refers to buffer 40, but there are 9/);
  });

  test('an opcode index out of range', async () => {
    const j = fixtureJson() as { subgraphs: { operators: { opcode_index: number }[] }[] };
    j.subgraphs[0].operators[1].opcode_index = 7;
    await rejects(flatcFromJson(j), 'corrupt', /uses opcode 7, but there are 7/);
  });

  test('a constant smaller than its shape', async () => {
    const j = fixtureJson() as { subgraphs: { tensors: { shape: number[] }[] }[] };
    j.subgraphs[0].tensors[1].shape = [4, 1, 1, 4];
    await rejects(flatcFromJson(j), 'corrupt', /'conv\/w'.*int8\[4,1,1,4\] \(16 bytes\) but its buffer holds 12 bytes/);
  });

  test('a signature naming a missing subgraph', async () => {
    const j = fixtureJson() as { signature_defs: { subgraph_index: number }[] };
    j.signature_defs[0].subgraph_index = 5;
    await rejects(flatcFromJson(j), 'corrupt', /signature 0 refers to subgraph 5/);
  });

  test('a vector length far beyond the file', async () => {
    // The root table's first vtable entry points at operator_codes; make its length absurd.
    const b = new Uint8Array(bytes);
    const dv = new DataView(b.buffer);
    const root = dv.getUint32(0, true);
    const vt = root - dv.getInt32(root, true);
    const field = dv.getUint16(vt + 6, true); // Model.operator_codes
    const vec = root + field + dv.getUint32(root + field, true);
    dv.setUint32(vec, 0x7ffffff0, true);
    await rejects(b, 'truncated', /claims \d+ elements/);
  });

  test('subgraph limit on operators', async () => {
    await assert.rejects(readTflite({ kind: 'bytes', bytes }, { limits: { maxNodes: 3 } }), (e: unknown) => e instanceof ModelError && e.code === 'too-large');
  });

  test('files that do not exist, and folders', async () => {
    await assert.rejects(readTflite({ kind: 'file', path: path.join(tmp, 'nope.tflite') }), (e: unknown) => e instanceof ModelError && e.code === 'io');
    await assert.rejects(readTflite({ kind: 'file', path: tmp }), (e: unknown) => e instanceof ModelError && e.code === 'io');
  });
});

describe('TFLite reader: external data files (schema 3d)', () => {
  const json = (group: string): unknown => ({
    version: 3,
    subgraphs: [{ tensors: [{ name: 'w', type: 'INT16', shape: [2], external_buffer: 7 }], inputs: [], outputs: [] }],
    buffers: [{}],
    external_buffer_groups: [{ name: group }],
    external_buffers: [{ id: 7, group: 0, offset: 4, length: 4 }],
  });

  test('a tensor in an external file is a lazy reference into that file; the writer inlines it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-tflite-ext-'));
    try {
      fs.writeFileSync(path.join(dir, 'weights.bin'), Uint8Array.from([0, 0, 0, 0, 0x34, 0x12, 0xff, 0xff]));
      fs.writeFileSync(path.join(dir, 'm.tflite'), flatcFromJson(json('weights.bin')));
      const m = await readTflite({ kind: 'file', path: path.join(dir, 'm.tflite') });
      const c = m.graphs[0].values.get('w')!.constant!;
      assert.deepEqual(c.data, { kind: 'file', path: path.join(dir, 'weights.bin'), offset: 4, length: 4 });
      assert.deepEqual([...new Int16Array(readTensorDataBytes(c.data).buffer)], [0x1234, -1]);
      const again = await readTflite({ kind: 'bytes', bytes: writeTflite(m) });
      assert.deepEqual([...new Int16Array(readTensorDataBytes(again.graphs[0].values.get('w')!.constant!.data).slice().buffer)], [0x1234, -1]);

      fs.writeFileSync(path.join(dir, 'evil.tflite'), flatcFromJson(json('../outside.bin')));
      await assert.rejects(readTflite({ kind: 'file', path: path.join(dir, 'evil.tflite') }), (e: unknown) => e instanceof ModelError && e.code === 'unsafe-path');
      fs.writeFileSync(path.join(dir, 'missing.tflite'), flatcFromJson(json('nope.bin')));
      await assert.rejects(readTflite({ kind: 'file', path: path.join(dir, 'missing.tflite') }), (e: unknown) => e instanceof ModelError && e.code === 'io');
      fs.writeFileSync(path.join(dir, 'short.bin'), Uint8Array.from([1, 2, 3]));
      fs.writeFileSync(path.join(dir, 'short.tflite'), flatcFromJson(json('short.bin')));
      await assert.rejects(readTflite({ kind: 'file', path: path.join(dir, 'short.tflite') }), (e: unknown) => e instanceof ModelError && e.code === 'truncated');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
