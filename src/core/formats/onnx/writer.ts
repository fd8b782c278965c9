/**
 * ONNX writer: graph model -> ModelProto. The containers (model, graph, node, attribute, tensor)
 * are assembled here as lists of byte segments, where big tensor payloads stay references to
 * their source file until the moment they are written; small leaf messages come from the
 * generated protobufjs encoders. So a file write streams, and a > 2 GB model goes to external data
 * without ever being whole in memory.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ModelError } from '../../errors';
import type {
  Attribute, AttributeValue, Constant, Graph, Model, ModelFunction, Node, TensorType, Value,
} from '../../model';
import { onnx } from '../../generated/onnx/onnx';
import { jsToLong, stringToBytes, tensorTypeToPlain, type PlainType } from './convert';
import { dtypeToOnnx } from './dtypes';
import type { OnnxModelExtras } from './reader';
import { readFileRange } from './source';

export interface WriteOnnxOptions {
  /**
   * 'auto' (default): tensor data goes to an external file only when the model would pass
   * `sizeThreshold`; 'always': always (file writes only); 'never': fail instead.
   */
  externalData?: 'auto' | 'always' | 'never';
  /** Size past which 'auto' switches to external data. Default: just under protobuf's 2 GiB limit. */
  sizeThreshold?: number;
  /** Tensors smaller than this stay inside the model when external data is used (default 1024). */
  externalMinBytes?: number;
  /** File name of the external data, beside the output (default `<output file name>.data`). */
  externalLocation?: string;
}

const DEFAULT_THRESHOLD = 2_000_000_000;

type FileRef = { path: string; offset: number; length: number };
type Seg = Uint8Array | FileRef;

/** A message being assembled: its fields as segments, and their total length. */
class Msg {
  segs: Seg[] = [];
  len = 0;

  raw(b: Uint8Array): this {
    if (b.length) {
      this.segs.push(b);
      this.len += b.length;
    }
    return this;
  }

  private header(num: number, len: number): void {
    this.raw(varintBytes2(num * 8 + 2, len));
  }

  message(num: number, m: Msg): this {
    this.header(num, m.len);
    for (const s of m.segs) this.segs.push(s);
    this.len += m.len;
    return this;
  }

  bytes(num: number, seg: Seg): this {
    const n = seg instanceof Uint8Array ? seg.length : seg.length;
    this.header(num, n);
    if (n) {
      this.segs.push(seg);
      this.len += n;
    }
    return this;
  }
}

function varintBytes2(a: number, b: number): Uint8Array {
  const out: number[] = [];
  for (const v0 of [a, b]) {
    let v = v0;
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
  }
  return Uint8Array.from(out);
}

class Encoder {
  constructor(private readonly model: Model, private readonly ext: ExternalLayout | undefined) {}

  modelProto(): Msg {
    const m = this.model;
    const x = (m.formatExtras ?? {}) as OnnxModelExtras;
    const [pname, pversion] = x.producerName !== undefined || x.producerVersion !== undefined
      ? [x.producerName ?? '', x.producerVersion ?? '']
      : splitProducer(m.producer);
    const head: onnx.ModelProto.$Properties = {
      irVersion: m.formatVersion,
      opsetImport: m.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    };
    if (pname) head.producerName = pname;
    if (pversion) head.producerVersion = pversion;
    if (x.modelDomain) head.domain = x.modelDomain;
    if (x.modelVersion !== undefined) head.modelVersion = jsToLong(x.modelVersion);
    if (m.description) head.docString = m.description;
    const meta = Object.entries(m.metadata);
    if (meta.length) head.metadataProps = meta.map(([key, value]) => ({ key, value }));
    const out = new Msg().raw(onnx.ModelProto.encode(head).finish());
    out.message(7, this.graph(m.graphs[0], true));
    for (const t of x.trainingInfo ?? []) out.bytes(20, t);
    for (const f of m.functions) out.message(25, this.function(f));
    for (const c of x.configuration ?? []) out.bytes(26, c);
    return out;
  }

