/**
 * Every .tflite in the shared corpus opens, and what we read matches an independent reference:
 * flatc's own JSON conversion of the file (`flatc --json --strict-json --raw-binary`), with enum
 * names taken from the schema text, not from our reader or its generated code.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { openModelFile } from '../../src/core/open';
import { readTensorDataBytes } from '../../src/core/formats/tflite/reader';
import type { Model } from '../../src/core/model';
import { SHARED_MODELS } from '../helpers/paths';
import { flatcToJson, TFLITE_SCHEMA } from '../helpers/litert';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function corpusTfliteFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.tflite')) out.push(p);
    }
  };
  walk(path.join(SHARED_MODELS, 'tflite'));
  return out;
}

/** BuiltinOperator value -> name, parsed from the schema text itself. */
function builtinNames(): Map<number, string> {
  const text = fs.readFileSync(TFLITE_SCHEMA, 'utf8');
  const body = /enum BuiltinOperator\s*:\s*int32\s*{([^}]*)}/.exec(text)![1];
  const m = new Map<number, string>();
  for (const line of body.split('\n')) {
    const r = /^\s*([A-Z0-9_]+)\s*=\s*(\d+)/.exec(line.replace(/\/\/.*$/, ''));
    if (r) m.set(Number(r[2]), r[1]);
  }
  return m;
}

const DTYPES: Record<string, string> = {
  FLOAT32: 'float32', FLOAT16: 'float16', INT32: 'int32', UINT8: 'uint8', INT64: 'int64', STRING: 'string',
  BOOL: 'bool', INT16: 'int16', COMPLEX64: 'complex64', INT8: 'int8', FLOAT64: 'float64', COMPLEX128: 'complex128',
  UINT64: 'uint64', RESOURCE: 'resource', VARIANT: 'variant', UINT32: 'uint32', UINT16: 'uint16', INT4: 'int4',
  BFLOAT16: 'bfloat16', INT2: 'int2', UINT4: 'uint4', FLOAT8_E4M3FN: 'float8e4m3fn', FLOAT8_E5M2: 'float8e5m2',
};

function expectedOpName(code: J, names: Map<number, string>): string {
  const byName = new Map([...names].map(([k, v]) => [v, k]));
  // flatc omits defaults: a missing builtin_code is ADD (0), a missing deprecated code is 0.
  const builtin = code.builtin_code === undefined ? 0 : byName.get(code.builtin_code)!;
  const resolved = Math.max(builtin, code.deprecated_builtin_code ?? 0);
  return resolved === 32 ? code.custom_code ?? 'CUSTOM' : names.get(resolved)!;
}

/** flatc prints floats with 6 decimal places, so compare to that precision. */
function close(ours: number, printed: number): boolean {
  return ours === printed || Math.abs(ours - printed) <= 5e-7 + 1e-6 * Math.abs(printed);
}

