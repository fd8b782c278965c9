/**
 * Labels for evaluation data, in data order or by file name:
 *   - an IDX file (MNIST's t10k-labels-idx1-ubyte[.gz]): one label (or a row of targets) per item;
 *   - JSON: a list of labels (numbers, or lists of numbers for regression targets), or an object
 *     {fileName: label};
 *   - CSV / TSV / text: one row per sample, of numbers; or rows whose first field is a file name
 *     (`file<TAB>class_index<TAB>wnid`), where a header names the label column
 *     (label, class_index, class, target or y) and otherwise the first numeric field is the label.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors';
import { isGzipFile } from '../data/bytes';
import { formatFromName, readIdx, splitCsvLine, type CalibrationData } from '../data';

export interface Labels {
  source: string;
  /** Labels in data order (sample i of the whole data set has list[i]). */
  list?: number[][];
  /** Labels by file name (the base name of the file a sample came from). */
  byName?: Map<string, number[]>;
}

const LABEL_COLUMNS = ['label', 'class_index', 'class', 'target', 'y'];

/** Reads a labels file (see the module comment for the formats). */
export async function readLabels(file: string): Promise<Labels> {
  const source = path.resolve(file);
  let bytes: Buffer;
  try {
    if (!fs.statSync(source).isFile()) throw new Error('not a file');
    if (formatFromName(source) === 'idx' || isGzipFile(source)) return { source, list: await idxLabels(source) };
    bytes = fs.readFileSync(source);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError('io', `Labels ${source} do not exist or cannot be read: ${(e as Error).message}`, { file: source, cause: e });
  }
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0) return { source, list: await idxLabels(source) };
  const text = bytes.toString('utf8');
  const trimmed = text.trimStart();
  if (/\.json$/i.test(source) || trimmed.startsWith('[') || trimmed.startsWith('{')) return { source, ...jsonLabels(text, source) };
  return { source, ...tableLabels(text, source) };
}

async function idxLabels(file: string): Promise<number[][]> {
  const t = await readIdx(file);
  const n = t.shape[0];
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) out.push(Array.from(t.data.subarray(i * width, (i + 1) * width) as ArrayLike<number>, Number));
  return out;
}

function asLabel(v: unknown, where: string): number[] {
  const flat = Array.isArray(v) ? v.flat(Infinity) : [v];
  if (!flat.length || !flat.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new DataError('bad-file', `${where}: a label must be a number or a list of numbers, found ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  return flat as number[];
}

function jsonLabels(text: string, source: string): Omit<Labels, 'source'> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DataError('bad-file', `Labels ${source} are not valid JSON: ${(e as Error).message}`, { file: source, cause: e });
  }
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && Array.isArray((doc as { labels?: unknown }).labels)) doc = (doc as { labels: unknown }).labels;
  if (Array.isArray(doc)) return { list: doc.map((v, i) => asLabel(v, `${source}[${i}]`)) };
  if (doc && typeof doc === 'object') {
    return { byName: new Map(Object.entries(doc as Record<string, unknown>).map(([k, v]) => [path.basename(k), asLabel(v, `${source} "${k}"`)])) };
  }
  throw new DataError('bad-file', `Labels ${source}: JSON labels are a list, {"labels": [...]} or {fileName: label}`, { file: source });
}

const isNumber = (s: string): boolean => s.trim() !== '' && Number.isFinite(Number(s.trim()));

function tableLabels(text: string, source: string): Omit<Labels, 'source'> {
  const lines = text.split(/\r?\n/).map((l, i) => ({ n: i + 1, l })).filter((x) => x.l.trim() !== '');
  if (!lines.length) throw new DataError('no-data', `Labels ${source} are empty`, { file: source });
  const delim = lines[0].l.includes('\t') ? '\t' : lines[0].l.includes(',') ? ',' : /\s/.test(lines[0].l.trim()) ? ' ' : ',';
  const split = (l: string): string[] => (delim === ' ' ? l.trim().split(/\s+/) : splitCsvLine(l, delim).map((f) => f.trim()));
  let rows = lines.map((x) => ({ n: x.n, f: split(x.l) }));
  // a header: a first row without a number, above rows of data
  let header: string[] | undefined;
  if (rows.length > 1 && !rows[0].f.some(isNumber)) {
    header = rows[0].f.map((h) => h.toLowerCase());
    rows = rows.slice(1);
  }
  const named = rows.length > 0 && !isNumber(rows[0].f[0]);
  if (!named) {
    return {
      list: rows.map((r) => {
        if (!r.f.every(isNumber)) throw new DataError('bad-file', `${source} line ${r.n}: "${r.f.join(delim).slice(0, 60)}" is not a row of numbers`, { file: source });
        return r.f.map(Number);
      }),
    };
  }
  const byHeader = header ? header.findIndex((h) => LABEL_COLUMNS.includes(h)) : -1;
  const byName = new Map<string, number[]>();
  for (const r of rows) {
    const col = byHeader > 0 ? byHeader : r.f.findIndex((f, i) => i > 0 && isNumber(f));
    if (col < 1 || !isNumber(r.f[col] ?? '')) throw new DataError('bad-file', `${source} line ${r.n}: no numeric label after the file name "${r.f[0]}"`, { file: source });
    const name = path.basename(r.f[0]);
    if (byName.has(name)) throw new DataError('bad-file', `${source} line ${r.n}: file "${name}" is labelled twice`, { file: source });
    byName.set(name, [Number(r.f[col])]);
  }
  return { byName };
}

/**
 * Gives each sample its label as the data is read: `next()` returns the label of the next sample
 * (in the order the data yields them, after `offset`), and `finish(count, exhausted)` checks the
 * labels matched the data's count. Mismatches are one DataError naming both counts.
 */
export function labelCursor(labels: Labels, data: CalibrationData, offset: number): { next(): number[]; finish(read: number, exhausted: boolean): void } {
  let i = 0;
  if (labels.list) {
    const list = labels.list;
    return {
      next: () => {
        const at = offset + i++;
        if (at >= list.length) {
          throw new DataError('shape-mismatch', `The labels do not match the data: ${labels.source} has ${list.length} labels, but the data has more than ${at} samples`, { file: labels.source });
        }
        return list[at];
      },
      finish: (read, exhausted) => {
        if (exhausted && offset + read !== list.length) {
          throw new DataError('shape-mismatch', `The labels do not match the data: ${labels.source} has ${list.length} labels, the data ${data.source} has ${offset + read} samples`, { file: labels.source });
        }
      },
    };
  }
  const byName = labels.byName!;
  const files = data.files;
  return {
    next: () => {
      const at = offset + i++;
      const file = files[at];
      if (file === undefined) {
        throw new DataError('shape-mismatch', `Labels by file name need one sample per file, but ${data.source} gives more samples than its ${files.length} files`, { file: labels.source });
      }
      const label = byName.get(path.basename(file));
      if (!label) throw new DataError('shape-mismatch', `${labels.source} has no label for ${path.basename(file)} (of ${data.source})`, { file: labels.source });
      return label;
    },
    finish: (read, exhausted) => {
      if (exhausted && offset + read !== files.length) {
        throw new DataError('shape-mismatch', `Labels by file name need one sample per file, but the ${files.length} files of ${data.source} gave ${offset + read} samples`, { file: labels.source });
      }
    },
  };
}