  graph(g: Graph, isMain: boolean): Msg {
    const out = new Msg();
    for (const n of g.nodes) out.message(1, this.node(n));
    const x = g.formatExtras ?? {};
    const small: onnx.GraphProto.$Properties = {};
    if (g.name) small.name = g.name;
    if (g.doc) small.docString = g.doc;
    const inits = new Set(g.initializers);
    // Inputs: the file's order when initializers were listed among them, else runtime inputs.
    const inputNames: string[] = [];
    const seen = new Set<string>();
    const order = Array.isArray(x.inputOrder) ? (x.inputOrder as string[]) : [];
    const runtime = new Set(g.inputs);
    for (const name of order) if ((runtime.has(name) || inits.has(name)) && !seen.has(name)) { inputNames.push(name); seen.add(name); }
    for (const name of g.inputs) if (!seen.has(name)) { inputNames.push(name); seen.add(name); }
    // IR < 4 requires every initializer to be a graph input.
    if (isMain && this.model.formatVersion < 4) for (const name of g.initializers) if (!seen.has(name)) { inputNames.push(name); seen.add(name); }
    small.input = inputNames.map((n) => valueInfo(g, n));
    small.output = g.outputs.map((n) => valueInfo(g, n));
    const outputs = new Set(g.outputs);
    const vi: onnx.ValueInfoProto.$Properties[] = [];
    for (const v of g.values.values()) {
      if (seen.has(v.name) || outputs.has(v.name) || inits.has(v.name) || !v.name) continue;
      if (!declared(v) && !v.formatExtras?.onnxType) continue;
      vi.push(valueInfo(g, v.name));
    }
    small.valueInfo = vi;
    if (Array.isArray(x.quantizationAnnotation)) small.quantizationAnnotation = x.quantizationAnnotation as onnx.TensorAnnotation.$Properties[];
    if (Array.isArray(x.metadataProps)) small.metadataProps = x.metadataProps as onnx.StringStringEntryProto.$Properties[];
    out.raw(onnx.GraphProto.encode(small).finish());
    for (const name of g.initializers) {
      const c = g.values.get(name)?.constant;
      if (!c) continue;
      if (c.data.kind === 'sparse') out.message(15, this.sparse(c, name));
      else out.message(5, this.tensor(c, name));
    }
    return out;
  }

  node(n: Node): Msg {
    const x = n.formatExtras ?? {};
    const small: onnx.NodeProto.$Properties = { input: n.inputs, output: n.outputs, opType: n.opType };
    if (n.name && !n.nameSynthesised) small.name = n.name;
    if (n.domain) small.domain = n.domain;
    if (n.doc) small.docString = n.doc;
    if (typeof x.overload === 'string' && x.overload) small.overload = x.overload;
    if (Array.isArray(x.metadataProps)) small.metadataProps = x.metadataProps as onnx.StringStringEntryProto.$Properties[];
    const out = new Msg().raw(onnx.NodeProto.encode(small).finish());
    for (const a of n.attributes) out.message(5, this.attribute(a));
    if (Array.isArray(x.deviceConfigurations)) for (const d of x.deviceConfigurations as Uint8Array[]) out.bytes(10, d);
    return out;
  }

