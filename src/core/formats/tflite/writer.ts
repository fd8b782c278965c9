/**
 * TFLite writer: the graph model back into a .tflite flatbuffer (schema v3).
 *
 * The structure is built with the generated object API (ModelT ... pack()). Constant data is written
 * by a BufferT subclass that copies the bytes in one go, 16-byte aligned (the schema's force_align,
 * which the generated TS ignores; TFLite kernels and XNNPack read constants in place). Models whose
 * data would push the flatbuffer towards its 2 GiB limit store the data beyond it instead
 * (Buffer.offset/size, schema 3c), which is also available on request.
 *
 * Fidelity: what the graph model cannot carry (operator-code versions, option table types, custom
 * option bytes, intermediates, sparsity, original tensor names, ...) comes from
 * Model.formatExtras.tflite (see extras.ts) when it still matches the node or value; otherwise the
 * graph model and schema defaults decide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Builder } from 'flatbuffers';
import { encode as flexEncode } from 'flatbuffers/js/flexbuffers.js';
import { ModelError } from '../../errors';
import type { Constant, Graph, Model, Node, TensorData, Value } from '../../model';
import * as tfl from '../../generated/tflite/schema_generated';
import {
  attributesToOptions,
  builtinOpCode,
  defaultOptionsFor,
  optionsUnionCode,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  resolveBuiltinCode,
  tensorTypeOfDtype,
} from './schema-info';
import {
  getTfliteExtras,
  opKey,
  type TfliteExtras,
  type TfliteGraphExtra,
  type TfliteOpExtra,
  type TfliteSparseIndexVector,
  type TfliteSparsity,
  type TfliteTensorExtra,
} from './extras';
import { readTensorDataBytes } from './reader';

export interface TfliteWriteOptions {
  /**
   * Store constant data beyond the flatbuffer (Buffer.offset/size) instead of inside it.
   * 'auto' (default) does so only when the data exceeds `inlineLimit`.
   */
  bufferOffsets?: boolean | 'auto';
  /** Bytes of constant data above which 'auto' moves data beyond the flatbuffer. Default 1 GiB. */
  inlineLimit?: number;
}

const ALIGN = 16;
const DEFAULT_INLINE_LIMIT = 1 << 30;

/** A constant's bytes to be written once, however many tensors share them. */
interface PendingBuffer {
  data: TensorData | { kind: 'raw'; bytes: Uint8Array };
  length: number;
}

interface Plan {
  model: tfl.ModelT;
  buffers: PendingBuffer[];
  /** model.buffers, slot 0 being the empty buffer */
  bufferSlots: BufferSlot[];
}

/** BufferT that writes its bytes as one aligned block, or records an offset/size beyond the flatbuffer. */
class BufferSlot extends tfl.BufferT {
  external = false;
  constructor(readonly pending: PendingBuffer | null) {
    super();
  }
  override pack(builder: Builder): number {
    let data = 0;
    if (this.pending && !this.external && this.pending.length > 0) {
      const bytes = pendingBytes(this.pending);
      builder.prep(ALIGN, bytes.length); // so the elements (not the length prefix) start aligned
      data = builder.createByteVector(bytes);
    }
    return tfl.Buffer.createBuffer(builder, data, this.offset, this.size);
  }
}

// The generated pack() writes every vector, even empty optional ones (an empty shape_signature,
// intermediates, custom_options, min/max...). These subclasses leave empty optional vectors out, as
// TFLite's own exporter does, so the output carries only what the model has.

function optVec<T>(list: T[], make: () => number): number {
  return list.length ? make() : 0;
}

class LeanQuantT extends tfl.QuantizationParametersT {
  override pack(b: Builder): number {
    const Q = tfl.QuantizationParameters;
    const min = optVec(this.min, () => Q.createMinVector(b, this.min));
    const max = optVec(this.max, () => Q.createMaxVector(b, this.max));
    const scale = optVec(this.scale, () => Q.createScaleVector(b, this.scale));
    const zeroPoint = optVec(this.zeroPoint, () => Q.createZeroPointVector(b, this.zeroPoint));
    const details = b.createObjectOffset(this.details);
    return Q.createQuantizationParameters(b, min, max, scale, zeroPoint, this.detailsType, details, this.quantizedDimension);
  }
}

