/**
 * ONNX round trip against onnxruntime: every model of ONNX's own backend test data is read into
 * the graph model, written back, and the rewritten model is run in onnxruntime on the test's
 * input_*.pb. Its outputs must equal what onnxruntime gives for the ORIGINAL model, and must match
 * the spec's output_*.pb wherever the original does. Models onnxruntime cannot load or run even in
 * their original form are counted apart (they say nothing about the round trip).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ONNX_TESTDATA, SHARED_MODELS } from '../helpers/paths';
import { onnx } from '../../src/core/generated/onnx/onnx';
import { convertTensor } from '../../src/core/formats/onnx/convert';
import { readOnnx } from '../../src/core/formats/onnx/reader';
import { writeOnnx } from '../../src/core/formats/onnx/writer';
import { decodeNumbers } from '../../src/core/formats/onnx/dtypes';
import { allGraphs, elementCount, type Constant, type Model } from '../../src/core/model';

const RTOL = 1e-3;
const ATOL = 1e-7;

const ORT_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string', 'int4', 'uint4']);

function constantFromPb(file: string): Constant {
  const tp = onnx.TensorProto.decode(fs.readFileSync(file));
  return convertTensor(tp, file, { copyBytes: true, externals: [] });
}

function toOrt(c: Constant): ort.Tensor | undefined {
  if (!ORT_TYPES.has(c.dtype)) return undefined;
  const dims = c.shape;
  if (c.data.kind === 'strings') return new ort.Tensor('string', c.data.values, dims);
  if (c.data.kind !== 'bytes') return undefined;
  const b = new Uint8Array(c.data.bytes);
  const buf = b.buffer;
  switch (c.dtype) {
    case 'float32': return new ort.Tensor('float32', new Float32Array(buf), dims);
    case 'float64': return new ort.Tensor('float64', new Float64Array(buf), dims);
    case 'float16': return new ort.Tensor('float16', new Uint16Array(buf), dims);
    case 'int8': return new ort.Tensor('int8', new Int8Array(buf), dims);
    case 'uint8': return new ort.Tensor('uint8', b, dims);
    case 'int16': return new ort.Tensor('int16', new Int16Array(buf), dims);
    case 'uint16': return new ort.Tensor('uint16', new Uint16Array(buf), dims);
    case 'int32': return new ort.Tensor('int32', new Int32Array(buf), dims);
    case 'uint32': return new ort.Tensor('uint32', new Uint32Array(buf), dims);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(buf), dims);
    case 'uint64': return new ort.Tensor('uint64', new BigUint64Array(buf), dims);
    case 'bool': return new ort.Tensor('bool', b, dims);
    case 'int4': return new ort.Tensor('int4', b, dims);
    case 'uint4': return new ort.Tensor('uint4', b, dims);
    default: return undefined;
  }
}

/** Values of an ORT tensor as numbers / strings / bigints for comparison. */
function ortValues(t: ort.Tensor): (number | string | bigint)[] {
  const d = t.data as ArrayLike<number | string | bigint>;
  if (t.type === 'float16') return decodeNumbers('float16', new Uint8Array((d as Uint16Array).buffer, (d as Uint16Array).byteOffset, (d as Uint16Array).byteLength), t.size);
  if (t.type === 'int4' || t.type === 'uint4') {
    const u = d as Uint8Array;
    return decodeNumbers(t.type, new Uint8Array(u.buffer, u.byteOffset, u.byteLength), t.size);
  }
  return Array.from(d);
}

function constantValues(c: Constant): (number | string | bigint)[] {
  if (c.data.kind === 'strings') return c.data.values;
  if (c.data.kind !== 'bytes') return [];
  const b = new Uint8Array(c.data.bytes);
  if (c.dtype === 'int64') return Array.from(new BigInt64Array(b.buffer));
  if (c.dtype === 'uint64') return Array.from(new BigUint64Array(b.buffer));
  return decodeNumbers(c.dtype, b, elementCount(c.shape));
}