function checkModel(file: string, model: Model, j: J, names: Map<number, string>): { ops: number; tensors: number; constants: number } {
  const where = path.basename(file);
  const subgraphs: J[] = j.subgraphs;
  assert.equal(model.graphs.length, subgraphs.length, `${where}: subgraph count`);
  assert.equal(model.producer, j.description ?? '', `${where}: description`);
  let ops = 0;
  let tensors = 0;
  let constants = 0;
  subgraphs.forEach((sg, gi) => {
    const g = model.graphs[gi];
    const w = `${where} subgraph ${gi}`;
    const jt: J[] = sg.tensors ?? [];
    const values = [...g.values.values()];
    assert.equal(values.length, jt.length, `${w}: tensor count`);
    assert.equal(g.nodes.length, (sg.operators ?? []).length, `${w}: operator count`);
    ops += g.nodes.length;
    tensors += values.length;
    const isConst = (t: J): boolean => (j.buffers[t.buffer ?? 0]?.data?.length ?? 0) > 0;

    // Names: the file's, unique-ified only where empty or repeated.
    jt.forEach((t, i) => {
      const raw = t.name ?? '';
      const v = values[i];
      if (raw !== '' && jt.findIndex((x) => (x.name ?? '') === raw) === i) assert.equal(v.name, raw, `${w}: tensor ${i} name`);
      else assert.ok(v.name.startsWith(`${raw}#${i}`), `${w}: tensor ${i} '${raw}' -> '${v.name}'`);
      // dtype and shape
      assert.equal(v.type?.dtype, DTYPES[t.type ?? 'FLOAT32'], `${w}: tensor ${i} dtype`);
      const shape: number[] = t.shape ?? [];
      const sig: number[] | undefined = t.shape_signature;
      const expected = sig && sig.length === shape.length ? sig.map((d) => (d < 0 ? null : d)) : shape.map((d) => (d < 0 ? null : d));
      if (v.type?.shape !== null) assert.deepEqual(v.type?.shape, expected, `${w}: tensor ${i} shape`);
      else assert.equal(shape.length, 0, `${w}: tensor ${i} unknown rank only when the file has no dims`);
      // quantization
      const q = t.quantization ?? {};
      if (q.scale?.length) {
        assert.ok(v.quant, `${w}: tensor ${i} quantized`);
        assert.equal(v.quant!.scale.length, q.scale.length);
        q.scale.forEach((s: number, k: number) => assert.ok(close(v.quant!.scale[k], s), `${w}: tensor ${i} scale[${k}] ${v.quant!.scale[k]} vs ${s}`));
        assert.deepEqual(v.quant!.zeroPoint, (q.zero_point ?? []).map(Number), `${w}: tensor ${i} zero points`);
        const qd = q.quantized_dimension ?? 0;
        if (q.scale.length > 1 || qd !== 0) assert.equal(v.quant!.axis, qd, `${w}: tensor ${i} axis`);
      } else assert.equal(v.quant, undefined, `${w}: tensor ${i} not quantized`);
      assert.equal(v.isVariable === true, t.is_variable === true, `${w}: tensor ${i} variable`);
      // constant data: same bytes
      if (isConst(t)) {
        constants++;
        assert.ok(v.constant, `${w}: tensor ${i} constant`);
        const ours = readTensorDataBytes(v.constant!.data);
        const theirs = Uint8Array.from(j.buffers[t.buffer].data as number[]);
        assert.equal(ours.length, theirs.length, `${w}: tensor ${i} data length`);
        const h = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
        assert.equal(h(ours), h(theirs), `${w}: tensor ${i} data`);
      } else assert.equal(v.constant, undefined, `${w}: tensor ${i} not constant`);
    });

    // Graph inputs (runtime ones) and outputs, by tensor index.
    const idx = (name: string): number => values.findIndex((v) => v.name === name);
    const runtimeInputs = (sg.inputs ?? []).filter((t: number) => !isConst(jt[t]));
    assert.deepEqual(g.inputs.map(idx), runtimeInputs, `${w}: inputs`);
    assert.deepEqual(g.outputs.map(idx), sg.outputs ?? [], `${w}: outputs`);

    // Operators: type, inputs and outputs by index (-1 for omitted).
    (sg.operators ?? []).forEach((op: J, k: number) => {
      const n = g.nodes[k];
      const code = j.operator_codes[op.opcode_index ?? 0];
      assert.equal(n.opType, expectedOpName(code, names), `${w}: operator ${k} type`);
      assert.equal(n.domain, (code.custom_code !== undefined || expectedOpName(code, names) === 'CUSTOM') ? 'custom' : '', `${w}: operator ${k} domain`);
      assert.deepEqual(n.inputs.map((x) => (x === '' ? -1 : idx(x))), op.inputs ?? [], `${w}: operator ${k} inputs`);
      assert.deepEqual(n.outputs.map((x) => (x === '' ? -1 : idx(x))), op.outputs ?? [], `${w}: operator ${k} outputs`);
      // Options: every field flatc prints appears as an attribute with the same value.
      for (const [key, value] of Object.entries(op.builtin_options ?? {})) {
        const a = n.attributes.find((x) => x.name === key);
        assert.ok(a, `${w}: operator ${k} attribute ${key}`);
        const ours = (a!.value as { value: unknown }).value;
        if (typeof value === 'number' && typeof ours === 'number') assert.ok(close(ours, value), `${w}: operator ${k} ${key}`);
        else assert.deepEqual(ours, value, `${w}: operator ${k} ${key}`);
      }
    });
  });

  // Signatures and metadata names.
  const sigs: J[] = j.signature_defs ?? [];
  assert.equal(model.signatures.length, sigs.length, `${where}: signatures`);
  sigs.forEach((s, i) => {
    assert.equal(model.signatures[i].key, s.signature_key ?? '');
    assert.equal(model.signatures[i].subgraphIndex, s.subgraph_index ?? 0);
    assert.deepEqual(model.signatures[i].inputs.map((x) => x.name), (s.inputs ?? []).map((x: J) => x.name));
  });
  assert.deepEqual(Object.keys(model.metadata).sort(), (j.metadata ?? []).map((m: J) => m.name).sort(), `${where}: metadata`);
  return { ops, tensors, constants };
}

test('every corpus .tflite opens and matches flatc\'s JSON view', async () => {
  const files = corpusTfliteFiles();
  assert.ok(files.length >= 19, `corpus has ${files.length} .tflite files`);
  const names = builtinNames();
  const rows: string[] = [];
  let totalOps = 0;
  for (const file of files) {
    const t0 = performance.now();
    const model = await openModelFile(file);
    const ms = performance.now() - t0;
    assert.equal(model.format, 'tflite');
    const j = flatcToJson(file);
    const r = checkModel(file, model, j, names);
    totalOps += r.ops;
    rows.push(`${path.relative(SHARED_MODELS, file).padEnd(84)} ${String(model.graphs.length).padStart(2)} sg ${String(r.ops).padStart(4)} ops ${String(r.tensors).padStart(5)} tensors ${String(r.constants).padStart(4)} const  open ${ms.toFixed(1)} ms`);
  }
  console.log(`TFLite reference check: ${files.length} files, ${totalOps} operators, all equal to flatc's view\n${rows.join('\n')}`);
});