// block_map must be absent (not empty) for a tensor that is not block-sparse.
class LeanSparsityT extends tfl.SparsityParametersT {
  override pack(b: Builder): number {
    const S = tfl.SparsityParameters;
    const order = S.createTraversalOrderVector(b, this.traversalOrder);
    const blockMap = optVec(this.blockMap, () => S.createBlockMapVector(b, this.blockMap));
    const dims = S.createDimMetadataVector(b, b.createObjectOffsetList(this.dimMetadata));
    return S.createSparsityParameters(b, order, blockMap, dims);
  }
}

class LeanTensorT extends tfl.TensorT {
  override pack(b: Builder): number {
    const T = tfl.Tensor;
    const shape = T.createShapeVector(b, this.shape);
    const name = this.name !== null ? b.createString(this.name) : 0;
    const quantization = this.quantization ? this.quantization.pack(b) : 0;
    const sparsity = this.sparsity ? this.sparsity.pack(b) : 0;
    const sig = optVec(this.shapeSignature, () => T.createShapeSignatureVector(b, this.shapeSignature));
    const variants = optVec(this.variantTensors, () => T.createVariantTensorsVector(b, b.createObjectOffsetList(this.variantTensors)));
    T.startTensor(b);
    T.addShape(b, shape);
    T.addType(b, this.type);
    T.addBuffer(b, this.buffer);
    T.addName(b, name);
    T.addQuantization(b, quantization);
    T.addIsVariable(b, this.isVariable);
    T.addSparsity(b, sparsity);
    T.addShapeSignature(b, sig);
    T.addHasRank(b, this.hasRank);
    T.addVariantTensors(b, variants);
    T.addExternalBuffer(b, this.externalBuffer);
    return T.endTensor(b);
  }
}

class LeanOperatorT extends tfl.OperatorT {
  customBytes: Uint8Array | null = null;
  override pack(b: Builder): number {
    const O = tfl.Operator;
    const inputs = O.createInputsVector(b, this.inputs);
    const outputs = O.createOutputsVector(b, this.outputs);
    const opts = b.createObjectOffset(this.builtinOptions);
    const custom = this.customBytes && this.customBytes.length ? b.createByteVector(this.customBytes) : 0;
    const mutating = optVec(this.mutatingVariableInputs, () => O.createMutatingVariableInputsVector(b, this.mutatingVariableInputs));
    const inter = optVec(this.intermediates, () => O.createIntermediatesVector(b, this.intermediates));
    const opts2 = b.createObjectOffset(this.builtinOptions2);
    return O.createOperator(
      b, this.opcodeIndex, inputs, outputs, this.builtinOptionsType, opts, custom, this.customOptionsFormat,
      mutating, inter, this.largeCustomOptionsOffset, this.largeCustomOptionsSize, this.builtinOptions2Type, opts2,
      this.debugMetadataIndex,
    );
  }
}

class LeanModelT extends tfl.ModelT {
  override pack(b: Builder): number {
    const M = tfl.Model;
    const codes = M.createOperatorCodesVector(b, b.createObjectOffsetList(this.operatorCodes));
    const subgraphs = M.createSubgraphsVector(b, b.createObjectOffsetList(this.subgraphs));
    const description = this.description !== null ? b.createString(this.description) : 0;
    const buffers = M.createBuffersVector(b, b.createObjectOffsetList(this.buffers));
    const metadata = optVec(this.metadata, () => M.createMetadataVector(b, b.createObjectOffsetList(this.metadata)));
    const sigs = optVec(this.signatureDefs, () => M.createSignatureDefsVector(b, b.createObjectOffsetList(this.signatureDefs)));
    return M.createModel(b, this.version, codes, subgraphs, description, buffers, 0, metadata, sigs, 0, 0);
  }
}

function pendingBytes(p: PendingBuffer): Uint8Array {
  const d = p.data;
  if (d.kind === 'raw') return d.bytes;
  return readTensorDataBytes(d);
}

function fail(message: string): never {
  throw new ModelError('unsupported', `Cannot write TFLite: ${message}`);
}

// ---- public API ---------------------------------------------------------------------------------

/** The whole .tflite file in memory. */
export function writeTflite(model: Model, options?: TfliteWriteOptions): Uint8Array {
  const { head, tail, total } = build(model, options);
  if (tail.length === 0) return head;
  const out = new Uint8Array(total);
  out.set(head, 0);
  for (const t of tail) out.set(pendingBytes(t.buffer), t.offset);
  return out;
}

