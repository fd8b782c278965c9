/**
 * TFLite reader: a .tflite flatbuffer (schema v3, up to 3d) into the format-neutral graph model.
 *
 * Safety: every byte read goes through SafeByteBuffer (bounds-checked), every vector length is
 * checked against what is left of the file before it is walked, and a work budget proportional to
 * the file size stops files whose vectors share or overlap storage from multiplying the work.
 * Anything the generated accessors throw is turned into a ModelError.
 *
 * Laziness: constant data is never copied. File sources give {kind:'file', path, offset, length}
 * references; in-memory sources give subarray views.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { ModelError } from '../../errors';
import type { OpenOptions, ModelSource } from '../format';
import { DEFAULT_LIMITS } from '../format';
import {
  dtypeBits,
  type Attribute,
  type Constant,
  type Dim,
  type DType,
  type Graph,
  type Model,
  type Node,
  type QuantParams,
  type Signature,
  type TensorData,
  type Value,
} from '../../model';
import * as tfl from '../../generated/tflite/schema_generated';
import { MemorySource, PagedFileSource, SafeByteBuffer, type ByteSource } from './bytes';
import {
  builtinOpName,
  dtypeOfTensorType,
  INTEGER_DTYPES,
  optionsElementCount,
  optionsToAttributes,
  optionsUnionName,
  resolveBuiltinCode,
} from './schema-info';
import { decodeFlexbuffer, flexMapToAttributes } from './flex';
import {
  EXTRAS_KEY,
  opKey,
  type TfliteExtras,
  type TfliteGraphExtra,
  type TfliteMetadataEntry,
  type TfliteOpExtra,
  type TfliteOperatorCode,
  type TfliteQuantDetails,
  type TfliteSparseIndexVector,
  type TfliteSparsity,
  type TfliteTensorExtra,
} from './extras';

export const TFLITE_IDENTIFIER = 'TFL3';

/** 'TFL3' at bytes 4..8 (the flatbuffer file identifier). */
export function hasTfliteIdentifier(head: Uint8Array): boolean {
  return head.length >= 8 && head[4] === 0x54 && head[5] === 0x46 && head[6] === 0x4c && head[7] === 0x33;
}

interface BufferInfo {
  /** Absolute file offset of the bytes, and their count (0 = no data). */
  offset: number;
  length: number;
  /** Stored beyond the flatbuffer via Buffer.offset/size. */
  external: boolean;
}

/** Counts elements the reader walks; see the module comment. */
class Budget {
  private left: number;
  constructor(fileSize: number) {
    // A well-formed file spends at least one byte per element it stores (four for most).
    this.left = 2 * fileSize + 100_000;
  }
  take(n: number): void {
    this.left -= n;
    if (this.left < 0) {
      throw new ModelError('corrupt', 'The TFLite file is corrupt: its tables refer to far more elements than the file can hold (overlapping or shared structures).');
    }
  }
}

interface Ctx {
  bb: SafeByteBuffer;
  src: ByteSource;
  sourceKind: 'file' | 'bytes';
  filePath?: string;
  displayName: string;
  fileSize: number;
  budget: Budget;
  buffers: BufferInfo[];
  maxNodes: number;
  nodeCount: number;
  /** Folder external data files must stay inside (schema 3d external buffers). */
  baseDir?: string;
  /** ExternalBuffer id -> where its bytes are (filled only when a tensor uses one). */
  external?: Map<number, ExternalRef>;
  root?: tfl.Model;
}

interface ExternalRef {
  group: string;
  offset: bigint;
  length: bigint;
  packing: string;
}

export async function readTflite(source: ModelSource, options?: OpenOptions): Promise<Model> {
  const limits = { ...DEFAULT_LIMITS, ...options?.limits };
  let src: ByteSource;
  let filePath: string | undefined;
  if (source.kind === 'file') {
    filePath = path.resolve(source.path);
    src = PagedFileSource.open(filePath);
  } else {
    src = new MemorySource(source.bytes);
  }
  const displayName = filePath ? path.basename(filePath) : source.kind === 'bytes' && source.name ? path.basename(source.name) : 'The file';
  try {
    if (src.size === 0) throw new ModelError('empty', `${quote(displayName)} is empty (0 bytes).`);
    if (src.size < 8) throw new ModelError('truncated', `${quote(displayName)} is truncated: ${src.size} bytes is too short for a TFLite model.`);
    const head = src.slice(0, 8);
    if (!hasTfliteIdentifier(head)) {
      throw new ModelError('not-a-model', `${quote(displayName)} is not a TFLite model (no 'TFL3' identifier at byte 4).`);
    }
    const ctx: Ctx = {
      bb: new SafeByteBuffer(src),
      src,
      sourceKind: source.kind,
      filePath,
      displayName,
      fileSize: src.size,
      budget: new Budget(src.size),
      buffers: [],
      maxNodes: limits.maxNodes,
      nodeCount: 0,
      baseDir: options?.baseDir ? path.resolve(options.baseDir) : filePath ? path.dirname(filePath) : undefined,
    };
    return readModel(ctx);
  } catch (e) {
    throw asModelError(e, displayName);
  } finally {
    src.close();
  }
}

