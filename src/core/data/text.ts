/**
 * Calibration data as text: JSON, JSON Lines and CSV. Text has no element types: numbers take
 * the model input's type (integers must be integral and in range).
 *
 * JSON: a sample is an object {inputName: value} (or, for a single-input model, just a value);
 * a file holds one sample or an array of samples. A value is a nested array of numbers (its
 * nesting gives the shape) or {"shape": [...], "data": [flat numbers]}; {"dtype": ...} is
 * accepted and checked. JSON Lines: one sample per line. CSV: one sample per row, a flat list
 * of numbers for the single input (a first row that is not all numbers is a header).
 * The adapters are in json.ts and csv.ts; this module parses and turns text values into records.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { DType } from '../model';
import { DataError } from './errors';
import type { ArrayRef, DataRecord } from './format';
import { elementCountOf } from './tensor';

/** A value from text: flat numbers, with a shape when the text gave one. */
export interface TextArray {
  values: number[];
  /** null: no shape given (a flat list), fitted by element count. */
  shape: number[] | null;
  dtype?: DType;
}

/** Flattens a rectangular nested array of numbers (or booleans). */
export function flattenNested(v: unknown, where: string): { shape: number[]; values: number[] } {
  const shape: number[] = [];
  let probe: unknown = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: number[] = [];
  const walk = (x: unknown, depth: number) => {
    if (depth === shape.length) {
      if (typeof x === 'number') values.push(x);
      else if (typeof x === 'boolean') values.push(x ? 1 : 0);
      else throw new DataError('bad-file', `${where}: expected a number, found ${JSON.stringify(x)?.slice(0, 40)}`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new DataError('bad-file', `${where}: nested arrays are not rectangular (expected ${shape[depth]} items at depth ${depth})`);
    }
    for (const y of x) walk(y, depth + 1);
  };
  walk(v, 0);
  return { shape, values };
}

/** One JSON value -> TextArray. */
export function jsonValueToArray(v: unknown, where: string): TextArray {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (!('data' in o)) throw new DataError('bad-file', `${where}: a tensor object needs "data" (and optionally "shape", "dtype")`);
    const flat = flattenNested(o.data, where);
    let shape: number[] | null = flat.shape.length === 1 ? null : flat.shape;
    if (o.shape !== undefined) {
      if (!Array.isArray(o.shape) || !o.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new DataError('bad-file', `${where}: "shape" must be a list of non-negative integers`);
      }
      shape = o.shape as number[];
      if (elementCountOf(shape) !== flat.values.length) {
        throw new DataError('bad-file', `${where}: shape [${shape.join(',')}] needs ${elementCountOf(shape)} values but "data" has ${flat.values.length}`);
      }
    }
    const out: TextArray = { values: flat.values, shape };
    if (typeof o.dtype === 'string') out.dtype = o.dtype as DType;
    return out;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return { values: [typeof v === 'boolean' ? (v ? 1 : 0) : v], shape: [] };
  const flat = flattenNested(v, where);
  return { values: flat.values, shape: flat.shape };
}

/** A sample from JSON: named arrays, or one positional array. */
export interface TextSample {
  named: Map<string, TextArray>;
  positional: TextArray[];
}

function isTensorObject(o: Record<string, unknown>): boolean {
  return 'data' in o && Object.keys(o).every((k) => k === 'data' || k === 'shape' || k === 'dtype');
}

export function jsonToSample(v: unknown, where: string): TextSample {
  if (v && typeof v === 'object' && !Array.isArray(v) && !isTensorObject(v as Record<string, unknown>)) {
    const named = new Map<string, TextArray>();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) named.set(k, jsonValueToArray(x, `${where} "${k}"`));
    return { named, positional: [] };
  }
  return { named: new Map(), positional: [jsonValueToArray(v, where)] };
}

/**
 * Samples of a JSON document: an array whose items are sample objects (or, for a
 * single-input model, values), or a single sample.
 */
export function jsonSamples(doc: unknown, where: string, singleInput: boolean): TextSample[] {
  if (Array.isArray(doc)) {
    const objects = doc.length > 0 && doc.every((x) => x && typeof x === 'object' && !Array.isArray(x));
    if (objects) return doc.map((x, i) => jsonToSample(x, `${where}[${i}]`));
    // a bare nested array: a single sample for a single-input model (the loader may split it)
    if (singleInput) return [jsonToSample(doc, where)];
    throw new DataError('bad-file', `${where}: for a model with several inputs, JSON samples must be objects {inputName: value}`);
  }
  return [jsonToSample(doc, where)];
}

/** Splits a CSV line (RFC 4180 quotes). */
export function splitCsvLine(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"') {
        if (line[i + 1] === '"') { cur += '"'; i++; } else q = false;
      } else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === delimiter) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Numbers of a CSV row, or null when some field is not a number (a header row). */
export function csvNumbers(fields: string[]): number[] | null {
  const out: number[] = [];
  for (const f of fields) {
    const t = f.trim();
    if (t === '') return null;
    const v = t === 'true' ? 1 : t === 'false' ? 0 : Number(t);
    if (Number.isNaN(v) && !/^nan$/i.test(t)) return null;
    out.push(v);
  }
  return out;
}

function textRef(a: TextArray, where: string): ArrayRef {
  const item = a.shape && a.shape.length ? elementCountOf(a.shape.slice(1)) : 1;
  return {
    dtype: a.dtype ?? 'float64', untyped: true, shape: a.shape, length: a.values.length, where,
    read: async (from, count) => (a.shape && a.shape.length === 0 ? a.values : a.values.slice(from * item, (from + count) * item)),
  };
}

/** A text sample as a record whose arrays take the input's element type. */
export function textRecord(s: TextSample, where: string): DataRecord {
  const named = new Map<string, ArrayRef>();
  for (const [k, v] of s.named) named.set(k, textRef(v, `${where} "${k}"`));
  return { where, named, positional: s.positional.map((p) => textRef(p, where)) };
}

/** The lines of a text file, numbered from 1, streamed. */
export async function* textLines(file: string): AsyncGenerator<{ n: number; line: string }> {
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