/** Writes atomically: a temporary file beside the target, then a rename. */
export async function writeTfliteFile(model: Model, outPath: string, options?: TfliteWriteOptions): Promise<void> {
  const target = path.resolve(outPath);
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const { head, tail } = build(model, options);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'w');
    await fh.write(head, 0, head.length, 0);
    for (const t of tail) {
      const bytes = pendingBytes(t.buffer);
      await fh.write(bytes, 0, bytes.length, t.offset);
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    if (e instanceof ModelError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError('io', `Cannot write '${target}' (${code ?? String(e)}).`, { cause: e });
  }
}

// ---- building ------------------------------------------------------------------------------------

function build(model: Model, options?: TfliteWriteOptions): { head: Uint8Array; tail: { buffer: PendingBuffer; offset: number }[]; total: number } {
  if (model.format !== 'tflite') fail(`the model is ${model.format}; only TFLite graph models can be written as TFLite.`);
  if (model.graphs.length === 0) fail('the model has no graphs.');
  const plan = planModel(model);
  const dataBytes = plan.buffers.reduce((s, b) => s + b.length, 0);
  const mode = options?.bufferOffsets ?? 'auto';
  const external = mode === true || (mode === 'auto' && dataBytes > (options?.inlineLimit ?? DEFAULT_INLINE_LIMIT));

  if (!external) {
    const builder = new Builder(Math.min(dataBytes + 1024 * 1024, 0x7fff0000));
    tfl.Model.finishModelBuffer(builder, plan.model.pack(builder));
    return { head: builder.asUint8Array(), tail: [], total: builder.asUint8Array().length };
  }

  // Data beyond the flatbuffer: offsets are absolute file positions, known only once the flatbuffer
  // size is. The size does not depend on the offset values (fixed-width fields, always present), so
  // pack once with placeholders, then again with the real offsets.
  const slots = plan.bufferSlots.filter((s) => s.pending !== null && s.pending.length > 0);
  for (const s of slots) s.external = true;
  const packOnce = (): Uint8Array => {
    const b = new Builder(1024 * 1024);
    tfl.Model.finishModelBuffer(b, plan.model.pack(b));
    return b.asUint8Array();
  };
  for (const s of slots) {
    s.offset = 2n;
    s.size = 2n;
  }
  const first = packOnce();
  let pos = alignUp(first.length);
  const tail: { buffer: PendingBuffer; offset: number }[] = [];
  for (const s of slots) {
    const p = s.pending!;
    s.offset = BigInt(pos);
    s.size = BigInt(p.length);
    tail.push({ buffer: p, offset: pos });
    pos = alignUp(pos + p.length);
  }
  const head = packOnce();
  if (head.length !== first.length) throw new Error('TFLite writer: flatbuffer size changed between passes');
  return { head, tail, total: tail.length ? tail[tail.length - 1].offset + tail[tail.length - 1].buffer.length : head.length };
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

interface BufferTable {
  slots: BufferSlot[];
  pending: PendingBuffer[];
  add(data: TensorData | { kind: 'raw'; bytes: Uint8Array }, length: number): number;
}

function makeBufferTable(): BufferTable {
  const slots: BufferSlot[] = [new BufferSlot(null)]; // buffer 0: the empty buffer by convention
  const pending: PendingBuffer[] = [];
  const byFile = new Map<string, number>();
  const byBytes = new WeakMap<ArrayBufferLike, Map<string, number>>();
  return {
    slots,
    pending,
    add(data, length) {
      if (length === 0) return 0;
      // Tensors that shared a buffer in the file (same bytes) share one again.
      let key: string | undefined;
      let perBuffer: Map<string, number> | undefined;
      if (data.kind === 'file') {
        key = `${data.path}\0${data.offset}\0${data.length}`;
        const hit = byFile.get(key);
        if (hit !== undefined) return hit;
      } else if (data.kind === 'bytes' || data.kind === 'raw') {
        perBuffer = byBytes.get(data.bytes.buffer);
        if (!perBuffer) byBytes.set(data.bytes.buffer, (perBuffer = new Map()));
        key = `${data.bytes.byteOffset}:${data.bytes.byteLength}`;
        const hit = perBuffer.get(key);
        if (hit !== undefined) return hit;
      }
      const p: PendingBuffer = { data, length };
      const slot = new BufferSlot(p);
      slots.push(slot);
      pending.push(p);
      const index = slots.length - 1;
      if (data.kind === 'file' && key) byFile.set(key, index);
      else if (perBuffer && key) perBuffer.set(key, index);
      return index;
    },
  };
}

function planModel(model: Model): Plan {
  const extras = getTfliteExtras(model);
  const buffers = makeBufferTable();
  const codes = makeOpcodeTable(extras);

  const subgraphs = model.graphs.map((g, gi) => planGraph(g, gi, extras?.graphs[gi], buffers, codes));

  const signatureDefs = model.signatures.map((s) => {
    const g = model.graphs[s.subgraphIndex];
    if (!g) fail(`signature '${s.key}' refers to subgraph ${s.subgraphIndex}, but the model has ${model.graphs.length}.`);
    const index = tensorIndexMap(g);
    const map = (m: { name: string; value: string }): tfl.TensorMapT => {
      const t = index.get(m.value);
      if (t === undefined) fail(`signature '${s.key}' names value '${m.value}', which graph '${g.name}' does not have.`);
      return new tfl.TensorMapT(m.name, t);
    };
    return new tfl.SignatureDefT(s.inputs.map(map), s.outputs.map(map), s.key, s.subgraphIndex);
  });

  // Metadata: original bytes when the shown text is unchanged, else the new text.
  const metadata: tfl.MetadataT[] = [];
  const seen = new Set<string>();
  const encoder = new TextEncoder();
  const metaBytes = (text: string): Uint8Array => {
    // min_runtime_version and friends are NUL-padded strings in 16-byte buffers.
    const b = encoder.encode(text);
    const out = new Uint8Array(Math.max(ALIGN, alignUp(b.length + 1)));
    out.set(b);
    return out;
  };
  for (const entry of extras?.metadata ?? []) {
    if (!(entry.name in model.metadata) || seen.has(entry.name)) continue;
    seen.add(entry.name);
    const shown = model.metadata[entry.name];
    let index: number;
    if (shown === entry.shown && entry.bytes.kind !== 'none') {
      index = buffers.add(entry.bytes, dataLength(entry.bytes));
    } else {
      const b = metaBytes(shown);
      index = buffers.add({ kind: 'raw', bytes: b }, b.length);
    }
    metadata.push(new tfl.MetadataT(entry.name, index));
  }
  for (const [name, text] of Object.entries(model.metadata)) {
    if (seen.has(name)) continue;
    const b = metaBytes(text);
    metadata.push(new tfl.MetadataT(name, buffers.add({ kind: 'raw', bytes: b }, b.length)));
  }

  // TFLite's one free-text field (for example 'MLIR Converted.') is what the reader calls producer.
  const description = model.producer || model.description;
  const m = new LeanModelT(
    3,
    codes.list,
    subgraphs,
    description || null,
    buffers.slots,
    [],
    metadata,
    signatureDefs,
  );
  return { model: m, buffers: buffers.pending, bufferSlots: buffers.slots };
}

function dataLength(d: TensorData): number {
  switch (d.kind) {
    case 'file':
      return d.length;
    case 'bytes':
      return d.bytes.length;
    default:
      return 0;
  }
}

// ---- operator codes -------------------------------------------------------------------------

interface OpcodeTable {
  list: tfl.OperatorCodeT[];
  indexFor(node: Node, opExtra: TfliteOpExtra | undefined, where: string): number;
}

function makeOpcodeTable(extras: TfliteExtras | undefined): OpcodeTable {
  const list: tfl.OperatorCodeT[] = [];
  const resolved: { builtin: number; custom: string | undefined }[] = [];
  for (const c of extras?.operatorCodes ?? []) {
    list.push(new tfl.OperatorCodeT(c.deprecatedBuiltinCode, c.customCode ?? null, c.version, c.builtinCode));
    resolved.push({ builtin: resolveBuiltinCode(c.deprecatedBuiltinCode, c.builtinCode), custom: c.customCode });
  }
  return {
    list,
    indexFor(node, opExtra, where) {
      let builtin: number;
      let custom: string | undefined;
      if (node.domain === 'custom') {
        builtin = tfl.BuiltinOperator.CUSTOM;
        custom = node.opType === 'CUSTOM' ? undefined : node.opType;
      } else if (node.domain === '') {
        const c = builtinOpCode(node.opType);
        if (c === undefined) fail(`${where}: '${node.opType}' is not a TFLite builtin operator.`);
        builtin = c;
      } else {
        fail(`${where}: operator domain '${node.domain}' has no TFLite equivalent (use '' for builtins, 'custom' for custom ops).`);
      }
      const same = (i: number): boolean => resolved[i]?.builtin === builtin && (builtin !== tfl.BuiltinOperator.CUSTOM || resolved[i].custom === custom);
      if (opExtra && same(opExtra.opcodeIndex)) return opExtra.opcodeIndex;
      // A new node: share an existing code for the same operator (highest version), else add one.
      let best = -1;
      for (let i = 0; i < list.length; i++) if (same(i) && (best < 0 || list[i].version > list[best].version)) best = i;
      if (best >= 0) return best;
      list.push(new tfl.OperatorCodeT(Math.min(builtin, PLACEHOLDER_FOR_GREATER_OP_CODES), custom ?? null, 1, builtin));
      resolved.push({ builtin, custom });
      return list.length - 1;
    },
  };
}

// ---- subgraphs -----------------------------------------------------------------------------------

function tensorIndexMap(g: Graph): Map<string, number> {
  const m = new Map<string, number>();
  let i = 0;
  for (const name of g.values.keys()) m.set(name, i++);
  return m;
}

function planGraph(
  g: Graph,
  gi: number,
  gx: TfliteGraphExtra | undefined,
  buffers: BufferTable,
  codes: OpcodeTable,
): tfl.SubGraphT {
  const where = `graph ${gi} ('${g.name}')`;
  const index = tensorIndexMap(g);
  const tensorIndex = (name: string, what: string): number => {
    if (name === '') return -1;
    const i = index.get(name);
    if (i === undefined) fail(`${where}: ${what} '${name}' is not among the graph's values.`);
    return i;
  };
  const graphUsesHasRank = gx ? Object.values(gx.tensors).some((t) => t.hasRank) : true;

  const tensors: tfl.TensorT[] = [];
  for (const v of g.values.values()) {
    tensors.push(planTensor(v, gx?.tensors[v.name], gx !== undefined, graphUsesHasRank, buffers, index, where));
  }

  const operators = g.nodes.map((node, ni) => {
    const nodeWhere = `${where} node '${node.name}' (${node.opType})`;
    let opExtra = gx?.ops[opKey(node, ni)];
    if (opExtra && (opExtra.opType !== node.opType || opExtra.firstOutput !== (node.outputs.find((o) => o !== '') ?? ''))) opExtra = undefined;
    return planOperator(node, opExtra, codes, tensorIndex, nodeWhere);
  });

  const inputNames = [...(gx?.constantInputs?.filter((n) => index.has(n)) ?? []), ...g.inputs];
  const fileName = gx ? gx.fileName : g.name;
  return new tfl.SubGraphT(
    tensors,
    inputNames.map((n) => tensorIndex(n, 'input')),
    g.outputs.map((n) => tensorIndex(n, 'output')),
    operators,
    fileName || null,
    gx?.debugMetadataIndex ?? -1,
  );
}

function planTensor(
  v: Value,
  te: TfliteTensorExtra | undefined,
  haveExtras: boolean,
  graphUsesHasRank: boolean,
  buffers: BufferTable,
  index: Map<string, number>,
  where: string,
): tfl.TensorT {
  const dtype = v.type?.dtype ?? v.constant?.dtype ?? 'unknown';
  const type = tensorTypeOfDtype(dtype) ?? te?.typeCode;
  if (type === undefined) fail(`${where}: value '${v.name}' has dtype '${dtype}', which TFLite cannot store.`);

  const t = new LeanTensorT();
  t.type = type;
  t.name = te?.fileName ?? v.name;
  t.isVariable = v.isVariable === true;

  // Shape: unknown dims become -1 in shape_signature and a placeholder in shape.
  const dims = v.type?.shape ?? (v.constant && !te?.sparsity ? v.constant.shape : null);
  if (dims === null) {
    t.shape = [];
    t.hasRank = false;
  } else {
    const fileShape = te?.shape && te.shape.length === dims.length ? te.shape : undefined;
    t.shape = dims.map((d, j) => (typeof d === 'number' ? d : fileShape && fileShape[j] >= 0 ? fileShape[j] : 1));
    const dynamic = dims.some((d) => typeof d !== 'number');
    if (dynamic || te?.shapeSignature) t.shapeSignature = dims.map((d) => (typeof d === 'number' ? d : -1));
    t.hasRank = te ? te.hasRank === true : haveExtras ? graphUsesHasRank : true;
  }

  if (v.constant) {
    const { data, length } = constantData(v.constant, where);
    t.buffer = buffers.add(data, length);
  }

  t.quantization = planQuant(v, te, index);
  if (te?.sparsity) t.sparsity = sparsityT(te.sparsity);
  if (te?.variantTensors) t.variantTensors = te.variantTensors.map((x) => new tfl.VariantSubTypeT(x.shape, x.type, x.hasRank));
  return t;
}

function constantData(c: Constant, where: string): { data: TensorData | { kind: 'raw'; bytes: Uint8Array }; length: number } {
  switch (c.data.kind) {
    case 'file':
      return { data: c.data, length: c.data.length };
    case 'bytes':
      return { data: c.data, length: c.data.bytes.length };
    case 'none':
      return { data: c.data, length: 0 };
    case 'strings': {
      const bytes = encodeStrings(c.data.values);
      return { data: { kind: 'raw', bytes }, length: bytes.length };
    }
    default:
      fail(`${where}: constant '${c.name}' has ${c.data.kind} data, which TFLite cannot store.`);
  }
}

/** TFLite string buffer: int32 count, count+1 int32 offsets from the buffer start, then bytes. */
function encodeStrings(values: string[]): Uint8Array {
  const enc = new TextEncoder();
  const parts = values.map((s) => enc.encode(s));
  const header = 4 * (values.length + 2);
  const total = header + parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, values.length, true);
  let pos = header;
  parts.forEach((p, i) => {
    dv.setInt32(4 + 4 * i, pos, true);
    out.set(p, pos);
    pos += p.length;
  });
  dv.setInt32(4 + 4 * values.length, pos, true);
  return out;
}