function quote(name: string): string {
  return name === 'The file' ? name : `'${name}'`;
}

/** Anything thrown while walking the flatbuffer becomes a ModelError naming the file. */
function asModelError(e: unknown, displayName: string): ModelError {
  if (e instanceof ModelError) {
    if (displayName !== 'The file' && !e.message.includes(displayName)) {
      return new ModelError(e.code, `${quote(displayName)}: ${e.message}`, { cause: e.cause });
    }
    return e;
  }
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new ModelError('corrupt', `${quote(displayName)} is a corrupt TFLite file (${msg}).`, { cause: e });
}

function readModel(ctx: Ctx): Model {
  const { bb } = ctx;
  const root = tfl.Model.getRootAsModel(bb);
  ctx.root = root;
  const version = root.version();

  // Buffers first: tensors and metadata refer to them by index.
  const nBuffers = root.buffersLength();
  ctx.budget.take(nBuffers);
  let usedBufferOffsets = false;
  for (let i = 0; i < nBuffers; i++) {
    const b = root.buffers(i);
    ctx.buffers.push(b ? readBuffer(ctx, b, i) : { offset: 0, length: 0, external: false });
    if (ctx.buffers[i].external) usedBufferOffsets = true;
  }

  const nCodes = root.operatorCodesLength();
  ctx.budget.take(nCodes);
  const operatorCodes: TfliteOperatorCode[] = [];
  for (let i = 0; i < nCodes; i++) {
    const c = root.operatorCodes(i);
    if (!c) throw new ModelError('corrupt', `The TFLite file is corrupt: operator code ${i} is missing.`);
    const custom = c.customCode();
    operatorCodes.push({
      deprecatedBuiltinCode: c.deprecatedBuiltinCode(),
      builtinCode: c.builtinCode(),
      customCode: custom === null ? undefined : custom,
      version: c.version(),
    });
  }

  const nSub = root.subgraphsLength();
  ctx.budget.take(nSub);
  if (nSub === 0) throw new ModelError('corrupt', 'The TFLite file has no subgraphs (a model needs at least one).');
  const graphs: Graph[] = [];
  const graphExtras: TfliteGraphExtra[] = [];
  for (let i = 0; i < nSub; i++) {
    const sg = root.subgraphs(i);
    if (!sg) throw new ModelError('corrupt', `The TFLite file is corrupt: subgraph ${i} is missing.`);
    const { graph, extra } = readSubgraph(ctx, sg, i, operatorCodes, nSub);
    graphs.push(graph);
    graphExtras.push(extra);
  }

  // Tensor-index -> value-name tables for signatures.
  const signatures: Signature[] = [];
  const nSig = root.signatureDefsLength();
  ctx.budget.take(nSig);
  for (let i = 0; i < nSig; i++) {
    const s = root.signatureDefs(i);
    if (!s) continue;
    const sgIndex = s.subgraphIndex();
    if (sgIndex >= nSub) {
      throw new ModelError('corrupt', `The TFLite file is corrupt: signature ${i} refers to subgraph ${sgIndex}, but there are ${nSub}.`);
    }
    const names = tensorNames(graphs[sgIndex]);
    const maps = (len: number, get: (j: number) => tfl.TensorMap | null, what: string): { name: string; value: string }[] => {
      ctx.budget.take(len);
      const out: { name: string; value: string }[] = [];
      for (let j = 0; j < len; j++) {
        const m = get(j);
        if (!m) continue;
        const t = m.tensorIndex();
        if (t >= names.length) {
          throw new ModelError('corrupt', `The TFLite file is corrupt: signature '${s.signatureKey() ?? i}' ${what} '${m.name() ?? j}' refers to tensor ${t}, but subgraph ${sgIndex} has ${names.length}.`);
        }
        out.push({ name: m.name() ?? '', value: names[t] });
      }
      return out;
    };
    signatures.push({
      key: s.signatureKey() ?? '',
      subgraphIndex: sgIndex,
      inputs: maps(s.inputsLength(), (j) => s.inputs(j), 'input'),
      outputs: maps(s.outputsLength(), (j) => s.outputs(j), 'output'),
    });
  }

  const metadata: Record<string, string> = {};
  const metadataEntries: TfliteMetadataEntry[] = [];
  const nMeta = root.metadataLength();
  ctx.budget.take(nMeta);
  for (let i = 0; i < nMeta; i++) {
    const m = root.metadata(i);
    if (!m) continue;
    const name = m.name() ?? '';
    const bi = m.buffer();
    if (bi >= ctx.buffers.length) {
      throw new ModelError('corrupt', `The TFLite file is corrupt: metadata '${name}' refers to buffer ${bi}, but there are ${ctx.buffers.length}.`);
    }
    const buf = ctx.buffers[bi];
    const shown = metadataText(ctx, buf);
    metadata[name] = shown;
    metadataEntries.push({ name, shown, bytes: dataRef(ctx, buf) });
  }

  const description = root.description() ?? '';
  const extras: TfliteExtras = {
    version,
    operatorCodes,
    graphs: graphExtras,
    metadata: metadataEntries,
    hadDescription: root.description() !== null,
    usedBufferOffsets,
  };

  return {
    format: 'tflite',
    path: ctx.filePath,
    fileSize: ctx.fileSize,
    producer: description,
    formatVersion: version,
    opsets: [],
    description: '',
    metadata,
    graphs,
    functions: [],
    signatures,
    formatExtras: { [EXTRAS_KEY]: extras },
  };
}