  attribute(a: Attribute): Msg {
    const AT = onnx.AttributeProto.AttributeType;
    const small: onnx.AttributeProto.$Properties = { name: a.name };
    if (a.refAttrName) small.refAttrName = a.refAttrName;
    if (a.doc) small.docString = a.doc;
    const out = new Msg();
    const v: AttributeValue = a.value;
    const nested: ((m: Msg) => void)[] = [];
    switch (v.type) {
      case 'float': small.type = AT.FLOAT; small.f = v.value; break;
      case 'int': small.type = AT.INT; small.i = jsToLong(v.value); break;
      case 'bool': small.type = AT.INT; small.i = jsToLong(v.value ? 1 : 0); break;
      case 'string': small.type = AT.STRING; small.s = stringToBytes(v.value); break;
      case 'floats': small.type = AT.FLOATS; small.floats = v.value; break;
      case 'ints': small.type = AT.INTS; small.ints = v.value.map(jsToLong); break;
      case 'strings': small.type = AT.STRINGS; small.strings = v.value.map(stringToBytes); break;
      case 'tensor': small.type = AT.TENSOR; nested.push((m) => m.message(5, this.tensor(v.value, v.value.name))); break;
      case 'tensors': small.type = AT.TENSORS; nested.push((m) => { for (const t of v.value) m.message(10, this.tensor(t, t.name)); }); break;
      case 'sparse_tensor': small.type = AT.SPARSE_TENSOR; nested.push((m) => m.message(22, this.sparse(v.value, v.value.name))); break;
      case 'graph': small.type = AT.GRAPH; nested.push((m) => m.message(6, this.graph(v.value, false))); break;
      case 'graphs': small.type = AT.GRAPHS; nested.push((m) => { for (const g of v.value) m.message(11, this.graph(g, false)); }); break;
      case 'type': small.type = AT.TYPE_PROTO; small.tp = tensorTypeToPlain(v.value); break;
      case 'object': {
        const o = (v.value ?? {}) as { onnxAttributeType?: string; reference?: boolean; bytes?: Uint8Array; typeProto?: PlainType; typeProtos?: PlainType[]; tensors?: Constant[] };
        const code = o.onnxAttributeType ? (AT as unknown as Record<string, number>)[o.onnxAttributeType] : undefined;
        if (code === undefined) throw new ModelError('unsupported', `Attribute '${a.name}' holds a value ONNX cannot store.`);
        small.type = code;
        if (o.reference) break;
        if (code === AT.STRING && o.bytes) small.s = o.bytes;
        else if (code === AT.TYPE_PROTO && o.typeProto) small.tp = o.typeProto as onnx.TypeProto.$Properties;
        else if (code === AT.TYPE_PROTOS && o.typeProtos) small.typeProtos = o.typeProtos as onnx.TypeProto.$Properties[];
        else if (code === AT.SPARSE_TENSORS && o.tensors) {
          const list = o.tensors;
          nested.push((m) => { for (const t of list) m.message(23, this.sparse(t, t.name)); });
        }
        break;
      }
    }
    if (a.refAttrName && v.type === 'object') {
      // A reference to an enclosing function's attribute: type only, no value.
      out.raw(onnx.AttributeProto.encode(small).finish());
      return out;
    }
    out.raw(onnx.AttributeProto.encode(small).finish());
    for (const f of nested) f(out);
    return out;
  }

  tensor(c: Constant, name: string): Msg {
    const small: onnx.TensorProto.$Properties = { dataType: dtypeToOnnx(c.dtype) };
    if (c.shape.length) small.dims = c.shape;
    if (name) small.name = name;
    const x = c.formatExtras ?? {};
    if (typeof x.doc === 'string' && x.doc) small.docString = x.doc;
    if (Array.isArray(x.metadataProps)) small.metadataProps = x.metadataProps as onnx.StringStringEntryProto.$Properties[];
    const d = c.data;
    let payload: Seg | undefined;
    if (d.kind === 'strings') small.stringData = d.values.map(stringToBytes);
    else if (d.kind === 'bytes') payload = d.bytes;
    else if (d.kind === 'file') payload = { path: d.path, offset: d.offset, length: d.length };
    else if (d.kind === 'sparse') throw new ModelError('unsupported', `Tensor '${c.name}' is sparse where ONNX needs a dense tensor.`);
    const plen = payload ? payload.length : 0;
    if (payload && this.ext && plen >= this.ext.minBytes) {
      const offset = this.ext.place(payload);
      small.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      small.externalData = [
        { key: 'location', value: this.ext.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(plen) },
      ];
      payload = undefined;
    }
    const out = new Msg().raw(onnx.TensorProto.encode(small).finish());
    if (payload && plen) out.bytes(9, payload);
    return out;
  }

  sparse(c: Constant, name: string): Msg {
    if (c.data.kind !== 'sparse') return this.tensor(c, name);
    const out = new Msg();
    out.message(1, this.tensor(c.data.values, c.data.values.name || name));
    out.message(2, this.tensor(c.data.indices, c.data.indices.name));
    if (c.shape.length) out.raw(onnx.SparseTensorProto.encode({ dims: c.shape }).finish());
    return out;
  }

  function(f: ModelFunction): Msg {
    const x = f.formatExtras ?? {};
    const small: onnx.FunctionProto.$Properties = {
      name: f.name,
      input: f.inputs,
      output: f.outputs,
      attribute: f.attributeNames,
      opsetImport: f.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    };
    if (f.domain) small.domain = f.domain;
    if (f.overload) small.overload = f.overload;
    if (f.doc) small.docString = f.doc;
    if (Array.isArray(x.metadataProps)) small.metadataProps = x.metadataProps as onnx.StringStringEntryProto.$Properties[];
    const vi: onnx.ValueInfoProto.$Properties[] = [];
    for (const v of f.graph.values.values()) if (v.name && (v.type || v.formatExtras?.onnxType)) vi.push(valueInfo(f.graph, v.name));
    small.valueInfo = vi;
    const out = new Msg().raw(onnx.FunctionProto.encode(small).finish());
    for (const n of f.graph.nodes) out.message(7, this.node(n));
    if (Array.isArray(x.attributeDefaults)) for (const a of x.attributeDefaults as Attribute[]) out.message(11, this.attribute(a));
    return out;
  }
}