function planQuant(v: Value, te: TfliteTensorExtra | undefined, index: Map<string, number>): tfl.QuantizationParametersT | null {
  const q = new LeanQuantT();
  let any = false;
  if (v.quant) {
    q.scale = [...v.quant.scale];
    q.zeroPoint = v.quant.zeroPoint.map((z) => BigInt(Math.round(z)));
    q.quantizedDimension = v.quant.axis ?? 0;
    if (v.quant.min) q.min = [...v.quant.min];
    if (v.quant.max) q.max = [...v.quant.max];
    any = true;
  } else if (te?.quantMinMaxOnly) {
    q.min = [...te.quantMinMaxOnly.min];
    q.max = [...te.quantMinMaxOnly.max];
    q.quantizedDimension = te.quantMinMaxOnly.quantizedDimension;
    any = true;
  }
  const d = te?.quantDetails;
  if (d) {
    const ref = (name: string): number => (name === '' ? -1 : index.get(name) ?? -1);
    switch (d.type) {
      case 'CustomQuantization':
        q.detailsType = tfl.QuantizationDetails.CustomQuantization;
        q.details = new tfl.CustomQuantizationT([...d.custom]);
        break;
      case 'BlockwiseQuantization':
        q.detailsType = tfl.QuantizationDetails.BlockwiseQuantization;
        q.details = new tfl.BlockwiseQuantizationT(ref(d.scales), ref(d.zeroPoints), d.blockSize);
        break;
      case 'MultiAxisQuantization':
        q.detailsType = tfl.QuantizationDetails.MultiAxisQuantization;
        q.details = new tfl.MultiAxisQuantizationT(ref(d.scales), ref(d.zeroPoints), d.blockSize, [...d.quantizedDimensions]);
        break;
    }
    any = true;
  }
  return any ? q : null;
}