function tensorNames(g: Graph): string[] {
  return [...g.values.keys()];
}

function readBuffer(ctx: Ctx, b: tfl.Buffer, index: number): BufferInfo {
  const { bb } = ctx;
  const field = bb.__offset(b.bb_pos, 4); // Buffer.data
  if (field) {
    const { start, length } = ctx.bb.vectorExtent(b.bb_pos + field, 1);
    if (length > 0) return { offset: start, length, external: false };
  }
  const off = b.offset();
  const size = b.size();
  // offset <= 1 means "not stored beyond the flatbuffer" (the exporter writes 1 as a placeholder).
  if (off > 1n && size > 0n) {
    if (off + size > BigInt(ctx.fileSize)) {
      throw new ModelError(
        'truncated',
        `The TFLite file is truncated or corrupt: buffer ${index} claims ${size} bytes at offset ${off}, beyond the end of the ${ctx.fileSize}-byte file.`,
      );
    }
    return { offset: Number(off), length: Number(size), external: true };
  }
  return { offset: 0, length: 0, external: false };
}

function dataRef(ctx: Ctx, buf: BufferInfo): TensorData {
  if (buf.length === 0) return { kind: 'none' };
  if (ctx.sourceKind === 'file') return { kind: 'file', path: ctx.filePath!, offset: buf.offset, length: buf.length };
  return { kind: 'bytes', bytes: ctx.src.slice(buf.offset, buf.length) };
}

/** Metadata as text when it is text (min_runtime_version), else a short description. */
function metadataText(ctx: Ctx, buf: BufferInfo): string {
  if (buf.length === 0) return '';
  if (buf.length <= 4096) {
    const bytes = ctx.src.slice(buf.offset, buf.length);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    const body = bytes.subarray(0, end);
    let printable = end > 0;
    for (const c of body) if (c === 0 || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) printable = false;
    if (printable) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(body);
      } catch {
        /* not UTF-8: fall through */
      }
    }
  }
  return `(binary, ${buf.length} bytes)`;
}

function readIntVector(ctx: Ctx, len: number, get: (i: number) => number | null): number[] {
  ctx.budget.take(len);
  // Grown by push, not preallocated: a lying length fails at its first out-of-file element.
  const out: number[] = [];
  for (let i = 0; i < len; i++) out.push(get(i) ?? 0);
  return out;
}

