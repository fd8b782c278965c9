/**
 * Calibration (and evaluation) data loaders: a file or a folder in, an async iterator of
 * samples out, each sample `{ [inputName]: {dtype, shape, data} }` checked against the model's
 * declared inputs.
 *
 * Formats: .npy, .npz, ONNX TensorProto .pb (also the test_data_set_N/input_K.pb layout),
 * IDX (MNIST, optionally gzip), JSON / JSON Lines / CSV, JPEG / PNG images with declared
 * pre-processing, and raw binary files (.bin / .raw, element type from the input).
 *
 * Memory stays bounded: a folder is read one file at a time; a stack of samples in a .npy, IDX
 * or raw file is read one sample at a time (positional reads, or streaming inflate for gzip).
 * .npz, JSON and images are read whole, one file at a time, up to `maxFileBytes`.
 *
 * Random data is produced only when asked for (`synthetic`), and then the result says so loudly.
 */
import { mulberry32 } from '../random';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { DType, Model } from '../model';
import { mainGraph } from '../model';
import { DataError } from './errors';
import { openFileSource, isGzipFile, readWholeFile } from './bytes';
import { openIdx } from './idx';
import { decodeImage, isImageBytes, preprocessImage, resolveImagePreprocess, type ImagePreprocess, type ResolvedImagePreprocess } from './image';
import { fortranToC, isNpy, npyHeaderSize, parseNpyHeader, parseNpz } from './npy';
import { planFor, type Plan } from './shape';
import { decodeTensorProto } from './tensorproto';
import {
  allocArray, arrayFromBytes, arrayFromNumbers, convertArray, elementCountOf, elementSize, dimsText,
  typeText, isSampleDType, type InputSpec, type Sample, type SampleTensor, type TensorArray,
} from './tensor';
import { csvNumbers, jsonSamples, jsonToSample, splitCsvLine, type TextArray, type TextSample } from './text';

export type DataFormat = 'npy' | 'npz' | 'pb' | 'idx' | 'json' | 'jsonl' | 'csv' | 'image' | 'raw';
export const DATA_FORMATS: readonly DataFormat[] = ['npy', 'npz', 'pb', 'idx', 'json', 'jsonl', 'csv', 'image', 'raw'];

export interface SyntheticOptions {
  /** Number of samples. */
  count: number;
  /** PRNG seed (default 1): the same seed gives the same data. */
  seed?: number;
  /** Uniform range; default [0, 1) for floats, [0, 10) for integers, {0,1} for bool. */
  low?: number;
  high?: number;
  /** Values for symbolic dims, by dim name (default 1). */
  dims?: Record<string, number>;
}

export interface LoadOptions {
  /** The model's inputs (see inputSpecsFromModel). */
  inputs: InputSpec[];
  /** Force a format (for a folder: read only files of this kind). Default: from names / bytes. */
  format?: DataFormat;
  /** Skip this many samples. */
  offset?: number;
  /** Stop after this many samples. */
  limit?: number;
  /** How 8-bit unsigned data (IDX, npy, raw) becomes float: '0-255' (default, unchanged) or '0-1'. */
  scale?: '0-1' | '0-255';
  /** Image pre-processing (images only). */
  image?: ImagePreprocess;
  /** Element type of raw .bin / .raw files. Default: the (single) input's type. */
  rawDType?: DType;
  /** CSV field separator. Default ','. */
  csvDelimiter?: string;
  /** Largest file read whole (.npz, JSON, images, Fortran-order .npy). Default 1 GiB. */
  maxFileBytes?: number;
  /** Produce seeded random data instead of reading files (source must be null). */
  synthetic?: SyntheticOptions;
}

export interface CalibrationData extends AsyncIterable<Sample> {
  /** The path read, or 'synthetic'. */
  readonly source: string;
  readonly format: DataFormat | 'folder' | 'synthetic';
  readonly synthetic: boolean;
  /** Set, loudly, for synthetic data. */
  readonly warning?: string;
  /** Things worth telling the user: files ignored, arrays ignored. Grows while iterating. */
  readonly warnings: string[];
  /** The files (or test_data_set folders) that are read, in order. */
  readonly files: string[];
  /** How images are turned into the input tensor, when the data is images. */
  readonly image?: ResolvedImagePreprocess;
}

export const SYNTHETIC_WARNING =
  'SYNTHETIC DATA: calibration used seeded random inputs, not real data. The ranges (and any accuracy figure) do not reflect real inputs.';

/** The main graph's runtime inputs as InputSpecs. */
export function inputSpecsFromModel(model: Model): InputSpec[] {
  const g = mainGraph(model);
  return g.inputs.map((name) => {
    const v = g.values.get(name);
    return { name, dtype: v?.type?.dtype ?? 'unknown', shape: v?.type?.shape ?? null };
  });
}

