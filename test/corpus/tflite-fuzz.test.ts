/**
 * Hostile and broken input for the TFLite reader: at least 2,000 inputs derived from the real
 * corpus (truncations, byte flips, absurd offsets and lengths aimed at the flatbuffer structure
 * rather than the weights), crafted files (cyclic and deep subgraph references, self-referential
 * offsets, shared vectors that would multiply the work, a self-referencing FlexBuffer), empty
 * and wrong-format files. Each must resolve or reject with ModelError within 1 s; nothing else may
 * escape (the 1 s is for reading). A successfully read mutant must also summarise and write, or
 * refuse with ModelError.
 * Seeded PRNG: set QUANTLENS_FUZZ_SEED to reproduce a run; failures print the case label.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Builder } from 'flatbuffers';
import { readTflite, writeTflite } from '../../src/core/formats/tflite';
import * as tfl from '../../src/core/generated/tflite/schema_generated';
import { ModelError } from '../../src/core/errors';
import { summarize } from '../../src/core/summary';
import type { Model } from '../../src/core/model';
import { SHARED_MODELS } from '../helpers/paths';
import { fixtureJson, flatcFromJson, prng } from '../helpers/litert';

const SEED = Number(process.env.QUANTLENS_FUZZ_SEED ?? 0x7f13e5);
const TIME_LIMIT_MS = 1000;

function corpusFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(ext)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Byte ranges of the file that are not constant data (where the flatbuffer structure lives). */
function structureRanges(model: Model, size: number, base: Uint8Array): [number, number][] {
  const data: [number, number][] = [];
  for (const g of model.graphs) {
    for (const v of g.values.values()) {
      const d = v.constant?.data;
      if (d?.kind === 'bytes' && d.bytes.length > 0) data.push([d.bytes.byteOffset - base.byteOffset, d.bytes.length]);
    }
  }
  data.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let pos = 0;
  for (const [o, l] of data) {
    if (o > pos) out.push([pos, o]);
    pos = Math.max(pos, o + l);
  }
  if (pos < size) out.push([pos, size]);
  return out;
}

// ---- crafted inputs ----------------------------------------------------------------------------