function readSubgraph(
  ctx: Ctx,
  sg: tfl.SubGraph,
  sgIndex: number,
  codes: TfliteOperatorCode[],
  nSub: number,
): { graph: Graph; extra: TfliteGraphExtra } {
  const fileName = sg.name() ?? '';
  const graphName = fileName || (sgIndex === 0 ? 'main' : `subgraph_${sgIndex}`);
  const where = `subgraph ${sgIndex}${fileName ? ` ('${fileName}')` : ''}`;
  const extra: TfliteGraphExtra = { fileName, tensors: {}, ops: {} };
  const dbg = sg.debugMetadataIndex();
  if (dbg !== -1) extra.debugMetadataIndex = dbg;

  // ---- tensors
  const nTensors = sg.tensorsLength();
  ctx.budget.take(nTensors);
  const rawTensors: tfl.Tensor[] = [];
  let anyHasRank = false;
  for (let i = 0; i < nTensors; i++) {
    const t = sg.tensors(i);
    if (!t) throw new ModelError('corrupt', `The TFLite file is corrupt: tensor ${i} of ${where} is missing.`);
    rawTensors.push(t);
    if (t.hasRank()) anyHasRank = true;
  }

  // Unique names: keep the first occurrence, suffix '#index' on empties and duplicates.
  const names: string[] = [];
  const used = new Set<string>();
  const fileNames: string[] = [];
  for (let i = 0; i < nTensors; i++) {
    const raw = rawTensors[i].name() ?? '';
    fileNames.push(raw);
    let name = raw;
    if (name === '' || used.has(name)) {
      name = `${raw}#${i}`;
      while (used.has(name)) name = `${name}#${i}`;
    }
    used.add(name);
    names.push(name);
  }

  const values = new Map<string, Value>();
  const initializers: string[] = [];
  for (let i = 0; i < nTensors; i++) {
    const { value, tensorExtra } = readTensor(ctx, rawTensors[i], i, names, where, anyHasRank);
    if (fileNames[i] !== names[i]) tensorExtra.fileName = fileNames[i];
    if (Object.keys(tensorExtra).length) extra.tensors[names[i]] = tensorExtra;
    values.set(names[i], value);
    if (value.constant) initializers.push(names[i]);
  }

  const tensorName = (idx: number, what: string, allowOmitted: boolean): string => {
    if (allowOmitted && idx === -1) return '';
    if (!Number.isInteger(idx) || idx < 0 || idx >= nTensors) {
      throw new ModelError('corrupt', `The TFLite file is corrupt: ${what} in ${where} refers to tensor ${idx}, but the subgraph has ${nTensors}.`);
    }
    return names[idx];
  };

  const inputIdx = readIntVector(ctx, sg.inputsLength(), (j) => sg.inputs(j));
  const outputIdx = readIntVector(ctx, sg.outputsLength(), (j) => sg.outputs(j));
  const inputs: string[] = [];
  const constantInputs: string[] = [];
  for (const idx of inputIdx) {
    const n = tensorName(idx, 'a subgraph input', false);
    if (values.get(n)!.constant) constantInputs.push(n);
    else inputs.push(n);
  }
  if (constantInputs.length) extra.constantInputs = constantInputs;
  const outputs = outputIdx.map((idx) => tensorName(idx, 'a subgraph output', false));

  // ---- operators
  const nOps = sg.operatorsLength();
  ctx.budget.take(nOps);
  ctx.nodeCount += nOps;
  if (ctx.nodeCount > ctx.maxNodes) {
    throw new ModelError('too-large', `The TFLite file has more than ${ctx.maxNodes} operators, beyond the reader's limit.`);
  }
  const nodes: Node[] = [];
  const nodeNames = new Set<string>();
  for (let i = 0; i < nOps; i++) {
    const op = sg.operators(i);
    if (!op) throw new ModelError('corrupt', `The TFLite file is corrupt: operator ${i} of ${where} is missing.`);
    const { node, opExtra } = readOperator(ctx, op, i, codes, where, tensorName, nSub);
    // Nodes have no names in TFLite: use the first output's name (unique per graph).
    let name = node.outputs.find((o) => o !== '') ?? `${node.opType}_${i}`;
    if (nodeNames.has(name)) name = `${name}#op${i}`;
    nodeNames.add(name);
    node.name = name;
    nodes.push(node);
    extra.ops[opKey(node, i)] = opExtra;
  }

  // Producers and consumers.
  nodes.forEach((node, ni) => {
    for (const o of node.outputs) {
      if (!o) continue;
      const v = values.get(o)!;
      if (v.producer === undefined) v.producer = ni;
    }
    const seen = new Set<string>();
    for (const inp of node.inputs) {
      if (!inp || seen.has(inp)) continue;
      seen.add(inp);
      values.get(inp)!.consumers.push(ni);
    }
  });

  // Quantization details that name other tensors by index were stored as indices; map to names.
  for (const te of Object.values(extra.tensors)) {
    const d = te.quantDetails;
    if (d && (d.type === 'BlockwiseQuantization' || d.type === 'MultiAxisQuantization')) {
      d.scales = indexRefToName(d.scales, names);
      d.zeroPoints = indexRefToName(d.zeroPoints, names);
    }
  }

  const graph: Graph = { name: graphName, nodes, values, inputs, outputs, initializers };
  return { graph, extra };
}

function indexRefToName(ref: string, names: string[]): string {
  const i = Number(ref.slice(1));
  return ref.startsWith('#') && Number.isInteger(i) && i >= 0 && i < names.length ? names[i] : '';
}