function close(a: number | string | bigint, e: number | string | bigint, exact: boolean): boolean {
  if (typeof a === 'number' && typeof e === 'number') {
    if (Number.isNaN(a) || Number.isNaN(e)) return Number.isNaN(a) && Number.isNaN(e);
    if (a === e) return true;
    if (exact) return false;
    return Math.abs(a - e) <= ATOL + RTOL * Math.abs(e);
  }
  return a === e;
}

/** undefined when equal, else a short reason. */
function compare(actual: ort.Tensor, expected: { dims: readonly number[]; values: (number | string | bigint)[] }, exact: boolean): string | undefined {
  if (actual.dims.join(',') !== expected.dims.join(',')) return `dims [${actual.dims}] vs [${expected.dims}]`;
  const a = ortValues(actual);
  if (a.length !== expected.values.length) return `${a.length} values vs ${expected.values.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!close(a[i], expected.values[i], exact)) return `element ${i}: ${String(a[i])} vs ${String(expected.values[i])}`;
  }
  return undefined;
}

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4, graphOptimizationLevel: 'basic' };

type Outputs = Record<string, ort.Tensor>;

async function runModel(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Outputs> {
  const s = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Same structure after a second read: what the reader sees must not change through the writer. */
function structureOf(m: Model): string {
  const parts: string[] = [];
  for (const g of allGraphs(m)) {
    parts.push(`${g.nodes.length}|${g.inputs.join(',')}|${g.outputs.join(',')}|${g.initializers.length}`);
    for (const n of g.nodes) parts.push(`${n.opType}:${n.domain}:${n.inputs.join(',')}>${n.outputs.join(',')}:${n.attributes.map((a) => a.name).join(',')}`);
  }
  return parts.join('\n');
}

interface Counts {
  models: number;
  opened: number;
  roundTripped: number;
  ortUnsupported: number;
  ran: number;
  matched: number;
  originalOffSpec: number;
  /** Why onnxruntime could not run the original, per model (reported, not asserted). */
  unsupported: string[];
  /** Outputs where onnxruntime's result for the original model already differs from the spec's. */
  offSpec: string[];
}

async function conformanceDir(dir: string, root: string, counts: Counts, failures: string[]): Promise<void> {
  const modelFile = path.join(dir, 'model.onnx');
  const name = path.relative(root, dir);
  counts.models++;
  let model: Model;
  try {
    model = await readOnnx({ kind: 'file', path: modelFile });
    counts.opened++;
  } catch (e) {
    failures.push(`${name}: open failed: ${(e as Error).message}`);
    return;
  }
  let rewritten: Uint8Array;
  try {
    rewritten = writeOnnx(model);
    const again = await readOnnx({ kind: 'bytes', bytes: rewritten });
    assert.equal(structureOf(again), structureOf(model), 'structure changed through the writer');
    counts.roundTripped++;
  } catch (e) {
    failures.push(`${name}: round trip failed: ${(e as Error).message}`);
    return;
  }
  const original = fs.readFileSync(modelFile);
  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  let ranAll = true;
  let matchedAll = true;
  for (const set of sets) {
    const sdir = path.join(dir, set);
    const files = fs.readdirSync(sdir);
    const inputFiles = files.filter((f) => /^input_\d+\.pb$/.test(f)).sort((a, b) => num(a) - num(b));
    const outputFiles = files.filter((f) => /^output_\d+\.pb$/.test(f)).sort((a, b) => num(a) - num(b));
    const g = model.graphs[0];
    const feeds: Record<string, ort.Tensor> = {};
    let usable = true;
    inputFiles.forEach((f, i) => {
      let c: Constant;
      try {
        c = constantFromPb(path.join(sdir, f));
      } catch {
        usable = false; // sequence / optional / map inputs are not TensorProtos
        return;
      }
      let t: ort.Tensor | undefined;
      try {
        t = toOrt(c);
      } catch {
        t = undefined;
      }
      if (!t) usable = false;
      else feeds[c.name || g.inputs[i]] = t;
    });
    let orig: Outputs;
    try {
      if (!usable) throw new Error('inputs onnxruntime-node cannot feed (non-tensor or unsupported dtype)');
      orig = await runModel(original, feeds);
    } catch (e) {
      counts.unsupported.push(`${name}: ${firstLine(e)}`);
      ranAll = false;
      break;
    }
    let round: Outputs;
    try {
      round = await runModel(rewritten, feeds);
    } catch (e) {
      failures.push(`${name}/${set}: the rewritten model does not run: ${(e as Error).message.split('\n')[0]}`);
      matchedAll = false;
      break;
    }
    for (const [key, t] of Object.entries(orig)) {
      const r = round[key];
      const why = r ? compare(r, { dims: t.dims, values: ortValues(t) }, true) : 'output missing';
      if (why) {
        failures.push(`${name}/${set}: output '${key}' differs from the original's: ${why}`);
        matchedAll = false;
      }
    }
    outputFiles.forEach((f, i) => {
      let exp: Constant;
      try {
        exp = constantFromPb(path.join(sdir, f));
      } catch {
        return;
      }
      const key = exp.name && orig[exp.name] ? exp.name : g.outputs[i];
      const o = orig[key];
      if (!o || exp.data.kind === 'none') return;
      const expected = { dims: exp.shape, values: constantValues(exp) };
      const off = compare(o, expected, false);
      if (off) {
        counts.originalOffSpec++; // onnxruntime itself disagrees with the spec here
        counts.offSpec.push(`${name}/${set} ${f}: ${off}`);
        return;
      }
      const why = round[key] ? compare(round[key], expected, false) : 'output missing';
      if (why) {
        failures.push(`${name}/${set}: output '${key}' does not match ${f}: ${why}`);
        matchedAll = false;
      }
    });
  }
  if (!ranAll || sets.length === 0) {
    if (sets.length === 0) counts.unsupported.push(`${name}: no test data`);
    counts.ortUnsupported++;
    return;
  }
  counts.ran++;
  if (matchedAll) counts.matched++;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);
}