function sparseIndexT(v: TfliteSparseIndexVector | undefined): { type: number; value: tfl.Int32VectorT | tfl.Uint16VectorT | tfl.Uint8VectorT | null } {
  if (!v) return { type: tfl.SparseIndexVector.NONE, value: null };
  switch (v.type) {
    case 'Int32Vector':
      return { type: tfl.SparseIndexVector.Int32Vector, value: new tfl.Int32VectorT([...v.values]) };
    case 'Uint16Vector':
      return { type: tfl.SparseIndexVector.Uint16Vector, value: new tfl.Uint16VectorT([...v.values]) };
    case 'Uint8Vector':
      return { type: tfl.SparseIndexVector.Uint8Vector, value: new tfl.Uint8VectorT([...v.values]) };
  }
}

function sparsityT(s: TfliteSparsity): tfl.SparsityParametersT {
  return new LeanSparsityT(
    [...s.traversalOrder],
    [...s.blockMap],
    s.dimMetadata.map((d) => {
      const seg = sparseIndexT(d.arraySegments);
      const idx = sparseIndexT(d.arrayIndices);
      return new tfl.DimensionMetadataT(
        d.format === 'SPARSE_CSR' ? tfl.DimensionType.SPARSE_CSR : tfl.DimensionType.DENSE,
        d.denseSize,
        seg.type,
        seg.value,
        idx.type,
        idx.value,
      );
    }),
  );
}