function readTensor(
  ctx: Ctx,
  t: tfl.Tensor,
  index: number,
  names: string[],
  where: string,
  anyHasRank: boolean,
): { value: Value; tensorExtra: TfliteTensorExtra } {
  const name = names[index];
  const te: TfliteTensorExtra = {};
  const typeCode = t.type();
  const dtype = dtypeOfTensorType(typeCode);
  if (dtype === 'unknown') te.typeCode = typeCode;

  const rawShape = readIntVector(ctx, t.shapeLength(), (j) => t.shape(j));
  const sigLen = t.shapeSignatureLength();
  const signature = sigLen > 0 ? readIntVector(ctx, sigLen, (j) => t.shapeSignature(j)) : null;
  const hasRank = t.hasRank();
  if (hasRank) te.hasRank = true;
  if (signature) te.shapeSignature = true;

  // The buffer (constant data), if any.
  const bufIndex = t.buffer();
  if (bufIndex >= ctx.buffers.length) {
    throw new ModelError('corrupt', `The TFLite file is corrupt: tensor '${name}' in ${where} refers to buffer ${bufIndex}, but there are ${ctx.buffers.length}.`);
  }
  let buf = bufIndex === 0 ? undefined : ctx.buffers[bufIndex];
  let external: TensorData | undefined;
  const extId = t.externalBuffer();
  if (extId !== 0) {
    const ref = externalRef(ctx, extId, name, where);
    external = ref.data;
    buf = { offset: 0, length: ref.data.length, external: true };
    if (ref.packing) te.externalPacking = ref.packing;
  }
  const hasData = buf !== undefined && buf.length > 0;

  // Shape: -1 in shape_signature (or in an old-style shape) is an unknown dim.
  let shape: Dim[] | null;
  if (signature && signature.length === rawShape.length) {
    shape = signature.map((d, j) => (d < 0 ? null : rawShape[j] >= 0 ? rawShape[j] : d));
    if (signature.some((d) => d < 0)) te.shape = rawShape;
  } else if (signature && rawShape.length === 0) {
    shape = signature.map((d) => (d < 0 ? null : d));
  } else {
    shape = rawShape.map((d) => (d < 0 ? null : d));
  }
  // An empty shape is a scalar unless the converter marks ranks (has_rank) and this one has none.
  if (rawShape.length === 0 && !signature && !hasRank && anyHasRank && !hasData) shape = null;

  const value: Value = { name, type: { dtype, shape }, consumers: [] };
  if (t.isVariable()) value.isVariable = true;

  const descriptions: string[] = [];

  // Sparsity: the buffer holds the compressed values; keep the TACO metadata visible.
  const sp = t.sparsity();
  let sparse: TfliteSparsity | undefined;
  if (sp) {
    sparse = readSparsity(ctx, sp);
    te.sparsity = sparse;
    descriptions.push(describeSparsity(sparse));
  }

  if (hasData) {
    const constant = readConstant(ctx, name, dtype, rawShape, buf!, where, sparse !== undefined, external);
    value.constant = constant;
    if (external) descriptions.push(`data in external file ${path.basename((external as { path: string }).path)}${te.externalPacking ? ` (packing '${te.externalPacking}')` : ''}`);
  }

  const q = t.quantization();
  if (q) readQuantization(ctx, q, dtype, value, te, descriptions);

  const nVariant = t.variantTensorsLength();
  if (nVariant > 0) {
    ctx.budget.take(nVariant);
    te.variantTensors = [];
    for (let j = 0; j < nVariant; j++) {
      const v = t.variantTensors(j);
      if (!v) continue;
      const vshape = readIntVector(ctx, v.shapeLength(), (k) => v.shape(k));
      te.variantTensors.push({ shape: vshape, type: v.type(), hasRank: v.hasRank() });
    }
    descriptions.push(
      `variant of ${te.variantTensors.map((v) => `${dtypeOfTensorType(v.type)}${v.hasRank ? `[${v.shape.join(',')}]` : '[?]'}`).join(', ')}`,
    );
  }
  if (descriptions.length) value.description = descriptions.join('; ');
  return { value, tensorExtra: te };
}

function readConstant(
  ctx: Ctx,
  name: string,
  dtype: DType,
  shape: number[],
  buf: BufferInfo,
  where: string,
  sparse: boolean,
  external?: TensorData,
): Constant {
  if (shape.some((d) => d < 0)) {
    throw new ModelError('corrupt', `The TFLite file is corrupt: constant tensor '${name}' in ${where} has a negative dimension [${shape.join(',')}].`);
  }
  let count = 1;
  for (const d of shape) count *= d;
  const bits = dtypeBits(dtype);
  if (dtype === 'string' && !external) {
    return { name, dtype, shape, data: { kind: 'strings', values: decodeStrings(ctx, buf, name, where) } };
  }
  if (!sparse && bits !== undefined && dtype !== 'unknown') {
    const need = Math.ceil((count * bits) / 8);
    if (!Number.isSafeInteger(need) || buf.length < need) {
      throw new ModelError(
        'corrupt',
        `The TFLite file is corrupt: constant tensor '${name}' in ${where} is ${dtype}[${shape.join(',')}] (${need} bytes) but its buffer holds ${buf.length} bytes.`,
      );
    }
  }
  // A sparse tensor's buffer holds only the stored values: describe the data by what it holds.
  const dataShape = sparse && bits ? [Math.floor((buf.length * 8) / bits)] : shape;
  return { name, dtype, shape: dataShape, data: external ?? dataRef(ctx, buf) };
}

/**
 * Schema 3d: a tensor's bytes in another file, named by its ExternalBufferGroup. The file must stay
 * inside the model's folder (or OpenOptions.baseDir) and hold the whole range.
 */
