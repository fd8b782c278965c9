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
 *
 * This module finds the files and their format and runs the format adapters (formats.ts, one
 * module per format); assign.ts turns their records into samples, synthetic.ts makes random data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordSamples, type Cursor } from './assign';
import { DataError } from './errors';
import { DATA_FORMATS, type ArrayRef, type DataFormat, type DataRecord, type FormatContext } from './format';
import { FORMAT_ADAPTERS, formatFromName, sniffFormat } from './formats';
import { resolveImagePreprocess, type ResolvedImagePreprocess } from './image';
import { checkInputs } from './inputs';
import type { CalibrationData, LoadOptions } from './options';
import { syntheticData } from './synthetic';
import type { Sample } from './tensor';

/** A folder holding one sample as one file per input (test_data_set_N/input_K.pb, x.npy, ...). */
async function* folderSampleRecord(dir: string, files: string[], kind: DataFormat, ctx: FormatContext): AsyncGenerator<DataRecord> {
  const adapter = FORMAT_ADAPTERS[kind];
  if (!adapter.oneInputPerFile) {
    throw new DataError('unsupported', `${dir}: a sample folder must hold one .pb, .npy or raw file per input, found ${kind} files`, { file: dir });
  }
  const named = new Map<string, ArrayRef>();
  const positional: ArrayRef[] = [];
  const pending: AsyncGenerator<DataRecord>[] = [];
  try {
    for (const f of files) {
      const gen = adapter.open(f, ctx);
      pending.push(gen);
      const r = await gen.next();
      if (r.done) continue;
      const ref = r.value.positional[0];
      // the array's own name (a TensorProto's), else the file's
      named.set(r.value.named.keys().next().value ?? path.basename(f, path.extname(f)), ref);
      positional.push(ref);
    }
    yield { where: dir, named, positional };
  } finally {
    for (const g of pending) await g.return(undefined);
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

class DataSource implements CalibrationData {
  readonly warnings: string[] = [];
  readonly synthetic = false;

  constructor(
    readonly source: string,
    readonly format: DataFormat | 'folder',
    readonly files: string[],
    private readonly open: (ctx: FormatContext) => AsyncGenerator<DataRecord>,
    private readonly ctxBase: Omit<FormatContext, 'warn'>,
  ) {}

  get image(): ResolvedImagePreprocess | undefined {
    return this.ctxBase.imagePre;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Sample> {
    const ctx: FormatContext = {
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
  const ctxBase: Omit<FormatContext, 'warn'> = { opts, maxBytes: opts.maxFileBytes ?? 1 << 30 };
  const earlyWarnings: string[] = [];
  const warn = (m: string) => earlyWarnings.push(m);
  const prepareImages = (kind: DataFormat) => {
    if (kind !== 'image') return;
    if (opts.inputs.length !== 1) throw new DataError('unsupported', `Images can feed a single-input model only (this one has ${opts.inputs.length} inputs)`);
    ctxBase.imagePre = resolveImagePreprocess(opts.inputs[0], opts.image);
  };

  let ds: DataSource;
  if (st.isFile()) {
    const kind = opts.format ?? formatFromName(abs) ?? (await sniffFormat(abs));
    if (!kind) throw new DataError('unsupported', `Cannot tell the format of ${abs} from its name or first bytes; set the data format (${DATA_FORMATS.join(', ')})`, { file: abs });
    prepareImages(kind);
    ds = new DataSource(abs, kind, [abs], (ctx) => FORMAT_ADAPTERS[kind].open(abs, ctx), ctxBase);
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
        for (const f of list) yield* FORMAT_ADAPTERS[picked.kind].open(f, ctx);
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