function splitProducer(p: string): [string, string] {
  const i = p.lastIndexOf(' ');
  return i > 0 && /\d/.test(p.slice(i + 1)) ? [p.slice(0, i), p.slice(i + 1)] : [p, ''];
}

/** The type to write for `v`: an inferred completion (Value.inferred) stays out of the file. */
function declared(v: Value): TensorType | null {
  return v.inferred && v.type === v.inferred.type ? v.inferred.declared : v.type;
}

function valueInfo(g: Graph, name: string): onnx.ValueInfoProto.$Properties {
  const v = g.values.get(name);
  const out: onnx.ValueInfoProto.$Properties = { name };
  if (!v) return out;
  const t = typeProtoFor(v);
  if (t) out.type = t as onnx.TypeProto.$Properties;
  if (v.description) out.docString = v.description;
  if (Array.isArray(v.formatExtras?.metadataProps)) out.metadataProps = v.formatExtras.metadataProps as onnx.StringStringEntryProto.$Properties[];
  return out;
}

/** The TypeProto for a value: the graph model's tensor type, or the kept ONNX type it cannot express. */
function typeProtoFor(v: Value): PlainType | undefined {
  const plain = v.formatExtras?.onnxType as PlainType | undefined;
  const t: TensorType | null = declared(v) ?? (v.constant ? { dtype: v.constant.dtype, shape: v.constant.shape } : null);
  if (plain && !plain.tensorType && !plain.sparseTensorType) return plain;
  if (!t) return plain;
  const fresh = tensorTypeToPlain(t);
  if (plain?.sparseTensorType) return { sparseTensorType: fresh.tensorType, denotation: plain.denotation };
  if (plain?.tensorType) {
    // Put denotations back where the shape still has the same rank.
    const dims = fresh.tensorType?.shape?.dim;
    const old = plain.tensorType.shape?.dim;
    if (dims && old && dims.length === old.length) dims.forEach((d, i) => { if (old[i].denotation) d.denotation = old[i].denotation; });
    if (plain.denotation) fresh.denotation = plain.denotation;
  }
  return fresh;
}

// --- external data layout --------------------------------------------------------------------

class ExternalLayout {
  size = 0;
  segs: Seg[] = [];
  constructor(readonly location: string, readonly minBytes: number) {}

  /** Appends a payload, page-aligned when big (so runtimes can map it), and returns its offset. */
  place(seg: Seg): number {
    const align = seg.length >= 1 << 20 ? 4096 : 64;
    const pad = (align - (this.size % align)) % align;
    if (pad) {
      this.segs.push(new Uint8Array(pad));
      this.size += pad;
    }
    const offset = this.size;
    this.segs.push(seg);
    this.size += seg.length;
    return offset;
  }
}

// --- public API ---------------------------------------------------------------------------------

function checkModel(model: Model): void {
  if (model.format !== 'onnx') throw new ModelError('unsupported', `Cannot write a ${model.format} model as ONNX.`);
  if (!model.graphs[0]) throw new ModelError('corrupt', 'The model has no main graph.');
}

