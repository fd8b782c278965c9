/**
 * TFLite writer: output re-read equals the original graph model; flatc (independent decoder) sees
 * the same file content as the fixture's JSON; constant data is 16-byte aligned; buffers beyond the
 * flatbuffer work; atomic file writes; new nodes written from the graph model alone run in LiteRT
 * with hand-computed results.
 */
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTflite, writeTflite, writeTfliteFile } from '../../src/core/formats/tflite';
import { canonicalModel } from '../../src/core/formats/tflite/canonical';
import { getTfliteExtras } from '../../src/core/formats/tflite/extras';
import { ModelError } from '../../src/core/errors';
import type { Graph, Model, Value } from '../../src/core/model';
import { fixtureJson, flatcFromJson, flatcToJson, runLiteRt } from '../helpers/litert';

let original: Uint8Array;
let model: Model;
let tmp: string;

before(async () => {
  original = flatcFromJson(fixtureJson());
  model = await readTflite({ kind: 'bytes', bytes: original });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-tflite-writer-'));
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Data offsets of every constant, found through the reader's lazy references. */
function constantOffsets(m: Model, file: Uint8Array): number[] {
  const out: number[] = [];
  for (const g of m.graphs) {
    for (const v of g.values.values()) {
      const d = v.constant?.data;
      if (d?.kind === 'bytes') out.push(d.bytes.byteOffset - file.byteOffset);
      if (d?.kind === 'file') out.push(d.offset);
    }
  }
  return out;
}

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The parts of flatc's JSON view that carry meaning, with buffer indices replaced by contents. */
function meaning(j: J): unknown {
  const data = (b: number | undefined): number[] => (b ? j.buffers[b]?.data ?? [] : []);
  const opName = (i: number | undefined): string => {
    const c = j.operator_codes[i ?? 0];
    return c.custom_code ?? String(c.builtin_code ?? c.deprecated_builtin_code ?? 'ADD');
  };
  return {
    description: j.description,
    subgraphs: j.subgraphs.map((sg: J) => ({
      inputs: sg.inputs,
      outputs: sg.outputs,
      tensors: sg.tensors.map((t: J) => ({
        name: t.name ?? '',
        type: t.type ?? 'FLOAT32',
        shape: t.shape ?? [],
        sig: t.shape_signature?.length ? t.shape_signature : undefined,
        quant: t.quantization && Object.keys(t.quantization).length ? t.quantization : undefined,
        variable: t.is_variable ?? false,
        sparsity: t.sparsity,
        data: data(t.buffer),
      })),
      operators: sg.operators.map((o: J) => ({
        op: opName(o.opcode_index),
        version: j.operator_codes[o.opcode_index ?? 0].version ?? 1,
        inputs: o.inputs,
        outputs: o.outputs,
        optionsType: o.builtin_options_type,
        options: o.builtin_options,
        custom: o.custom_options?.length ? o.custom_options : undefined,
      })),
    })),
    metadata: (j.metadata ?? []).map((m: J) => ({ name: m.name, data: data(m.buffer) })),
    signatures: j.signature_defs,
  };
}

describe('TFLite writer: round trip of the fixture', () => {
  test('read(write(model)) equals model', async () => {
    const out = writeTflite(model);
    const again = await readTflite({ kind: 'bytes', bytes: out });
    assert.deepEqual(canonicalModel(again), canonicalModel(model));
    // What only the extras carry survives too: operator-code versions per node.
    const versions = (m: Model): number[][] => {
      const ex = getTfliteExtras(m)!;
      return ex.graphs.map((g) => Object.values(g.ops).map((o) => ex.operatorCodes[o.opcodeIndex].version));
    };
    assert.deepEqual(versions(again), versions(model));
  });

  test('flatc reads the written file as the same model as the fixture', () => {
    const out = writeTflite(model);
    assert.deepEqual(meaning(flatcToJson(out)), meaning(flatcToJson(original)));
  });

  test('constant data is 16-byte aligned, inline and beyond the flatbuffer', async () => {
    for (const bufferOffsets of [false, true]) {
      const out = writeTflite(model, { bufferOffsets });
      const m = await readTflite({ kind: 'bytes', bytes: out });
      const offs = constantOffsets(m, out);
      assert.ok(offs.length >= 5, `constants found: ${offs.length}`);
      for (const o of offs) assert.equal(o % 16, 0, `offset ${o} (bufferOffsets=${bufferOffsets})`);
    }
  });

  test('buffers beyond the flatbuffer: flatc sees offset/size, the reader the same model', async () => {
    const out = writeTflite(model, { bufferOffsets: true });
    const j = flatcToJson(out);
    const withData = j.buffers.filter((b: J) => b.data?.length);
    const beyond = j.buffers.filter((b: J) => b.offset && b.size);
    assert.equal(withData.length, 0);
    assert.ok(beyond.length >= 6);
    for (const b of beyond) assert.ok(Number(b.offset) + Number(b.size) <= out.length);
    const again = await readTflite({ kind: 'bytes', bytes: out });
    assert.deepEqual(canonicalModel(again), canonicalModel(model));
    assert.equal(getTfliteExtras(again)!.usedBufferOffsets, true);
  });

  test('shared buffers stay shared', async () => {
    const j = fixtureJson() as J;
    j.subgraphs[1].tensors[1].buffer = 6; // cond's 'limit' now shares body's 'one' buffer
    const m = await readTflite({ kind: 'bytes', bytes: flatcFromJson(j) });
    const out = flatcToJson(writeTflite(m));
    assert.equal(out.subgraphs[1].tensors[1].buffer, out.subgraphs[2].tensors[1].buffer);
  });
});

describe('TFLite writer: files', () => {
  test('writeTfliteFile writes atomically and can replace the model it reads from', async () => {
    const p = path.join(tmp, 'model.tflite');
    fs.writeFileSync(p, original);
    const fromFile = await readTflite({ kind: 'file', path: p });
    await writeTfliteFile(fromFile, p); // lazy data is read from p while p is being replaced
    assert.deepEqual(fs.readdirSync(tmp), ['model.tflite'], 'no temporary files left');
    const again = await readTflite({ kind: 'file', path: p });
    assert.deepEqual(canonicalModel(again), canonicalModel(model));
  });

  test('a failed write leaves no file behind and says why', async () => {
    const p = path.join(tmp, 'no-such-dir', 'x.tflite');
    await assert.rejects(writeTfliteFile(model, p), (e: unknown) => e instanceof ModelError && e.code === 'io');
    assert.equal(fs.existsSync(path.dirname(p)), false);
  });
});

describe('TFLite writer: graph-model edits and new models', () => {
  test('edited quantization and attributes are written', async () => {
    const m = await readTflite({ kind: 'bytes', bytes: original });
    const g = m.graphs[0];
    g.values.get('y')!.quant = { scale: [0.25], zeroPoint: [7], origin: 'tflite', quantizedType: 'int8' };
    const conv = g.nodes[0];
    conv.attributes = conv.attributes.map((a) => (a.name === 'stride_w' ? { ...a, value: { type: 'int', value: 1 } } : a));
    const j = flatcToJson(writeTflite(m));
    assert.deepEqual(j.subgraphs[0].tensors[3].quantization, { scale: [0.25], zero_point: [7] });
    assert.equal(j.subgraphs[0].operators[0].builtin_options.stride_w, 1);
  });

  test('a custom node without its original option bytes gets FlexBuffer options from its attributes', async () => {
    const m = await readTflite({ kind: 'bytes', bytes: original });
    const g = m.graphs[0];
    const custom = g.nodes[2];
    // Renaming the output detaches the node from the file's extras (as a new node would be).
    const v = g.values.get('#4')!;
    g.values.delete('#4');
    g.values.set('custom_out', { ...v, name: 'custom_out' });
    custom.outputs = ['custom_out'];
    custom.attributes = custom.attributes.map((a) => (a.name === 'alpha' ? { ...a, value: { type: 'int', value: 9 } } : a));
    const again = await readTflite({ kind: 'bytes', bytes: writeTflite(m) });
    const attrs = Object.fromEntries(again.graphs[0].nodes[2].attributes.map((a) => [a.name, a.value]));
    assert.deepEqual(attrs.alpha, { type: 'int', value: 9 });
    assert.deepEqual(attrs.taps, { type: 'ints', value: [1, 2, 3] });
    assert.deepEqual(attrs.mode, { type: 'string', value: 'fast' });
    assert.deepEqual(attrs.gain, { type: 'float', value: 0.5 });
  });

  test('refuses what TFLite cannot hold, with a message', () => {
    const m = { ...model, graphs: [{ ...model.graphs[0], nodes: [{ ...model.graphs[0].nodes[0], opType: 'NOT_AN_OP' }] }] };
    assert.throws(() => writeTflite(m), (e: unknown) => e instanceof ModelError && /'NOT_AN_OP' is not a TFLite builtin/.test(e.message));
    assert.throws(() => writeTflite({ ...model, format: 'onnx' }), (e: unknown) => e instanceof ModelError && e.code === 'unsupported');
  });

  test('a model built from scratch (no extras) runs in LiteRT with hand-computed results', async () => {
    // y = relu(x + c); z = x * c   (ADD with fused RELU, MUL with defaults)
    const c = new Float32Array([1, -2, 3, -4]);
    const v = (name: string, extra: Partial<Value> = {}): Value => ({ name, type: { dtype: 'float32', shape: [1, 4] }, consumers: [], ...extra });
    const g: Graph = {
      name: 'main',
      nodes: [
        {
          name: 'add', opType: 'ADD', domain: '', inputs: ['x', 'c'], outputs: ['y'], subgraphs: [],
          attributes: [{ name: 'fused_activation_function', value: { type: 'string', value: 'RELU' } }],
        },
        { name: 'mul', opType: 'MUL', domain: '', inputs: ['x', 'c'], outputs: ['z'], subgraphs: [], attributes: [] },
      ],
      values: new Map([
        ['x', v('x')],
        ['c', v('c', { constant: { name: 'c', dtype: 'float32', shape: [1, 4], data: { kind: 'bytes', bytes: new Uint8Array(c.buffer) } } })],
        ['y', v('y')],
        ['z', v('z')],
      ]),
      inputs: ['x'],
      outputs: ['y', 'z'],
      initializers: ['c'],
    };
    const m: Model = {
      format: 'tflite', fileSize: 0, producer: 'QuantLens test', formatVersion: 3, opsets: [], description: '',
      metadata: {}, graphs: [g], functions: [], signatures: [],
    };
    const out = writeTflite(m);
    const j = flatcToJson(out);
    assert.deepEqual(j.operator_codes.map((o: J) => o.builtin_code ?? 'ADD'), ['ADD', 'MUL']);
    assert.equal(j.subgraphs[0].operators[0].builtin_options_type, 'AddOptions', 'conventional options table for a new node');
    const x = new Float32Array([0.5, 0.5, -1, 2]);
    const r = await runLiteRt(out, () => new Uint8Array(x.buffer));
    const f32 = (b: Uint8Array): number[] => [...new Float32Array(b.buffer, b.byteOffset, b.length / 4)];
    assert.deepEqual(f32(r.outputs[0].data), [1.5, 0, 2, 0]);
    assert.deepEqual(f32(r.outputs[1].data), [0.5, -1, -3, -8]);
  });
});