function externalRef(ctx: Ctx, id: number, name: string, where: string): { data: TensorData & { kind: 'file' }; packing: string } {
  if (!ctx.external) {
    ctx.external = new Map();
    const root = ctx.root!;
    const nGroups = root.externalBufferGroupsLength();
    const nExt = root.externalBuffersLength();
    ctx.budget.take(nGroups + nExt);
    const groups: string[] = [];
    for (let i = 0; i < nGroups; i++) groups.push(root.externalBufferGroups(i)?.name() ?? '');
    for (let i = 0; i < nExt; i++) {
      const e = root.externalBuffers(i);
      if (!e) continue;
      const g = e.group();
      if (g >= groups.length) throw new ModelError('corrupt', `The TFLite file is corrupt: external buffer ${e.id()} names group ${g}, but there are ${groups.length}.`);
      ctx.external.set(e.id(), { group: groups[g], offset: e.offset(), length: e.length(), packing: e.packing() ?? '' });
    }
  }
  const ref = ctx.external.get(id);
  if (!ref) throw new ModelError('corrupt', `The TFLite file is corrupt: tensor '${name}' in ${where} uses external buffer ${id}, which is not declared.`);
  if (!ctx.baseDir) {
    throw new ModelError('unsupported', `Tensor '${name}' keeps its data in the external file '${ref.group}'; open the model from disk (or pass baseDir) so it can be found.`);
  }
  const file = path.resolve(ctx.baseDir, ref.group);
  const rel = path.relative(ctx.baseDir, file);
  if (ref.group === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelError('unsafe-path', `Tensor '${name}' refers to external data '${ref.group}', outside the model's folder; refusing to read it.`);
  }
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    throw new ModelError('io', `Tensor '${name}' keeps its data in '${ref.group}', which cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, { cause: e });
  }
  if (ref.offset + ref.length > BigInt(size)) {
    throw new ModelError('truncated', `Tensor '${name}' needs ${ref.length} bytes at offset ${ref.offset} of '${ref.group}', which has only ${size} bytes.`);
  }
  return { data: { kind: 'file', path: file, offset: Number(ref.offset), length: Number(ref.length) }, packing: ref.packing };
}

/** TFLite string tensors: int32 count, count+1 int32 offsets, then the bytes. */
function decodeStrings(ctx: Ctx, buf: BufferInfo, name: string, where: string): string[] {
  const bad = (why: string): ModelError =>
    new ModelError('corrupt', `The TFLite file is corrupt: string tensor '${name}' in ${where} is malformed (${why}).`);
  if (buf.length < 4) throw bad('shorter than its header');
  const bytes = ctx.src.slice(buf.offset, buf.length);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getInt32(0, true);
  if (n < 0 || 4 + (n + 1) * 4 > bytes.length) throw bad(`claims ${n} strings`);
  ctx.budget.take(n);
  const dec = new TextDecoder();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = dv.getInt32(4 + i * 4, true);
    const e = dv.getInt32(8 + i * 4, true);
    if (s < 0 || e < s || e > bytes.length) throw bad(`string ${i} spans ${s}..${e}`);
    out.push(dec.decode(bytes.subarray(s, e)));
  }
  return out;
}

function readQuantization(
  ctx: Ctx,
  q: tfl.QuantizationParameters,
  dtype: DType,
  value: Value,
  te: TfliteTensorExtra,
  descriptions: string[],
): void {
  const scale = readIntVector(ctx, q.scaleLength(), (j) => q.scale(j));
  const zpLen = q.zeroPointLength();
  ctx.budget.take(zpLen);
  const zeroPoint: number[] = [];
  for (let j = 0; j < zpLen; j++) zeroPoint.push(Number(q.zeroPoint(j) ?? 0n));
  const min = readIntVector(ctx, q.minLength(), (j) => q.min(j));
  const max = readIntVector(ctx, q.maxLength(), (j) => q.max(j));
  const qd = q.quantizedDimension();

  const detailsType = q.detailsType();
  if (detailsType !== tfl.QuantizationDetails.NONE) {
    const d = readQuantDetails(ctx, q, detailsType);
    if (d) {
      te.quantDetails = d;
      descriptions.push(
        d.type === 'CustomQuantization'
          ? `custom quantization (${d.custom.length} bytes)`
          : `${d.type === 'BlockwiseQuantization' ? 'blockwise' : 'multi-axis'} quantization, block size ${d.blockSize}`,
      );
    }
  }

  if (scale.length > 0) {
    const quant: QuantParams = { scale, zeroPoint, origin: 'tflite' };
    if (scale.length > 1 || qd !== 0) quant.axis = qd;
    if (INTEGER_DTYPES.has(dtype)) quant.quantizedType = dtype;
    if (min.length) quant.min = min;
    if (max.length) quant.max = max;
    value.quant = quant;
  } else if (min.length || max.length || zeroPoint.length || qd !== 0) {
    // A calibrated range without scale (float model with fake-quant ranges): not quantized.
    te.quantMinMaxOnly = { min, max, quantizedDimension: qd };
    if (min.length || max.length) descriptions.push(`range [${min.join(',')}] .. [${max.join(',')}]`);
  }
}

function readQuantDetails(ctx: Ctx, q: tfl.QuantizationParameters, type: number): TfliteQuantDetails | undefined {
  switch (type) {
    case tfl.QuantizationDetails.CustomQuantization: {
      const c = q.details(new tfl.CustomQuantization()) as tfl.CustomQuantization | null;
      if (!c) return undefined;
      return { type: 'CustomQuantization', custom: readIntVector(ctx, c.customLength(), (j) => c.custom(j)) };
    }
    case tfl.QuantizationDetails.BlockwiseQuantization: {
      const b = q.details(new tfl.BlockwiseQuantization()) as tfl.BlockwiseQuantization | null;
      if (!b) return undefined;
      return { type: 'BlockwiseQuantization', scales: `#${b.scales()}`, zeroPoints: `#${b.zeroPoints()}`, blockSize: b.blockSize() };
    }
    case tfl.QuantizationDetails.MultiAxisQuantization: {
      const m = q.details(new tfl.MultiAxisQuantization()) as tfl.MultiAxisQuantization | null;
      if (!m) return undefined;
      return {
        type: 'MultiAxisQuantization',
        scales: `#${m.scales()}`,
        zeroPoints: `#${m.zeroPoints()}`,
        blockSize: m.blockSize(),
        quantizedDimensions: readIntVector(ctx, m.quantizedDimensionsLength(), (j) => m.quantizedDimensions(j)),
      };
    }
  }
  return undefined;
}

