/**
 * Hostile input: thousands of mutated real models (truncations, byte flips, absurd lengths),
 * synthetic deep nesting, empty and wrong-format files. Each must open or be refused with a
 * ModelError within 1 s; no other error type may escape, and what opens must summarise and write.
 * The PRNG is seeded, so a failure names its case and reproduces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ONNX_TESTDATA, SHARED_MODELS } from '../helpers/paths';
import { readOnnx } from '../../src/core/formats/onnx/reader';
import { writeOnnx } from '../../src/core/formats/onnx/writer';
import { onnxFormat } from '../../src/core/formats/onnx';
import { ModelError } from '../../src/core/errors';
import { summarize } from '../../src/core/summary';

const SEED = Number(process.env.QUANTLENS_FUZZ_SEED ?? 20240611);

import { mulberry32 } from '../../src/core/random';

const CORPUS = [
  path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12.onnx'),
  path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12-int8.onnx'),
  path.join(SHARED_MODELS, 'onnx', 'onnx-light', 'light_squeezenet.onnx'),
  path.join(ONNX_TESTDATA, 'node', 'test_loop11', 'model.onnx'),
  path.join(ONNX_TESTDATA, 'node', 'test_if_seq', 'model.onnx'),
  path.join(ONNX_TESTDATA, 'node', 'test_scan9_sum', 'model.onnx'),
  path.join(ONNX_TESTDATA, 'node', 'test_sequence_map_add_2_sequences', 'model.onnx'),
  path.join(ONNX_TESTDATA, 'node', 'test_constant', 'model.onnx'),
].filter((f) => fs.existsSync(f));

interface Case { name: string; bytes: Uint8Array; viaFile?: boolean }

function enc(num: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [];
  let tag = num * 8 + 2;
  while (tag >= 128) { head.push((tag & 0x7f) | 0x80); tag >>>= 7; }
  head.push(tag);
  let n = payload.length;
  while (n >= 128) { head.push((n & 0x7f) | 0x80); n >>>= 7; }
  head.push(n);
  return Buffer.concat([Uint8Array.from(head), payload]);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const HEADER = Uint8Array.of(0x08, 0x0a); // ir_version 10
const OPSET = enc(8, Buffer.concat([enc(1, new Uint8Array(0)), Uint8Array.of(0x10, 21)]));

/** If nodes nested `depth` deep. */
function nestedIf(depth: number): Uint8Array {
  let g = enc(1, Buffer.concat([enc(1, utf8('c')), enc(2, utf8('y')), enc(4, utf8('Identity'))]));
  for (let i = 0; i < depth; i++) {
    const attr = Buffer.concat([enc(1, utf8('then_branch')), Uint8Array.of(0xa0, 0x01, 5), enc(6, g)]);
    g = enc(1, Buffer.concat([enc(1, utf8('c')), enc(2, utf8('y')), enc(4, utf8('If')), enc(5, attr)]));
  }
  return Buffer.concat([HEADER, enc(7, g), OPSET]);
}

/** A value_info whose type is sequence(sequence(...)) `depth` deep. */
function nestedType(depth: number): Uint8Array {
  let t = enc(1, Uint8Array.of(0x08, 0x01)); // tensor_type { elem_type: FLOAT }
  for (let i = 0; i < depth; i++) t = enc(4, enc(1, t)); // sequence_type { elem_type: t }
  const vi = Buffer.concat([enc(1, utf8('x')), enc(2, t)]);
  return Buffer.concat([HEADER, enc(7, enc(11, vi)), OPSET]);
}

/** Unknown length-delimited fields nested inside each other inside a node. */
function nestedUnknown(depth: number): Uint8Array {
  let m: Uint8Array = utf8('z');
  for (let i = 0; i < depth; i++) m = enc(99, m);
  return Buffer.concat([HEADER, enc(7, enc(1, Buffer.concat([enc(4, utf8('Relu')), m]))), OPSET]);
}