function num(f: string): number {
  return Number(/_(\d+)\.pb$/.exec(f)?.[1] ?? 0);
}

function modelDirs(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).map((d) => path.join(root, d)).filter((d) => fs.existsSync(path.join(d, 'model.onnx'))).sort();
}

const GROUPS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

for (const group of GROUPS) {
  test(`ONNX round trip runs like the original: ${group}`, async (t) => {
    const dirs = modelDirs(path.join(ONNX_TESTDATA, group));
    assert.ok(dirs.length > 10, `expected the ${group} test models under ${ONNX_TESTDATA} (apt-get install libonnx-testdata)`);
    const counts: Counts = { models: 0, opened: 0, roundTripped: 0, ortUnsupported: 0, ran: 0, matched: 0, originalOffSpec: 0, unsupported: [], offSpec: [] };
    const failures: string[] = [];
    for (const d of dirs) await conformanceDir(d, ONNX_TESTDATA, counts, failures);
    for (const u of counts.unsupported) t.diagnostic(`ORT-unsupported ${u}`);
    for (const u of counts.offSpec) t.diagnostic(`ORT off-spec (original and rewritten compared with each other only) ${u}`);
    console.log(`[onnx-conformance] ${group}: models ${counts.models}, opened ${counts.opened}, round-tripped ${counts.roundTripped}, ran ${counts.ran}, matched ${counts.matched}, ORT-unsupported ${counts.ortUnsupported}, ORT off-spec outputs ${counts.originalOffSpec}`);
    assert.deepEqual(failures, []);
    assert.equal(counts.opened, counts.models);
    assert.equal(counts.roundTripped, counts.models);
    assert.equal(counts.matched, counts.ran);
    assert.ok(counts.ran > counts.models / 2, 'onnxruntime should run most of these models');
  });
}

// --- the shared real-world models --------------------------------------------------------------

function* onnxFiles(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* onnxFiles(p);
    else if (e.name.endsWith('.onnx')) yield p;
  }
}