function readSparsity(ctx: Ctx, sp: tfl.SparsityParameters): TfliteSparsity {
  const traversalOrder = readIntVector(ctx, sp.traversalOrderLength(), (j) => sp.traversalOrder(j));
  const blockMap = readIntVector(ctx, sp.blockMapLength(), (j) => sp.blockMap(j));
  const nDim = sp.dimMetadataLength();
  ctx.budget.take(nDim);
  const dimMetadata: TfliteSparsity['dimMetadata'] = [];
  for (let j = 0; j < nDim; j++) {
    const d = sp.dimMetadata(j);
    if (!d) continue;
    const entry: TfliteSparsity['dimMetadata'][number] = {
      format: d.format() === tfl.DimensionType.SPARSE_CSR ? 'SPARSE_CSR' : 'DENSE',
      denseSize: d.denseSize(),
    };
    const seg = readSparseIndex(ctx, d.arraySegmentsType(), (o) => d.arraySegments(o));
    const idx = readSparseIndex(ctx, d.arrayIndicesType(), (o) => d.arrayIndices(o));
    if (seg) entry.arraySegments = seg;
    if (idx) entry.arrayIndices = idx;
    dimMetadata.push(entry);
  }
  return { traversalOrder, blockMap, dimMetadata };
}

function readSparseIndex(ctx: Ctx, type: number, get: (obj: unknown) => unknown): TfliteSparseIndexVector | undefined {
  switch (type) {
    case tfl.SparseIndexVector.Int32Vector: {
      const v = get(new tfl.Int32Vector()) as tfl.Int32Vector | null;
      return v ? { type: 'Int32Vector', values: readIntVector(ctx, v.valuesLength(), (j) => v.values(j)) } : undefined;
    }
    case tfl.SparseIndexVector.Uint16Vector: {
      const v = get(new tfl.Uint16Vector()) as tfl.Uint16Vector | null;
      return v ? { type: 'Uint16Vector', values: readIntVector(ctx, v.valuesLength(), (j) => v.values(j)) } : undefined;
    }
    case tfl.SparseIndexVector.Uint8Vector: {
      const v = get(new tfl.Uint8Vector()) as tfl.Uint8Vector | null;
      return v ? { type: 'Uint8Vector', values: readIntVector(ctx, v.valuesLength(), (j) => v.values(j)) } : undefined;
    }
  }
  return undefined;
}

function describeSparsity(s: TfliteSparsity): string {
  const dims = s.dimMetadata
    .map((d) => (d.format === 'DENSE' ? `dense(${d.denseSize})` : `csr(${d.arrayIndices?.values.length ?? 0} indices)`))
    .join(', ');
  return `sparse (TFLite TACO format): traversal_order [${s.traversalOrder.join(',')}]${s.blockMap.length ? `, block_map [${s.blockMap.join(',')}]` : ''}, dims ${dims}; the constant holds only the stored values`;
}