/** The model as ONNX bytes in memory (data inline). Lazy tensor data is read from its file. */
export function writeOnnx(model: Model, options: WriteOnnxOptions = {}): Uint8Array {
  checkModel(model);
  if (options.externalData === 'always') {
    throw new ModelError('unsupported', 'External data needs a file to write beside: use writeOnnxFile.');
  }
  const msg = new Encoder(model, undefined).modelProto();
  const limit = Math.min(options.sizeThreshold ?? DEFAULT_THRESHOLD, 2 ** 31 - 1);
  if (msg.len > limit) {
    throw new ModelError('too-large', `The model is ${msg.len} bytes, past the ${limit}-byte limit of a single ONNX file; write it with writeOnnxFile, which moves weights to external data.`);
  }
  const out = new Uint8Array(msg.len);
  let o = 0;
  for (const s of msg.segs) {
    const b = s instanceof Uint8Array ? s : readFileRange(s.path, s.offset, s.length);
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/**
 * Writes the model to `outPath` atomically (temporary file + rename). Weights go to an external
 * data file beside it when the model would pass the size threshold, or on request.
 */
export async function writeOnnxFile(model: Model, outPath: string, options: WriteOnnxOptions = {}): Promise<void> {
  checkModel(model);
  const abs = path.resolve(outPath);
  const mode = options.externalData ?? 'auto';
  const threshold = Math.min(options.sizeThreshold ?? DEFAULT_THRESHOLD, 2 ** 31 - 1);
  let layout: ExternalLayout | undefined;
  let msg = new Encoder(model, undefined).modelProto();
  if (mode === 'always' || (mode === 'auto' && msg.len > threshold)) {
    const location = options.externalLocation ?? `${path.basename(abs)}.data`;
    if (path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
      throw new ModelError('unsafe-path', `External data location '${location}' must be a relative path inside the output folder.`);
    }
    layout = new ExternalLayout(location, options.externalMinBytes ?? 1024);
    msg = new Encoder(model, layout).modelProto();
  }
  if (msg.len > 2 ** 31 - 1) {
    throw new ModelError('too-large', `The model's structure alone is ${msg.len} bytes, past protobuf's 2 GiB limit.`);
  }
  if (mode === 'never' && msg.len > threshold) {
    throw new ModelError('too-large', `The model is ${msg.len} bytes, past ${threshold}, and external data was turned off.`);
  }
  const tmpModel = tempName(abs);
  const dataPath = layout ? path.join(path.dirname(abs), layout.location) : undefined;
  const tmpData = dataPath ? tempName(dataPath) : undefined;
  try {
    // Both files are written in full before either is renamed: the model being written may still
    // read its weights from the files it replaces.
    if (layout && tmpData) await writeSegments(tmpData, layout.segs);
    await writeSegments(tmpModel, msg.segs);
    if (layout && tmpData && dataPath) await fsp.rename(tmpData, dataPath);
    await fsp.rename(tmpModel, abs);
  } catch (e) {
    await fsp.rm(tmpModel, { force: true }).catch(() => undefined);
    if (tmpData) await fsp.rm(tmpData, { force: true }).catch(() => undefined);
    if (e instanceof ModelError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError('io', `Cannot write '${abs}' (${code ?? String(e)}).`, { cause: e });
  }
}

function tempName(p: string): string {
  return path.join(path.dirname(p), `.${path.basename(p)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
}

const COPY_CHUNK = 8 << 20;

async function writeSegments(file: string, segs: Seg[]): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    let pending: Uint8Array[] = [];
    let pendingLen = 0;
    const flush = async (): Promise<void> => {
      if (!pendingLen) return;
      const buf = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingLen);
      await writeAll(fh, buf);
      pending = [];
      pendingLen = 0;
    };
    for (const s of segs) {
      if (s instanceof Uint8Array) {
        pending.push(s);
        pendingLen += s.length;
        if (pendingLen >= COPY_CHUNK) await flush();
        continue;
      }
      await flush();
      await copyRange(fh, s);
    }
    await flush();
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: fsp.FileHandle, buf: Uint8Array): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done);
    done += bytesWritten;
  }
}

async function copyRange(fh: fsp.FileHandle, ref: FileRef): Promise<void> {
  let src: number;
  try {
    src = fs.openSync(ref.path, 'r');
  } catch (e) {
    throw new ModelError('io', `Cannot read tensor data from '${ref.path}' (${(e as NodeJS.ErrnoException).code}); was it moved after the model was opened?`, { cause: e });
  }
  try {
    const size = fs.fstatSync(src).size;
    if (ref.offset + ref.length > size) {
      throw new ModelError('io', `'${ref.path}' is shorter than when the model was opened; reopen the model.`);
    }
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, ref.length));
    let done = 0;
    while (done < ref.length) {
      const want = Math.min(buf.length, ref.length - done);
      const n = fs.readSync(src, buf, 0, want, ref.offset + done);
      if (n === 0) throw new ModelError('io', `'${ref.path}' ended early.`);
      await writeAll(fh, buf.subarray(0, n));
      done += n;
    }
  } finally {
    fs.closeSync(src);
  }
}