/** Deterministic inputs from the session's metadata (symbolic dims become 1). */
function randomFeeds(session: ort.InferenceSession, seed: number): Record<string, ort.Tensor> | undefined {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const feeds: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) return undefined;
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    switch (meta.type) {
      case 'float32': feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rnd() * 2 - 1), dims); break;
      case 'uint8': feeds[meta.name] = new ort.Tensor('uint8', Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256)), dims); break;
      case 'int8': feeds[meta.name] = new ort.Tensor('int8', Int8Array.from({ length: n }, () => Math.floor(rnd() * 256) - 128), dims); break;
      case 'int64': feeds[meta.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 4))), dims); break;
      case 'int32': feeds[meta.name] = new ort.Tensor('int32', Int32Array.from({ length: n }, () => Math.floor(rnd() * 4)), dims); break;
      case 'float16': feeds[meta.name] = new ort.Tensor('float16', Uint16Array.from({ length: n }, () => 0x3c00 - Math.floor(rnd() * 0x400)), dims); break;
      default: return undefined;
    }
  }
  return feeds;
}

test('ONNX round trip of the shared models runs like the original', async (t) => {
  const root = path.join(SHARED_MODELS, 'onnx');
  const files = [...onnxFiles(root)].sort();
  assert.ok(files.length > 0, `no models under ${root}`);
  const counts: Counts = { models: 0, opened: 0, roundTripped: 0, ortUnsupported: 0, ran: 0, matched: 0, originalOffSpec: 0, unsupported: [], offSpec: [] };
  const failures: string[] = [];
  for (const file of files) {
    const dir = path.dirname(file);
    if (path.basename(file) === 'model.onnx' && fs.readdirSync(dir).some((d) => d.startsWith('test_data_set_'))) {
      await conformanceDir(dir, root, counts, failures);
      continue;
    }
    counts.models++;
    const name = path.relative(root, file);
    let model: Model;
    let rewritten: Uint8Array;
    try {
      model = await readOnnx({ kind: 'file', path: file });
      counts.opened++;
      rewritten = writeOnnx(model);
      const again = await readOnnx({ kind: 'bytes', bytes: rewritten });
      assert.equal(structureOf(again), structureOf(model));
      counts.roundTripped++;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
      continue;
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(fs.readFileSync(file), SESSION_OPTIONS);
    } catch (e) {
      counts.unsupported.push(`${name}: ${firstLine(e)}`);
      counts.ortUnsupported++;
      continue;
    }
    let orig: Outputs;
    let feeds: Record<string, ort.Tensor> | undefined;
    try {
      feeds = randomFeeds(session, 1234);
      if (!feeds) throw new Error('inputs this test cannot make');
      orig = await session.run(feeds);
    } catch (e) {
      counts.unsupported.push(`${name}: ${firstLine(e)}`);
      counts.ortUnsupported++;
      continue;
    } finally {
      await session.release();
    }
    counts.ran++;
    try {
      const round = await runModel(rewritten, feeds);
      let ok = true;
      for (const [key, o] of Object.entries(orig)) {
        const why = round[key] ? compare(round[key], { dims: o.dims, values: ortValues(o) }, true) : 'missing';
        if (why) {
          ok = false;
          failures.push(`${name}: output '${key}' differs: ${why}`);
        }
      }
      if (ok) counts.matched++;
    } catch (e) {
      failures.push(`${name}: the rewritten model does not run: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  for (const u of counts.unsupported) t.diagnostic(`ORT-unsupported ${u}`);
  console.log(`[onnx-conformance] shared models: models ${counts.models}, opened ${counts.opened}, round-tripped ${counts.roundTripped}, ran ${counts.ran}, matched ${counts.matched}, ORT-unsupported ${counts.ortUnsupported}`);
  assert.deepEqual(failures, []);
  assert.equal(counts.opened, counts.models);
  assert.equal(counts.roundTripped, counts.models);
  assert.equal(counts.matched, counts.ran);
});