function readOperator(
  ctx: Ctx,
  op: tfl.Operator,
  index: number,
  codes: TfliteOperatorCode[],
  where: string,
  tensorName: (idx: number, what: string, allowOmitted: boolean) => string,
  nSub: number,
): { node: Node; opExtra: TfliteOpExtra } {
  const opcodeIndex = op.opcodeIndex();
  if (opcodeIndex >= codes.length) {
    throw new ModelError('corrupt', `The TFLite file is corrupt: operator ${index} in ${where} uses opcode ${opcodeIndex}, but there are ${codes.length}.`);
  }
  const code = codes[opcodeIndex];
  const builtin = resolveBuiltinCode(code.deprecatedBuiltinCode, code.builtinCode);
  const isCustom = builtin === tfl.BuiltinOperator.CUSTOM;
  const opType = isCustom ? code.customCode || 'CUSTOM' : builtinOpName(builtin);
  const what = `operator ${index} (${opType})`;

  const inputs = readIntVector(ctx, op.inputsLength(), (j) => op.inputs(j)).map((t) => tensorName(t, `an input of ${what}`, true));
  const outputs = readIntVector(ctx, op.outputsLength(), (j) => op.outputs(j)).map((t) => tensorName(t, `an output of ${what}`, true));
  const nInter = op.intermediatesLength();
  const intermediates = nInter ? readIntVector(ctx, nInter, (j) => op.intermediates(j)).map((t) => tensorName(t, `an intermediate of ${what}`, false)) : undefined;

  const attributes: Attribute[] = [];
  const opExtra: TfliteOpExtra = {
    opType,
    firstOutput: outputs.find((o) => o !== '') ?? '',
    opcodeIndex,
    builtinOptionsType: '',
    builtinOptions2Type: '',
  };

  for (const union of [1, 2] as const) {
    const typeCode = union === 1 ? op.builtinOptionsType() : op.builtinOptions2Type();
    if (typeCode === 0) continue;
    const table = optionsUnionName(union, typeCode);
    if (!table) {
      // A newer schema's options table: we cannot interpret (or rewrite) it.
      attributes.push({ name: union === 1 ? 'builtin_options_type' : 'builtin_options_2_type', value: { type: 'int', value: typeCode } });
      continue;
    }
    const accessor = (o: unknown): unknown => (union === 1 ? op.builtinOptions(o) : op.builtinOptions2(o));
    const tbl = (union === 1 ? tfl.unionToBuiltinOptions(typeCode as never, accessor as never) : tfl.unionToBuiltinOptions2(typeCode as never, accessor as never)) as
      | { unpack(): Record<string, unknown> }
      | null;
    if (union === 1) opExtra.builtinOptionsType = table;
    else opExtra.builtinOptions2Type = table;
    if (!tbl) continue;
    const obj = tbl.unpack();
    ctx.budget.take(optionsElementCount(table, obj));
    attributes.push(...optionsToAttributes(table, obj));
  }
  for (const a of attributes) {
    if (/subgraph_index$/.test(a.name) && a.value.type === 'int') {
      const si = Number(a.value.value);
      if (si < 0 || si >= nSub) a.doc = `refers to subgraph ${si}, which does not exist`;
    }
  }

  // custom_options: inline vector, or beyond the flatbuffer (large_custom_options_offset/size).
  const coField = ctx.bb.__offset(op.bb_pos, 14);
  let custom: { offset: number; length: number } | undefined;
  if (coField) {
    const { start, length } = ctx.bb.vectorExtent(op.bb_pos + coField, 1);
    if (length > 0) custom = { offset: start, length };
  }
  const lOff = op.largeCustomOptionsOffset();
  const lSize = op.largeCustomOptionsSize();
  if (!custom && lOff > 1n && lSize > 0n) {
    if (lOff + lSize > BigInt(ctx.fileSize)) {
      throw new ModelError('truncated', `The TFLite file is truncated or corrupt: ${what} in ${where} has ${lSize} bytes of custom options at offset ${lOff}, beyond the end of the file.`);
    }
    custom = { offset: Number(lOff), length: Number(lSize) };
  }
  if (custom) {
    opExtra.customOptions = dataRef(ctx, { ...custom, external: false });
    opExtra.customOptionsFormat = op.customOptionsFormat();
    let decoded: Attribute[] | undefined;
    if (custom.length <= 1 << 20 && op.customOptionsFormat() === tfl.CustomOptionsFormat.FLEXBUFFERS) {
      decoded = flexMapToAttributes(decodeFlexbuffer(ctx.src.slice(custom.offset, custom.length)));
    }
    if (decoded) attributes.push(...decoded);
    else {
      attributes.push({
        name: 'custom_options',
        value: { type: 'tensor', value: { name: 'custom_options', dtype: 'uint8', shape: [custom.length], data: opExtra.customOptions } },
      });
    }
  }

  const nMut = op.mutatingVariableInputsLength();
  if (nMut > 0) {
    ctx.budget.take(nMut);
    const m: boolean[] = [];
    for (let j = 0; j < nMut; j++) m.push(Boolean(op.mutatingVariableInputs(j)));
    opExtra.mutatingVariableInputs = m;
  }
  if (intermediates) opExtra.intermediates = intermediates;
  const dbg = op.debugMetadataIndex();
  if (dbg !== -1) opExtra.debugMetadataIndex = dbg;

  const node: Node = {
    name: '',
    nameSynthesised: true,
    opType,
    domain: isCustom ? 'custom' : '',
    inputs,
    outputs,
    attributes,
    subgraphs: [],
  };
  return { node, opExtra };
}

/** Exposed for the writer: reads the bytes of a TensorData reference. */
export function readTensorDataBytes(data: TensorData): Uint8Array {
  switch (data.kind) {
    case 'bytes':
      return data.bytes;
    case 'none':
      return new Uint8Array(0);
    case 'file': {
      const out = new Uint8Array(data.length);
      let fd: number;
      try {
        fd = fs.openSync(data.path, 'r');
      } catch (e) {
        throw new ModelError('io', `Cannot read tensor data from '${data.path}' (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, { cause: e });
      }
      try {
        let got = 0;
        while (got < data.length) {
          const n = fs.readSync(fd, out, got, data.length - got, data.offset + got);
          if (n === 0) throw new ModelError('truncated', `'${data.path}' ends before byte ${data.offset + data.length}; it changed since it was opened.`);
          got += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      return out;
    }
    default:
      throw new ModelError('unsupported', `Tensor data of kind '${data.kind}' has no raw bytes.`);
  }
}