function crafted(): { label: string; bytes: Uint8Array }[] {
  const out: { label: string; bytes: Uint8Array }[] = [];
  const add = (label: string, json: unknown): void => {
    out.push({ label, bytes: flatcFromJson(json) });
  };
  const t = (name: string): Record<string, unknown> => ({ name, type: 'FLOAT32', shape: [1], has_rank: true });

  // WHILE / CALL_ONCE / IF whose subgraph indices point at themselves, each other, or nowhere.
  add('cyclic WHILE: cond and body are the main graph', {
    version: 3,
    operator_codes: [{ deprecated_builtin_code: 119, builtin_code: 'WHILE' }],
    subgraphs: [{ tensors: [t('a'), t('b')], inputs: [0], outputs: [1], operators: [{ inputs: [0], outputs: [1], builtin_options_type: 'WhileOptions', builtin_options: { cond_subgraph_index: 0, body_subgraph_index: 0 } }] }],
    buffers: [{}],
  });
  add('mutual CALL_ONCE between two subgraphs', {
    version: 3,
    operator_codes: [{ deprecated_builtin_code: 127, builtin_code: 'CALL_ONCE' }],
    subgraphs: [0, 1].map((i) => ({ tensors: [t('a')], inputs: [], outputs: [], operators: [{ inputs: [], outputs: [], builtin_options_type: 'CallOnceOptions', builtin_options: { init_subgraph_index: 1 - i } }] })),
    buffers: [{}],
  });
  add('IF with branch indices far out of range', {
    version: 3,
    operator_codes: [{ deprecated_builtin_code: 118, builtin_code: 'IF' }],
    subgraphs: [{ tensors: [t('c'), t('o')], inputs: [0], outputs: [1], operators: [{ inputs: [0], outputs: [1], builtin_options_type: 'IfOptions', builtin_options: { then_subgraph_index: 2147483647, else_subgraph_index: -5 } }] }],
    buffers: [{}],
  });
  const chain = 400;
  add(`deep chain: ${chain} subgraphs each calling the next (the last calls the first)`, {
    version: 3,
    operator_codes: [{ deprecated_builtin_code: 127, builtin_code: 'CALL_ONCE' }],
    subgraphs: Array.from({ length: chain }, (_, i) => ({
      name: `sg${i}`, tensors: [t('x')], inputs: [0], outputs: [0],
      operators: [{ inputs: [], outputs: [], builtin_options_type: 'CallOnceOptions', builtin_options: { init_subgraph_index: (i + 1) % chain } }],
    })),
    buffers: [{}],
  });
  // A custom op whose FlexBuffer root is a vector holding itself (offset 0): unbounded nesting.
  add('self-referencing FlexBuffer custom options', {
    version: 3,
    operator_codes: [{ deprecated_builtin_code: 32, builtin_code: 'CUSTOM', custom_code: 'Loop' }],
    subgraphs: [{ tensors: [t('a'), t('b')], inputs: [0], outputs: [1], operators: [{ inputs: [0], outputs: [1], custom_options: [1, 0, 40, 2, 40, 1] }] }],
    buffers: [{}],
  });
  // Tensor names, shapes and types taken to extremes.
  const extremes: [string, Record<string, unknown>][] = [
    ['huge activation shape', { name: 'huge', type: 'FLOAT32', shape: [2147483647, 2147483647, 2147483647] }],
    ['negative constant dims', { name: 'neg', type: 'INT8', shape: [-7, -1], buffer: 1 }],
    ['constant shape far beyond its bytes', { name: 'big_const', type: 'FLOAT64', shape: [65536, 65536], buffer: 1 }],
    ['100k-character name', { name: 'x'.repeat(100000), type: 'INT8', shape: [1] }],
    ['string constant with a lying count', { name: 's', type: 'STRING', shape: [1], buffer: 2 }],
    ['unknown tensor type', { name: 'u', type: 'INT8', shape: [1] }],
  ];
  for (const [label, tensor] of extremes) {
    add(label, {
      version: 3,
      subgraphs: [{ tensors: [tensor], inputs: [0], outputs: [0] }],
      buffers: [{}, { data: [1, 2, 3, 4] }, { data: [255, 255, 255, 127, 8, 0, 0, 0] }],
    });
  }

  // Raw flatbuffers the JSON route cannot make.
  {
    // One operator with a 40k-entry input list, referenced 40k times by the operators vector:
    // walking it naively is 1.6e9 steps. The reader's work budget must stop it.
    const n = 40000;
    const b = new Builder(1 << 20);
    const inputs = tfl.Operator.createInputsVector(b, new Array(n).fill(-1));
    tfl.Operator.startOperator(b);
    tfl.Operator.addInputs(b, inputs);
    const op = tfl.Operator.endOperator(b);
    const ops = tfl.SubGraph.createOperatorsVector(b, new Array(n).fill(op));
    tfl.SubGraph.startSubGraph(b);
    tfl.SubGraph.addOperators(b, ops);
    const sg = tfl.SubGraph.endSubGraph(b);
    const code = tfl.OperatorCode.createOperatorCode(b, 0, 0, 1, tfl.BuiltinOperator.ADD);
    const model = tfl.Model.createModel(b, 3, tfl.Model.createOperatorCodesVector(b, [code]), tfl.Model.createSubgraphsVector(b, [sg]), 0, tfl.Model.createBuffersVector(b, []), 0, 0, 0, 0, 0);
    tfl.Model.finishModelBuffer(b, model);
    out.push({ label: `shared operator table x${n} (quadratic work)`, bytes: b.asUint8Array().slice() });
  }
  {
    // A vtable whose soffset makes the table its own vtable, and a vector element pointing at the
    // vector: self-referential offsets.
    const base = flatcFromJson(fixtureJson());
    const dv = (u: Uint8Array): DataView => new DataView(u.buffer, u.byteOffset, u.byteLength);
    const a = base.slice();
    const root = dv(a).getUint32(0, true);
    dv(a).setInt32(root, 0, true);
    out.push({ label: 'root table is its own vtable', bytes: a });
    const c = base.slice();
    const r = dv(c).getUint32(0, true);
    const vt = r - dv(c).getInt32(r, true);
    const field = dv(c).getUint16(vt + 8, true); // Model.subgraphs
    const vec = r + field + dv(c).getUint32(r + field, true);
    dv(c).setUint32(vec + 4, 0, true); // subgraphs[0] -> offset 0 from itself
    out.push({ label: 'subgraph offset points at itself', bytes: c });
    const d = base.slice();
    dv(d).setUint32(0, d.length - 2, true);
    out.push({ label: 'root offset at the last bytes', bytes: d });
    const e = base.slice();
    dv(e).setUint32(0, 0xfffffff0, true);
    out.push({ label: 'root offset beyond 4 GiB', bytes: e });
  }

  // Empty and wrong-format files.
  out.push({ label: 'zero-length', bytes: new Uint8Array(0) });
  for (let n = 1; n < 12; n++) out.push({ label: `${n} bytes of TFL3 header`, bytes: Uint8Array.from([16, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33, 0, 0, 0].slice(0, n)) });
  out.push({ label: 'text', bytes: new TextEncoder().encode('this is not a model\n'.repeat(50)) });
  const rnd = prng(SEED ^ 0x55);
  for (let i = 0; i < 40; i++) {
    const b = new Uint8Array(8 + Math.floor(rnd() * 4096));
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
    if (i % 2 === 0) b.set([0x54, 0x46, 0x4c, 0x33], 4); // random bytes that pass match()
    out.push({ label: `random bytes #${i}${i % 2 === 0 ? ' with TFL3' : ''}`, bytes: b });
  }
  for (const f of corpusFiles(path.join(SHARED_MODELS, 'onnx'), '.onnx').slice(0, 8)) {
    out.push({ label: `ONNX file ${path.basename(f)}`, bytes: new Uint8Array(fs.readFileSync(f)) });
  }
  for (const f of corpusFiles(path.join(SHARED_MODELS, 'data', 'images'), '.jpg').slice(0, 2)) {
    out.push({ label: `JPEG ${path.basename(f)}`, bytes: new Uint8Array(fs.readFileSync(f)) });
  }
  return out;
}