// ---------------------------------------------------------------------------------------------
// Arrays found in files, read lazily

interface ArrayRef {
  /** Element type in the file; for text, the declared dtype or 'float64'. */
  dtype: DType;
  /** Text numbers take the input's element type. */
  untyped?: boolean;
  /** null: a flat run of elements with no shape of its own (raw files, CSV rows). */
  shape: number[] | null;
  /** Elements in total. */
  length: number;
  where: string;
  /** `count` units from `from`: items along the first axis, or elements when shape is null. */
  read(from: number, count: number): Promise<TensorArray | number[]>;
}

interface DataRecord {
  where: string;
  named: Map<string, ArrayRef>;
  positional: ArrayRef[];
}

function memoryRef(t: SampleTensor, where: string): ArrayRef {
  const item = t.shape.length ? elementCountOf(t.shape.slice(1)) : 1;
  return {
    dtype: t.dtype, shape: t.shape, length: t.data.length, where,
    read: async (from, count) => (t.shape.length ? t.data.subarray(from * item, (from + count) * item) as TensorArray : t.data),
  };
}

function textRef(a: TextArray, where: string): ArrayRef {
  const item = a.shape && a.shape.length ? elementCountOf(a.shape.slice(1)) : 1;
  return {
    dtype: a.dtype ?? 'float64', untyped: true, shape: a.shape, length: a.values.length, where,
    read: async (from, count) => (a.shape && a.shape.length === 0 ? a.values : a.values.slice(from * item, (from + count) * item)),
  };
}

function textRecord(s: TextSample, where: string): DataRecord {
  const named = new Map<string, ArrayRef>();
  for (const [k, v] of s.named) named.set(k, textRef(v, `${where} "${k}"`));
  return { where, named, positional: s.positional.map((p) => textRef(p, where)) };
}

// ---------------------------------------------------------------------------------------------
// Formats -> records. Each generator owns its open files and closes them when done.

interface Ctx {
  opts: LoadOptions;
  maxBytes: number;
  warn(msg: string): void;
  imagePre?: ResolvedImagePreprocess;
}

async function* npyRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  const src = await openFileSource(file);
  try {
    const head = await src.read(0, Math.min(12, src.size ?? 12));
    const hsize = npyHeaderSize(head, file);
    const h = parseNpyHeader(await src.read(0, Math.min(hsize, src.size ?? hsize)), file);
    if ((src.size ?? 0) < h.dataOffset + h.dataLength) {
      throw new DataError('bad-file', `${file} is truncated: shape (${h.shape.join(', ')}) needs ${h.dataLength} bytes of ${h.dtype} data, the file has ${(src.size ?? 0) - h.dataOffset}`, { file });
    }
    let ref: ArrayRef;
    if (h.fortranOrder && h.shape.length > 1) {
      if (h.dataLength > ctx.maxBytes) throw new DataError('too-large', `${file}: a Fortran-order array is read whole and is above the ${ctx.maxBytes}-byte limit`, { file });
      const data = fortranToC(arrayFromBytes(h.dtype, await src.read(h.dataOffset, h.dataLength), h.littleEndian), h.dtype, h.shape);
      ref = memoryRef({ dtype: h.dtype, shape: h.shape, data }, file);
    } else {
      const size = elementSize(h.dtype);
      const itemBytes = (h.shape.length ? elementCountOf(h.shape.slice(1)) : 1) * size;
      ref = {
        dtype: h.dtype, shape: h.shape, length: h.dataLength / size, where: file,
        read: async (from, count) => arrayFromBytes(h.dtype, await src.read(h.dataOffset + from * itemBytes, count * itemBytes), h.littleEndian),
      };
    }
    yield { where: file, named: new Map([[path.basename(file, path.extname(file)), ref]]), positional: [ref] };
  } finally {
    await src.close();
  }
}

async function* npzRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  const arrays = parseNpz(await readWholeFile(file, ctx.maxBytes), file, ctx.maxBytes);
  const named = new Map<string, ArrayRef>();
  const positional: ArrayRef[] = [];
  for (const [k, t] of arrays) {
    const ref = memoryRef(t, `${file}:${k}`);
    named.set(k, ref);
    positional.push(ref);
  }
  yield { where: file, named, positional };
}

async function pbArray(file: string, ctx: Ctx): Promise<{ name: string; ref: ArrayRef }> {
  const t = decodeTensorProto(await readWholeFile(file, ctx.maxBytes), file);
  if (t.dtype === 'int4' || t.dtype === 'uint4') {
    throw new DataError('unsupported', `${file}: ${t.dtype} tensors are not supported as model inputs`, { file });
  }
  return { name: t.name, ref: memoryRef({ dtype: t.dtype, shape: t.shape, data: t.data }, file) };
}