function planOperator(
  node: Node,
  opExtra: TfliteOpExtra | undefined,
  codes: OpcodeTable,
  tensorIndex: (name: string, what: string) => number,
  where: string,
): tfl.OperatorT {
  const op = new LeanOperatorT();
  op.opcodeIndex = codes.indexFor(node, opExtra, where);
  op.inputs = node.inputs.map((n) => tensorIndex(n, 'input'));
  op.outputs = node.outputs.map((n) => tensorIndex(n, 'output'));
  if (opExtra?.intermediates) op.intermediates = opExtra.intermediates.map((n) => tensorIndex(n, 'intermediate'));
  if (opExtra?.mutatingVariableInputs) op.mutatingVariableInputs = [...opExtra.mutatingVariableInputs];
  if (opExtra?.debugMetadataIndex !== undefined) op.debugMetadataIndex = opExtra.debugMetadataIndex;

  if (node.domain === '') {
    // Which options tables: as read, or the operator's conventional one for new nodes.
    let t1: string | undefined;
    let t2: string | undefined;
    if (opExtra) {
      t1 = opExtra.builtinOptionsType || undefined;
      t2 = opExtra.builtinOptions2Type || undefined;
    } else {
      const d = defaultOptionsFor(node.opType);
      if (d?.union === 1) t1 = d.name;
      else if (d?.union === 2) t2 = d.name;
    }
    try {
      if (t1) {
        const o = attributesToOptions(t1, node.attributes, where);
        if (o) {
          op.builtinOptionsType = optionsUnionCode(1, t1)!;
          op.builtinOptions = o as never;
        }
      }
      if (t2) {
        const o = attributesToOptions(t2, node.attributes, where);
        if (o) {
          op.builtinOptions2Type = optionsUnionCode(2, t2)!;
          op.builtinOptions2 = o as never;
        }
      }
    } catch (e) {
      if (e instanceof ModelError) throw e;
      fail(`${where}: ${(e as Error).message}`);
    }
  }

  // Custom options: the bytes as read; for nodes without them, a raw 'custom_options' tensor attribute.
  let custom: Uint8Array | undefined;
  if (opExtra?.customOptions) custom = readTensorDataBytes(opExtra.customOptions);
  else {
    const a = node.attributes.find((x) => x.name === 'custom_options');
    if (a?.value.type === 'tensor') custom = readTensorDataBytes(a.value.value.data);
    else if (node.domain === 'custom' && node.attributes.length) custom = encodeFlexAttributes(node, where);
  }
  if (custom && custom.length) {
    op.customBytes = custom;
    op.customOptionsFormat = opExtra?.customOptionsFormat ?? tfl.CustomOptionsFormat.FLEXBUFFERS;
  }
  return op;
}

/**
 * A custom op's attributes as a FlexBuffer map (the usual custom_options format), for custom nodes
 * whose original option bytes are not available (new or changed nodes).
 */
function encodeFlexAttributes(node: Node, where: string): Uint8Array {
  const map: Record<string, unknown> = {};
  for (const a of node.attributes) {
    const v = a.value;
    switch (v.type) {
      case 'int':
        map[a.name] = typeof v.value === 'bigint' ? Number(v.value) : v.value;
        break;
      case 'ints':
        map[a.name] = v.value.map(Number);
        break;
      case 'float':
      case 'bool':
      case 'string':
      case 'floats':
      case 'strings':
        map[a.name] = v.value;
        break;
      default:
        fail(`${where}: custom-op attribute '${a.name}' (${v.type}) cannot be stored in FlexBuffer options.`);
    }
  }
  return flexEncode(map);
}