function buildCases(): Case[] {
  const rnd = mulberry32(SEED);
  const int = (n: number): number => Math.floor(rnd() * n);
  const cases: Case[] = [];
  for (const file of CORPUS) {
    const orig = new Uint8Array(fs.readFileSync(file));
    const base = path.basename(path.dirname(file)) + '/' + path.basename(file);
    // Truncations: every early offset, then random ones.
    for (let cut = 0; cut < 48 && cut < orig.length; cut++) cases.push({ name: `${base} cut@${cut}`, bytes: orig.subarray(0, cut) });
    for (let i = 0; i < 60; i++) {
      const cut = int(orig.length);
      cases.push({ name: `${base} cut@${cut}`, bytes: orig.subarray(0, cut), viaFile: i % 15 === 0 });
    }
    // Byte flips.
    for (let i = 0; i < 110; i++) {
      const b = orig.slice();
      const n = 1 + int(8);
      const where: number[] = [];
      for (let k = 0; k < n; k++) {
        const p = int(b.length);
        b[p] = int(256);
        where.push(p);
      }
      cases.push({ name: `${base} flip@${where.join(',')}`, bytes: b, viaFile: i % 20 === 0 });
    }
    // Absurd varints: a maximal 10-byte varint, or a huge length, written over random offsets.
    for (let i = 0; i < 40; i++) {
      const b = orig.slice();
      const p = int(Math.max(1, b.length - 10));
      const huge = i % 2 ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] : [0x80, 0x80, 0x80, 0x80, 0x10];
      b.set(huge.slice(0, b.length - p), p);
      cases.push({ name: `${base} varint@${p}`, bytes: b });
    }
    // The graph field's length made absurd (field 7 is usually near the start).
    const gi = orig.indexOf(0x3a);
    if (gi >= 0 && gi + 6 < orig.length) {
      const b = orig.slice();
      b.set([0xff, 0xff, 0xff, 0xff, 0x0f], gi + 1);
      cases.push({ name: `${base} graph-length@${gi}`, bytes: b });
    }
  }
  // Synthetic deep nesting.
  for (const d of [10, 60, 65, 100, 1000, 3000]) cases.push({ name: `nested If x${d}`, bytes: nestedIf(d) });
  for (const d of [50, 99, 101, 1000, 3000]) cases.push({ name: `nested sequence type x${d}`, bytes: nestedType(d) });
  for (const d of [50, 200, 3000]) cases.push({ name: `nested unknown field x${d}`, bytes: nestedUnknown(d) });
  // Empty and wrong formats.
  cases.push({ name: 'zero-length', bytes: new Uint8Array(0) });
  cases.push({ name: 'zero-length file', bytes: new Uint8Array(0), viaFile: true });
  const jpeg = path.join(SHARED_MODELS, 'data', 'images', 'ort-examples', 'cat.jpg');
  if (fs.existsSync(jpeg)) cases.push({ name: 'jpeg renamed', bytes: fs.readFileSync(jpeg), viaFile: true });
  const tflite = findFirst(path.join(SHARED_MODELS, 'tflite'), '.tflite');
  if (tflite) cases.push({ name: 'tflite renamed', bytes: fs.readFileSync(tflite), viaFile: true });
  const gz = path.join(SHARED_MODELS, 'data', 'mnist', 't10k-labels-idx1-ubyte.gz');
  if (fs.existsSync(gz)) cases.push({ name: 'gzip renamed', bytes: fs.readFileSync(gz) });
  cases.push({ name: 'png header', bytes: Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13) });
  cases.push({ name: 'json text', bytes: utf8('{"graph": {"node": []}}') });
  for (let i = 0; i < 100; i++) {
    const b = new Uint8Array(1 + int(4096));
    for (let k = 0; k < b.length; k++) b[k] = int(256);
    cases.push({ name: `random #${i} (${b.length} bytes)`, bytes: b });
  }
  return cases;
}

function findFirst(dir: string, ext: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const r = findFirst(p, ext);
      if (r) return r;
    } else if (e.name.endsWith(ext)) return p;
  }
  return undefined;
}

const gc = (globalThis as { gc?: () => void }).gc;

test(`fuzzed ONNX input resolves or fails with a ModelError within 1 s (seed ${SEED})`, async (t) => {
  assert.ok(CORPUS.length >= 4, 'the fuzz corpus needs the shared models and libonnx-testdata');
  const cases = buildCases();
  assert.ok(cases.length >= 2000, `only ${cases.length} cases`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-onnx-fuzz-'));
  const escaped: string[] = [];
  const slow: string[] = [];
  const codes: Record<string, number> = {};
  let opened = 0;
  let maxMs = 0;
  let maxMsCase = '';
  let maxHeapMB = 0;
  try {
    for (const [i, c] of cases.entries()) {
      // A forced GC costs tens of ms: measure heap growth on every 10th case (and all synthetic ones).
      const measureHeap = !!gc && (i % 10 === 0 || !c.name.includes('@'));
      if (measureHeap) gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      try {
        const source = c.viaFile
          ? (() => { const f = path.join(dir, `case${i}.onnx`); fs.writeFileSync(f, c.bytes); return { kind: 'file' as const, path: f }; })()
          : { kind: 'bytes' as const, bytes: c.bytes };
        onnxFormat.match(c.bytes.subarray(0, 64));
        const m = await readOnnx(source);
        summarize(m);
        try {
          writeOnnx(m);
        } catch (e) {
          if (!(e instanceof ModelError)) throw e;
        }
        opened++;
      } catch (e) {
        if (e instanceof ModelError) {
          codes[e.code] = (codes[e.code] ?? 0) + 1;
          assert.ok(e.message.length > 10, `${c.name}: empty message`);
        } else {
          escaped.push(`${c.name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }
      const ms = performance.now() - t0;
      const heapMB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
      if (ms > maxMs) { maxMs = ms; maxMsCase = c.name; }
      if (measureHeap) maxHeapMB = Math.max(maxHeapMB, heapMB);
      if (ms > 1000) slow.push(`${c.name}: ${ms.toFixed(0)} ms`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const summary = `cases ${cases.length}, opened ${opened}, refused ${JSON.stringify(codes)}, max ${maxMs.toFixed(1)} ms (${maxMsCase}), max heap growth ${gc ? `${maxHeapMB.toFixed(1)} MB (sampled cases)` : 'not measured (run node with --expose-gc)'}`;
  t.diagnostic(summary);
  console.log(`[onnx-fuzz] ${summary}`);
  assert.deepEqual(escaped, [], 'only ModelErrors may escape');
  assert.deepEqual(slow, [], 'every case within 1 s');
  assert.ok(maxHeapMB < 256, `heap grew ${maxHeapMB.toFixed(1)} MB on one case`);
});