async function* pbRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  const { name, ref } = await pbArray(file, ctx);
  yield { where: file, named: name ? new Map([[name, ref]]) : new Map(), positional: [ref] };
}

async function* idxRecords(file: string): AsyncGenerator<DataRecord> {
  const r = await openIdx(file);
  try {
    const { dtype, shape } = r.header;
    const ref: ArrayRef = {
      dtype, shape, length: elementCountOf(shape), where: file,
      read: async (from, count) => (await r.readItems(from, count)).data,
    };
    yield { where: file, named: new Map(), positional: [ref] };
  } finally {
    await r.close();
  }
}

async function* rawRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  const dtype = ctx.opts.rawDType ?? (ctx.opts.inputs.length === 1 ? ctx.opts.inputs[0].dtype : undefined);
  if (!dtype || !isSampleDType(dtype)) {
    throw new DataError('unsupported', `${file}: raw files carry no element type; set rawDType (the model has ${ctx.opts.inputs.length} inputs)`, { file });
  }
  const src = await openFileSource(file);
  try {
    const size = elementSize(dtype);
    const bytes = src.size ?? 0;
    if (bytes % size !== 0) {
      throw new DataError('bad-file', `${file} has ${bytes} bytes, not a whole number of ${dtype} elements (${size} bytes each)`, { file });
    }
    const ref: ArrayRef = {
      dtype, shape: null, length: bytes / size, where: file,
      read: async (from, count) => arrayFromBytes(dtype, await src.read(from * size, count * size)),
    };
    yield { where: file, named: new Map(), positional: [ref] };
  } finally {
    await src.close();
  }
}

async function* jsonRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  const text = new TextDecoder().decode(await readWholeFile(file, ctx.maxBytes));
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DataError('bad-file', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  const samples = jsonSamples(doc, file, ctx.opts.inputs.length === 1);
  for (let i = 0; i < samples.length; i++) yield textRecord(samples[i], samples.length > 1 ? `${file}[${i}]` : file);
}

async function* lines(file: string): AsyncGenerator<{ n: number; line: string }> {
  const stream = fs.createReadStream(file, { encoding: 'utf8' });
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      yield { n, line };
    }
  } catch (e) {
    throw new DataError('io', `Cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
  } finally {
    rl.close();
    stream.destroy();
  }
}

async function* jsonlRecords(file: string): AsyncGenerator<DataRecord> {
  for await (const { n, line } of lines(file)) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new DataError('bad-file', `${file} line ${n} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
    }
    yield textRecord(jsonToSample(v, `${file}:${n}`), `${file}:${n}`);
  }
}

async function* csvRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  if (ctx.opts.inputs.length !== 1) {
    throw new DataError('unsupported', `${file}: CSV rows can feed a single-input model only (this one has ${ctx.opts.inputs.length} inputs); use JSON or .npz`, { file });
  }
  const delim = ctx.opts.csvDelimiter ?? ',';
  let width = -1;
  for await (const { n, line } of lines(file)) {
    if (!line.trim()) continue;
    const fields = splitCsvLine(line, delim);
    const nums = csvNumbers(fields);
    if (!nums) {
      if (width < 0 && n === 1) continue; // header
      throw new DataError('bad-file', `${file} line ${n}: "${line.slice(0, 60)}" is not a row of numbers`, { file });
    }
    if (width >= 0 && nums.length !== width) {
      throw new DataError('bad-file', `${file} line ${n} has ${nums.length} values, earlier rows have ${width}`, { file });
    }
    width = nums.length;
    yield textRecord({ named: new Map(), positional: [{ values: nums, shape: null }] }, `${file}:${n}`);
  }
}

async function* imageRecords(file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  const pre = ctx.imagePre!;
  const input = ctx.opts.inputs[0];
  const toU8 = input.dtype === 'uint8';
  if (toU8 && (pre.scale !== '0-255' || pre.mean.some((m) => m !== 0) || pre.std.some((s) => s !== 1))) {
    throw new DataError('dtype-mismatch', `Input "${input.name}" is uint8: images feed it as 0-255 pixels, without mean/std (set image.scale to "0-255")`, { input: input.name });
  }
  const decode = async () => {
    const img = decodeImage(await readWholeFile(file, ctx.maxBytes), file);
    return preprocessImage(img, pre, file);
  };
  const convert = (d: Float32Array): TensorArray => {
    if (!toU8) return d;
    const out = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(d[i])));
    return out;
  };
  let shape: number[];
  let eager: TensorArray | undefined;
  if (pre.outHeight !== undefined) {
    shape = pre.layout === 'NCHW' ? [1, pre.channels, pre.outHeight, pre.outWidth!] : [1, pre.outHeight, pre.outWidth!, pre.channels];
  } else {
    const r = await decode();
    shape = r.shape;
    eager = convert(r.data);
  }
  const ref: ArrayRef = {
    dtype: toU8 ? 'uint8' : 'float32', shape, length: elementCountOf(shape), where: file,
    read: async () => eager ?? convert((await decode()).data),
  };
  yield { where: file, named: new Map(), positional: [ref] };
}