// ---- the run -----------------------------------------------------------------------------------

test('TFLite reader survives >= 2,000 broken and hostile inputs', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const rnd = prng(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-tflite-fuzz-'));

  const outcomes = new Map<string, number>();
  const byKind = new Map<string, number>();
  const failures: string[] = [];
  let cases = 0;
  let maxMs = 0;
  let maxLabel = '';
  let maxWriteMs = 0;
  gc();
  const heapStart = process.memoryUsage().heapUsed;
  let heapMax = heapStart;

  const check = async (kind: string, label: string, bytes: Uint8Array, viaFile: boolean): Promise<void> => {
    cases++;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    let source: Parameters<typeof readTflite>[0] = { kind: 'bytes', bytes, name: 'fuzz.tflite' };
    if (viaFile) {
      const p = path.join(tmp, 'fuzz.tflite');
      fs.writeFileSync(p, bytes);
      source = { kind: 'file', path: p };
    }
    const t0 = performance.now();
    let ms = 0;
    let outcome: string;
    try {
      let m: Model;
      try {
        m = await readTflite(source);
      } finally {
        ms = performance.now() - t0;
      }
      outcome = 'opened';
      // What the rest of the app does next must not throw anything but ModelError either.
      summarize(m);
      const w0 = performance.now();
      try {
        writeTflite(m);
      } catch (e) {
        if (!(e instanceof ModelError)) throw e;
        outcome = `opened, write refused (${e.code})`;
      }
      maxWriteMs = Math.max(maxWriteMs, performance.now() - w0);
    } catch (e) {
      if (e instanceof ModelError) {
        outcome = e.code;
        if (!e.message || e.message.length < 10) failures.push(`${label}: ModelError without a useful message`);
      } else {
        outcome = 'ESCAPED';
        failures.push(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
    }
    if (ms > maxMs) {
      maxMs = ms;
      maxLabel = label;
    }
    if (ms > TIME_LIMIT_MS) failures.push(`${label}: took ${ms.toFixed(0)} ms`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (cases % 200 === 0) heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
  };

  try {
    for (const c of crafted()) await check('crafted/wrong-format', c.label, c.bytes, false);

    const files = corpusFiles(path.join(SHARED_MODELS, 'tflite'), '.tflite');
    assert.ok(files.length >= 19);
    for (const file of files) {
      const base = new Uint8Array(fs.readFileSync(file));
      const model = await readTflite({ kind: 'bytes', bytes: base });
      const ranges = structureRanges(model, base.length, base);
      const structSize = ranges.reduce((s, [a, b]) => s + b - a, 0);
      const structPos = (): number => {
        let k = int(structSize);
        for (const [a, b] of ranges) {
          if (k < b - a) return a + k;
          k -= b - a;
        }
        return 0;
      };
      const name = path.basename(file);
      const dv = (u: Uint8Array): DataView => new DataView(u.buffer, u.byteOffset, u.byteLength);

      // Truncations: the header, the end, and random cuts (mostly inside the structure).
      const cuts = new Set<number>([0, 1, 4, 7, 8, 12, 16, 32, base.length - 1, base.length - 4, Math.floor(base.length / 2)]);
      while (cuts.size < 40) cuts.add(rnd() < 0.7 ? structPos() : int(base.length));
      let i = 0;
      for (const cut of cuts) await check('truncation', `${name} cut at ${cut}`, base.subarray(0, cut), i++ % 8 === 0);

      // Byte flips in the structure.
      for (let k = 0; k < 30; k++) {
        const m = base.slice();
        const n = 1 + int(8);
        const where: number[] = [];
        for (let f = 0; f < n; f++) {
          const p = structPos();
          m[p] = int(256);
          where.push(p);
        }
        await check('byte flips', `${name} bytes ${where.join(',')} randomised`, m, k % 10 === 0);
      }

      // Absurd 32-bit values (offsets, lengths, indices) and 16-bit vtable entries.
      const absurd32 = [0x7fffffff, 0xffffffff, 0x80000000, base.length, base.length + 4, base.length - 4, 0, 1, 0xfffffffc];
      for (let k = 0; k < 30; k++) {
        const m = base.slice();
        const p = structPos() & ~3;
        const v = rnd() < 0.8 ? absurd32[int(absurd32.length)] : int(0x100000000);
        if (p + 4 <= m.length) dv(m).setUint32(p, v >>> 0, true);
        await check('absurd offsets/lengths', `${name} word at ${p} = 0x${(v >>> 0).toString(16)}`, m, false);
      }
      for (let k = 0; k < 10; k++) {
        const m = base.slice();
        const p = structPos() & ~1;
        const v = [0xffff, 0x7fff, 0x8000, 4, 0][int(5)];
        if (p + 2 <= m.length) dv(m).setUint16(p, v, true);
        await check('absurd vtable entries', `${name} u16 at ${p} = 0x${v.toString(16)}`, m, false);
      }
      // Splices: this file's head on another file's tail.
      const other = new Uint8Array(fs.readFileSync(files[int(files.length)]));
      const cut = structPos();
      const spliced = new Uint8Array(cut + Math.max(0, other.length - cut));
      spliced.set(base.subarray(0, cut));
      if (other.length > cut) spliced.set(other.subarray(cut), cut);
      await check('splices', `${name} head to ${cut} + other tail`, spliced, false);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  gc();
  const heapEnd = process.memoryUsage().heapUsed;
  heapMax = Math.max(heapMax, heapEnd);
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
  console.log(
    [
      `TFLite fuzz (seed 0x${SEED.toString(16)}): ${cases} inputs`,
      `  by kind: ${[...byKind].map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `  outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `  slowest read: ${maxMs.toFixed(1)} ms (${maxLabel}); slowest write of an opened mutant: ${maxWriteMs.toFixed(1)} ms`,
      `  heap: start ${mb(heapStart)}, peak sampled ${mb(heapMax)}, end after GC ${mb(heapEnd)} (growth ${mb(heapEnd - heapStart)})`,
    ].join('\n'),
  );
  assert.deepEqual(failures, []);
  assert.ok(cases >= 2000, `${cases} cases`);
  assert.ok(heapEnd - heapStart < 64 * 1048576, `heap grew by ${mb(heapEnd - heapStart)}`);
});