function recordsOf(kind: DataFormat, file: string, ctx: Ctx): AsyncGenerator<DataRecord> {
  switch (kind) {
    case 'npy': return npyRecords(file, ctx);
    case 'npz': return npzRecords(file, ctx);
    case 'pb': return pbRecords(file, ctx);
    case 'idx': return idxRecords(file);
    case 'raw': return rawRecords(file, ctx);
    case 'json': return jsonRecords(file, ctx);
    case 'jsonl': return jsonlRecords(file);
    case 'csv': return csvRecords(file, ctx);
    case 'image': return imageRecords(file, ctx);
  }
}

/** A folder holding one sample as one file per input (test_data_set_N/input_K.pb, x.npy, ...). */
async function* folderSampleRecord(dir: string, files: string[], kind: DataFormat, ctx: Ctx): AsyncGenerator<DataRecord> {
  if (kind !== 'pb' && kind !== 'npy' && kind !== 'raw') {
    throw new DataError('unsupported', `${dir}: a sample folder must hold one .pb, .npy or raw file per input, found ${kind} files`, { file: dir });
  }
  const named = new Map<string, ArrayRef>();
  const positional: ArrayRef[] = [];
  const pending: AsyncGenerator<DataRecord>[] = [];
  try {
    for (const f of files) {
      const base = path.basename(f, path.extname(f));
      if (kind === 'pb') {
        const { name, ref } = await pbArray(f, ctx);
        named.set(name || base, ref);
        positional.push(ref);
        continue;
      }
      const gen = recordsOf(kind, f, ctx);
      pending.push(gen);
      const r = await gen.next();
      if (r.done) continue;
      const ref = r.value.positional[0];
      named.set(base, ref);
      positional.push(ref);
    }
    yield { where: dir, named, positional };
  } finally {
    for (const g of pending) await g.return(undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Records -> samples

interface Cursor {
  skip: number;
  remaining: number;
}

function assign(rec: DataRecord, inputs: InputSpec[], ctx: Ctx): ArrayRef[] {
  const names = [...rec.named.keys()];
  if (rec.named.size) {
    const byName = inputs.map((i) => rec.named.get(i.name));
    if (byName.every((r) => r)) {
      const extra = names.filter((n) => !inputs.some((i) => i.name === n));
      if (extra.length && rec.positional.length !== 1) ctx.warn(`${rec.where}: ignored arrays not named after a model input: ${extra.join(', ')}`);
      return byName as ArrayRef[];
    }
  }
  if (inputs.length === 1 && rec.positional.length === 1) return [rec.positional[0]];
  if (rec.positional.length === inputs.length && (rec.named.size === 0 || names.every((n) => /^(arr_|input_?)\d+$/.test(n) || !inputs.some((i) => i.name === n)))) {
    return rec.positional;
  }
  const missing = inputs.filter((i) => !rec.named.has(i.name)).map((i) => `"${i.name}"`);
  throw new DataError(
    'missing-input',
    `${rec.where} has no data for input ${missing.join(', ')} (it holds ${names.length ? names.map((n) => `"${n}"`).join(', ') : `${rec.positional.length} unnamed array(s)`}; the model's inputs are ${inputs.map((i) => `"${i.name}"`).join(', ')})`,
    { input: missing[0]?.slice(1, -1), file: rec.where },
  );
}

function isFloatType(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

function planRef(ref: ArrayRef, input: InputSpec): { plan: Plan; units: number; count: number } {
  const shapeError = () =>
    new DataError(
      'shape-mismatch',
      `Input "${input.name}" expects ${typeText(input.dtype, input.shape)} but ${ref.where} holds ${ref.shape ? typeText(ref.untyped ? input.dtype : ref.dtype, ref.shape) : `${ref.length} values`} (a file holds one sample, or a stack of samples along its first axis)`,
      { input: input.name, expected: typeText(input.dtype, input.shape), actual: ref.shape ? dimsText(ref.shape) : `${ref.length} values`, file: ref.where },
    );
  if (!ref.untyped && isFloatType(ref.dtype) && !isFloatType(input.dtype)) {
    throw new DataError(
      'dtype-mismatch',
      `Input "${input.name}" expects ${typeText(input.dtype, input.shape)} but ${ref.where} holds ${typeText(ref.dtype, ref.shape)}: floating-point data cannot feed an integer input`,
      { input: input.name, expected: typeText(input.dtype, input.shape), actual: typeText(ref.dtype, ref.shape), file: ref.where },
    );
  }
  if (ref.shape === null) {
    // a flat run of values: the sample shape is the input's (symbolic dims 1)
    if (!input.shape) throw new DataError('shape-mismatch', `Input "${input.name}" has an unknown shape, so the ${ref.length} flat values in ${ref.where} cannot be shaped`, { input: input.name, file: ref.where });
    const sampleShape = input.shape.map((d) => (typeof d === 'number' ? d : 1));
    const per = elementCountOf(sampleShape);
    if (per === 0 || ref.length === 0 || ref.length % per !== 0) throw shapeError();
    return { plan: { kind: 'stack', count: ref.length / per, itemsPerSample: per, sampleShape }, units: per, count: ref.length / per };
  }
  const plan = planFor(ref.shape, input.shape);
  if (!plan) throw shapeError();
  if (plan.kind === 'stack') return { plan, units: plan.itemsPerSample, count: plan.count };
  return { plan, units: ref.shape.length ? ref.shape[0] : 1, count: 1 };
}

/** Bytes one read-ahead block may hold. */
const READ_AHEAD_BYTES = 1 << 20;

/**
 * Sequential reads of one sample (`unitsPerSample` units) at a time, served from blocks of several
 * samples: one file read (a thread-pool round trip) per block instead of one per sample. Reads at
 * most `samplesWanted` samples ahead. Each returned array is a view into the block: the caller
 * converts or copies it, so no block outlives its samples.
 */
function readAhead(ref: ArrayRef, unitsPerSample: number, samplesWanted: number): ArrayRef['read'] {
  const perUnit = ref.shape ? elementCountOf(ref.shape.slice(1)) : 1;
  const totalUnits = ref.shape ? (ref.shape[0] ?? 1) : ref.length;
  const sampleBytes = Math.max(1, unitsPerSample * perUnit * elementSize(ref.dtype));
  const samplesPerBlock = Math.max(1, Math.min(samplesWanted, Math.floor(READ_AHEAD_BYTES / sampleBytes)));
  let start = 0;
  let end = 0;
  let block: TensorArray | undefined;
  let left = samplesWanted;
  return async (from, count) => {
    if (!block || from < start || from + count > end) {
      const n = Math.min(Math.max(count, Math.min(samplesPerBlock, Math.max(1, left)) * unitsPerSample), totalUnits - from);
      // typed refs only (untyped text is read per sample): the result is a typed array
      block = await ref.read(from, n) as TensorArray;
      start = from;
      end = from + n;
    }
    left--;
    const a = (from - start) * perUnit;
    return block.subarray(a, a + count * perUnit);
  };
}

async function* recordSamples(rec: DataRecord, ctx: Ctx, cur: Cursor): AsyncGenerator<Sample> {
  const inputs = ctx.opts.inputs;
  const refs = assign(rec, inputs, ctx);
  const plans = refs.map((r, i) => planRef(r, inputs[i]));
  const count = plans[0].count;
  for (let i = 1; i < plans.length; i++) {
    if (plans[i].count !== count) {
      throw new DataError('shape-mismatch', `${rec.where}: input "${inputs[0].name}" has ${count} samples but input "${inputs[i].name}" has ${plans[i].count}`, { input: inputs[i].name, file: rec.where });
    }
  }
  if (cur.skip >= count) { cur.skip -= count; return; }
  const viaBlock = refs.map((r, i) => plans[i].plan.kind === 'stack' && !r.untyped);
  const readers = refs.map((r, i) => (viaBlock[i] ? readAhead(r, plans[i].units, Math.min(count - cur.skip, cur.remaining)) : r.read.bind(r)));
  for (let k = cur.skip; k < count; k++) {
    cur.skip = 0;
    if (cur.remaining <= 0) return;
    const sample: Sample = {};
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      const ref = refs[i];
      const { plan, units } = plans[i];
      const raw = await readers[i](plan.kind === 'stack' ? k * units : 0, units);
      const where = count > 1 ? `${ref.where} (sample ${k})` : ref.where;
      let data: TensorArray;
      if (ref.untyped) {
        if (ref.dtype !== 'float64' && isFloatType(ref.dtype) !== isFloatType(input.dtype) && !isFloatType(input.dtype)) {
          throw new DataError('dtype-mismatch', `Input "${input.name}" expects ${input.dtype} but ${where} declares ${ref.dtype}`, { input: input.name, file: ref.where });
        }
        data = arrayFromNumbers(raw as number[], input.dtype, `Input "${input.name}" from ${where}`);
      } else {
        data = convertArray(raw as TensorArray, ref.dtype, input.dtype, {
          scale: ctx.opts.scale, input: input.name, where, shape: ref.shape ?? [ref.length], expectedShape: input.shape,
        });
        if (data === raw && viaBlock[i]) data = data.slice(); // not converted: a copy of its own
      }
      if (data.length !== elementCountOf(plan.sampleShape)) {
        throw new DataError('bad-file', `${where}: read ${data.length} values for input "${input.name}" but its shape ${dimsText(plan.sampleShape)} needs ${elementCountOf(plan.sampleShape)}`, { input: input.name, file: ref.where });
      }
      sample[input.name] = { dtype: input.dtype, shape: plan.sampleShape.slice(), data };
    }
    cur.remaining--;
    yield sample;
  }
}

// ---------------------------------------------------------------------------------------------
// Sources

const KIND_BY_NAME: [RegExp, DataFormat][] = [
  [/\.npy$/i, 'npy'], [/\.npz$/i, 'npz'], [/\.pb$/i, 'pb'], [/\.jsonl$|\.ndjson$/i, 'jsonl'], [/\.json$/i, 'json'],
  [/\.csv$/i, 'csv'], [/\.(jpe?g|png)$/i, 'image'], [/\.(bin|raw)$/i, 'raw'],
  [/(-idx\d+-u?byte|\.idx\d*(-u?byte)?)(\.gz)?$/i, 'idx'],
];

/** The format a file name suggests, or undefined. */
export function formatFromName(file: string): DataFormat | undefined {
  const base = path.basename(file);
  for (const [re, k] of KIND_BY_NAME) if (re.test(base)) return k;
  return undefined;
}

async function sniff(file: string): Promise<DataFormat | undefined> {
  if (isGzipFile(file)) return 'idx';
  const src = await openFileSource(file);
  try {
    const b = await src.read(0, Math.min(16, src.size ?? 0));
    if (isNpy(b)) return 'npy';
    if (b[0] === 0x50 && b[1] === 0x4b) return 'npz';
    if (isImageBytes(b)) return 'image';
    if (b.length >= 4 && b[0] === 0 && b[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(b[2])) return 'idx';
    const t = new TextDecoder().decode(b).trimStart();
    if (t.startsWith('{') || t.startsWith('[')) return 'json';
    return undefined;
  } finally {
    await src.close();
  }
}

function naturalSort(a: string[]): string[] {
  return a.sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
}

async function listDir(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError('io', `Cannot list ${dir}: ${(e as Error).message}`, { file: dir, cause: e });
  }
  const files: string[] = [];
  const dirs: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) dirs.push(p);
    else if (e.isFile() || e.isSymbolicLink()) files.push(p);
  }
  return { files: naturalSort(files), dirs: naturalSort(dirs) };
}

/** Picks the data files of one kind from a listing; others become a warning. */
function pickKind(files: string[], forced: DataFormat | undefined, where: string, warn: (m: string) => void): { kind: DataFormat; files: string[] } | null {
  const byKind = new Map<DataFormat, string[]>();
  const unknown: string[] = [];
  for (const f of files) {
    const k = formatFromName(f);
    if (!k) { unknown.push(f); continue; }
    if (!byKind.has(k)) byKind.set(k, []);
    byKind.get(k)!.push(f);
  }
  let kind = forced;
  if (!kind) {
    const ranked = [...byKind.entries()].sort((a, b) => b[1].length - a[1].length);
    if (!ranked.length) return null;
    if (ranked.length > 1 && ranked[0][1].length === ranked[1][1].length) {
      throw new DataError('unsupported', `${where} holds as many ${ranked[0][0]} files as ${ranked[1][0]} files; set the data format to choose`, { file: where });
    }
    kind = ranked[0][0];
  }
  const chosen = byKind.get(kind) ?? [];
  const ignored = files.filter((f) => !chosen.includes(f));
  if (ignored.length && chosen.length) {
    const names = ignored.map((f) => path.basename(f));
    warn(`${where}: ignored ${ignored.length} file(s) that are not ${kind} data: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`);
  }
  return chosen.length ? { kind, files: chosen } : null;
}

function checkInputs(inputs: InputSpec[]): void {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new DataError('unsupported', 'The model declares no inputs to feed');
  const seen = new Set<string>();
  for (const i of inputs) {
    if (seen.has(i.name)) throw new DataError('unsupported', `The model declares input "${i.name}" twice`);
    seen.add(i.name);
    if (!isSampleDType(i.dtype)) {
      throw new DataError('unsupported', `Input "${i.name}" has element type ${i.dtype}, which calibration data cannot feed`, { input: i.name, expected: typeText(i.dtype, i.shape) });
    }
  }
}

class DataSource implements CalibrationData {
  readonly warnings: string[] = [];
  readonly synthetic = false;

  constructor(
    readonly source: string,
    readonly format: DataFormat | 'folder',
    readonly files: string[],
    private readonly open: (ctx: Ctx) => AsyncGenerator<DataRecord>,
    private readonly ctxBase: Omit<Ctx, 'warn'>,
  ) {}

  get image(): ResolvedImagePreprocess | undefined {
    return this.ctxBase.imagePre;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Sample> {
    const ctx: Ctx = {
      ...this.ctxBase,
      warn: (m) => { if (!this.warnings.includes(m)) this.warnings.push(m); },
    };
    const cur: Cursor = { skip: Math.max(0, Math.floor(ctx.opts.offset ?? 0)), remaining: ctx.opts.limit ?? Infinity };
    if (cur.remaining <= 0) return;
    for await (const rec of this.open(ctx)) {
      yield* recordSamples(rec, ctx, cur);
      if (cur.remaining <= 0) return;
    }
  }
}

/**
 * Opens calibration data at a file or folder (or synthetic data when `source` is null and
 * `opts.synthetic` is set). Checks what can be checked without reading the data: the path, the
 * format, the inputs. Every sample is checked against the inputs as it is read.
 */
export async function openCalibrationData(source: string | null, opts: LoadOptions): Promise<CalibrationData> {
  checkInputs(opts.inputs);
  if (opts.format && !DATA_FORMATS.includes(opts.format)) {
    throw new DataError('unsupported', `Unknown data format "${opts.format}" (use ${DATA_FORMATS.join(', ')})`);
  }
  if (source === null || source === undefined || source === '') {
    if (!opts.synthetic) throw new DataError('no-data', 'No calibration data was given (random data is used only when explicitly requested)');
    return syntheticData(opts.inputs, opts.synthetic);
  }
  if (opts.synthetic) throw new DataError('unsupported', 'Synthetic data was requested together with a data path; choose one');
  const abs = path.resolve(source);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw new DataError('io', `Calibration data ${abs} does not exist or cannot be read: ${(e as Error).message}`, { file: abs, cause: e });
  }
  const ctxBase: Omit<Ctx, 'warn'> = { opts, maxBytes: opts.maxFileBytes ?? 1 << 30 };
  const earlyWarnings: string[] = [];
  const warn = (m: string) => earlyWarnings.push(m);
  const prepareImages = (kind: DataFormat) => {
    if (kind !== 'image') return;
    if (opts.inputs.length !== 1) throw new DataError('unsupported', `Images can feed a single-input model only (this one has ${opts.inputs.length} inputs)`);
    ctxBase.imagePre = resolveImagePreprocess(opts.inputs[0], opts.image);
  };

  let ds: DataSource;
  if (st.isFile()) {
    const kind = opts.format ?? formatFromName(abs) ?? (await sniff(abs));
    if (!kind) throw new DataError('unsupported', `Cannot tell the format of ${abs} from its name or first bytes; set the data format (${DATA_FORMATS.join(', ')})`, { file: abs });
    prepareImages(kind);
    ds = new DataSource(abs, kind, [abs], (ctx) => recordsOf(kind, abs, ctx), ctxBase);
  } else if (st.isDirectory()) {
    const { files, dirs } = await listDir(abs);
    const testInputs = files.filter((f) => /^input_\d+\.pb$/i.test(path.basename(f)));
    const picked = testInputs.length ? null : pickKind(files, opts.format, abs, warn);
    if (testInputs.length) {
      // one ONNX test_data_set folder: input_K.pb are the inputs of one sample, output_K.pb its expected outputs
      ds = new DataSource(abs, 'folder', [abs], (ctx) => folderSampleRecord(abs, testInputs, 'pb', ctx), ctxBase);
    } else if (picked) {
      prepareImages(picked.kind);
      const list = picked.files;
      ds = new DataSource(abs, 'folder', list, (ctx) => (async function* () {
        for (const f of list) yield* recordsOf(picked.kind, f, ctx);
      })(), ctxBase);
    } else if (dirs.length) {
      // one sub-folder per sample (test_data_set_N/input_K.pb)
      const samples: { dir: string; kind: DataFormat; files: string[] }[] = [];
      for (const d of dirs) {
        const inner = await listDir(d);
        // the ONNX test layout keeps expected outputs beside the inputs
        const p = pickKind(inner.files.filter((f) => !/^output_\d+\./i.test(path.basename(f))), opts.format, d, warn);
        if (p) samples.push({ dir: d, kind: p.kind, files: p.files });
      }
      if (!samples.length) throw new DataError('no-data', `${abs} holds no data files (nor do its sub-folders)`, { file: abs });
      ds = new DataSource(abs, 'folder', samples.map((s) => s.dir), (ctx) => (async function* () {
        for (const s of samples) yield* folderSampleRecord(s.dir, s.files, s.kind, ctx);
      })(), ctxBase);
    } else {
      throw new DataError('no-data', `${abs} holds no data files${opts.format ? ` of format ${opts.format}` : ''}`, { file: abs });
    }
  } else {
    throw new DataError('unsupported', `${abs} is neither a file nor a folder`, { file: abs });
  }
  ds.warnings.push(...earlyWarnings);
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Synthetic data

const prng = mulberry32;

/** Seeded random samples for the inputs, flagged with SYNTHETIC_WARNING. */
export function syntheticData(inputs: InputSpec[], o: SyntheticOptions): CalibrationData {
  checkInputs(inputs);
  if (!(Number.isInteger(o.count) && o.count > 0)) throw new DataError('unsupported', `Synthetic data needs a positive sample count, got ${o.count}`);
  const shapes = inputs.map((i) => {
    if (!i.shape) throw new DataError('unsupported', `Input "${i.name}" has an unknown shape; synthetic data needs one`, { input: i.name });
    return i.shape.map((d) => (typeof d === 'number' ? d : (d !== null && o.dims?.[d]) || 1));
  });
  return {
    source: 'synthetic',
    format: 'synthetic',
    synthetic: true,
    warning: SYNTHETIC_WARNING,
    warnings: [SYNTHETIC_WARNING],
    files: [],
    async *[Symbol.asyncIterator]() {
      const rnd = prng(o.seed ?? 1);
      for (let s = 0; s < o.count; s++) {
        const sample: Sample = {};
        inputs.forEach((inp, i) => {
          const n = elementCountOf(shapes[i]);
          const float = isFloatType(inp.dtype);
          const lo = o.low ?? 0;
          const hi = o.high ?? (inp.dtype === 'bool' ? 2 : float ? 1 : 10);
          const values = new Array<number>(n);
          for (let j = 0; j < n; j++) {
            const u = lo + (hi - lo) * rnd();
            values[j] = float ? u : Math.floor(u);
          }
          sample[inp.name] = { dtype: inp.dtype, shape: shapes[i].slice(), data: arrayFromNumbers(values, inp.dtype, `synthetic "${inp.name}"`) };
        });
        yield sample;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Batching

/**
 * Concatenates consecutive samples along the first axis into batches of up to `batchSize`
 * (the last may be smaller). Every input must have a symbolic (or unknown) first dim, since a
 * fixed one cannot take a larger batch.
 */
export async function* batchSamples(data: AsyncIterable<Sample>, batchSize: number, inputs: InputSpec[]): AsyncGenerator<Sample> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new DataError('unsupported', `Batch size must be a positive integer, got ${batchSize}`);
  if (batchSize > 1) {
    for (const i of inputs) {
      const d0 = i.shape?.[0];
      if (typeof d0 === 'number') {
        throw new DataError('shape-mismatch', `Input "${i.name}" has a fixed batch dimension of ${d0} (shape ${dimsText(i.shape)}), so samples cannot be batched ${batchSize} at a time`, { input: i.name, expected: dimsText(i.shape) });
      }
    }
  }
  let pending: Sample[] = [];
  const flush = (): Sample => {
    const out: Sample = {};
    for (const name of Object.keys(pending[0])) {
      const parts = pending.map((s) => s[name]);
      const first = parts[0];
      const rest = first.shape.slice(1);
      let n0 = 0;
      for (const p of parts) {
        if (p.shape.length !== first.shape.length || p.shape.slice(1).some((d, i) => d !== rest[i])) {
          throw new DataError('shape-mismatch', `Input "${name}": samples of shapes ${dimsText(first.shape)} and ${dimsText(p.shape)} cannot be batched together`, { input: name });
        }
        n0 += p.shape[0];
      }
      const data = allocArray(first.dtype, parts.reduce((a, p) => a + p.data.length, 0));
      let off = 0;
      for (const p of parts) { (data as Float32Array).set(p.data as Float32Array, off); off += p.data.length; }
      out[name] = { dtype: first.dtype, shape: [n0, ...rest], data };
    }
    pending = [];
    return out;
  };
  for await (const s of data) {
    if (batchSize === 1) { yield s; continue; }
    pending.push(s);
    if (pending.length === batchSize) yield flush();
  }
  if (pending.length) yield flush();
}
