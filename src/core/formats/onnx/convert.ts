/**
 * Conversions between decoded protobufjs messages and the graph model's pieces that do not depend
 * on where the bytes came from: tensors, types, attributes' scalar values, int64 handling.
 */
import Long from 'long';
import { ModelError } from '../../errors';
import type { Constant, DType, Dim, TensorData, TensorType } from '../../model';
import { onnx } from '../../generated/onnx/onnx';
import { dtypeFromOnnx, dtypeToOnnx as dtypeCode, rawByteLength } from './dtypes';

export type Int64 = number | Long;

/** A 64-bit protobuf integer as a JS number when exact, else a bigint. */
export function int64ToJs(v: Int64 | null | undefined): number | bigint {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  if (Number.isSafeInteger(n)) return n;
  return BigInt(v.toString());
}

/** A 64-bit value that must fit a JS number (dims, offsets, versions). */
export function int64ToNumber(v: Int64 | null | undefined, what: string): number {
  const x = int64ToJs(v);
  if (typeof x === 'bigint') throw new ModelError('corrupt', `${what} is ${x}, beyond what can be handled.`);
  return x;
}

export function jsToLong(v: number | bigint): Long {
  if (typeof v === 'bigint') return Long.fromString(v.toString(), v > 0x7fffffffffffffffn);
  return Long.fromNumber(v);
}

const utf8 = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8Enc = new TextEncoder();

export function bytesToString(b: Uint8Array): string {
  return utf8.decode(b);
}

/** undefined when the bytes are not valid UTF-8 (then the caller keeps the bytes). */
export function bytesToStringStrict(b: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(b);
  } catch {
    return undefined;
  }
}

export function stringToBytes(s: string): Uint8Array {
  return utf8Enc.encode(s);
}

export function has(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

// --- types ----------------------------------------------------------------------------------

/** JSON-shaped TypeProto that TypeProto.encode accepts back (kept for non-tensor types). */
export type PlainType = {
  tensorType?: { elemType?: number; shape?: PlainShape };
  sparseTensorType?: { elemType?: number; shape?: PlainShape };
  sequenceType?: { elemType?: PlainType };
  optionalType?: { elemType?: PlainType };
  mapType?: { keyType?: number; valueType?: PlainType };
  opaqueType?: { domain?: string; name?: string };
  denotation?: string;
};
export type PlainShape = { dim: { dimValue?: number; dimParam?: string; denotation?: string }[] };

function shapeToPlain(s: onnx.TensorShapeProto.$Properties | null | undefined): PlainShape | undefined {
  if (!s) return undefined;
  return {
    dim: (s.dim ?? []).map((d) => {
      const o: PlainShape['dim'][number] = {};
      if (d.dimValue !== undefined && d.dimValue !== null && has(d, 'dimValue')) o.dimValue = int64ToNumber(d.dimValue, 'A dimension');
      if (d.dimParam !== undefined && d.dimParam !== null && has(d, 'dimParam')) o.dimParam = d.dimParam;
      if (d.denotation) o.denotation = d.denotation;
      return o;
    }),
  };
}

export function typeToPlain(t: onnx.TypeProto.$Properties): PlainType {
  const o: PlainType = {};
  if (t.tensorType) o.tensorType = { elemType: t.tensorType.elemType ?? 0, shape: shapeToPlain(t.tensorType.shape) };
  else if (t.sparseTensorType) o.sparseTensorType = { elemType: t.sparseTensorType.elemType ?? 0, shape: shapeToPlain(t.sparseTensorType.shape) };
  else if (t.sequenceType) o.sequenceType = { elemType: t.sequenceType.elemType ? typeToPlain(t.sequenceType.elemType) : undefined };
  else if (t.optionalType) o.optionalType = { elemType: t.optionalType.elemType ? typeToPlain(t.optionalType.elemType) : undefined };
  else if (t.mapType) o.mapType = { keyType: t.mapType.keyType ?? 0, valueType: t.mapType.valueType ? typeToPlain(t.mapType.valueType) : undefined };
  else if (t.opaqueType) o.opaqueType = { domain: t.opaqueType.domain ?? '', name: t.opaqueType.name ?? '' };
  if (t.denotation) o.denotation = t.denotation;
  return o;
}

function dimsOf(s: PlainShape | undefined): Dim[] | null {
  if (!s) return null;
  return s.dim.map((d) => (d.dimValue !== undefined ? d.dimValue : d.dimParam !== undefined ? d.dimParam : null));
}

export interface ConvertedType {
  type: TensorType | null;
  /** Set when `type` cannot say everything (non-tensor types, denotations). */
  plain?: PlainType;
}

export function convertType(t: onnx.TypeProto.$Properties | null | undefined): ConvertedType {
  if (!t) return { type: null };
  const p = typeToPlain(t);
  if (p.tensorType) {
    const type: TensorType = { dtype: dtypeFromOnnx(p.tensorType.elemType ?? 0), shape: dimsOf(p.tensorType.shape) };
    const denoted = p.denotation || p.tensorType.shape?.dim.some((d) => d.denotation);
    return denoted ? { type, plain: p } : { type };
  }
  if (p.sparseTensorType) {
    return { type: { dtype: dtypeFromOnnx(p.sparseTensorType.elemType ?? 0), shape: dimsOf(p.sparseTensorType.shape) }, plain: p };
  }
  if (!p.sequenceType && !p.optionalType && !p.mapType && !p.opaqueType) return { type: null, plain: p.denotation ? p : undefined };
  return { type: null, plain: p };
}

export function tensorTypeToPlain(t: TensorType): PlainType {
  const tensorType: NonNullable<PlainType['tensorType']> = { elemType: dtypeCode(t.dtype) };
  if (t.shape) {
    tensorType.shape = {
      dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { tensorType };
}


// --- tensors ----------------------------------------------------------------------------------

/** A big payload left where it is: a file range or (in-memory input) a view. */
export interface LazyPayload {
  /** 9 raw_data, 4 float_data (packed float32 LE), 10 double_data (packed float64 LE). */
  field: 9 | 4 | 10;
  data: TensorData & ({ kind: 'file' } | { kind: 'bytes' });
  length: number;
}

/** External data waiting for its location to be resolved and checked. */
export interface PendingExternal {
  constant: Constant;
  location: string;
  offset: number;
  length: number | undefined;
  where: string;
}

export interface TensorContext {
  /** Copy byte views that alias a reusable window (file input). */
  copyBytes: boolean;
  externals: PendingExternal[];
}

export function dimsToShape(dims: Int64[] | null | undefined, where: string): number[] {
  const out: number[] = [];
  for (const d of dims ?? []) {
    const n = int64ToNumber(d, `A dimension of ${where}`);
    if (n < 0) throw new ModelError('corrupt', `${where} has a negative dimension (${n}).`);
    out.push(n);
  }
  return out;
}

function count(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A decoded TensorProto (whose big payload may have been left in the file: `lazy`) to a Constant.
 * Typed fields (float_data, int32_data, ...) become raw little-endian bytes so the rest of the
 * code sees one layout.
 */
export function convertTensor(tp: onnx.TensorProto, where: string, ctx: TensorContext, lazy?: LazyPayload): Constant {
  const dtype = dtypeFromOnnx(tp.dataType ?? 0);
  const name = tp.name ?? '';
  const label = name ? `tensor '${name}' (${where})` : where;
  const shape = dimsToShape(tp.dims, label);
  const n = count(shape);
  const c: Constant = { name, dtype, shape, data: { kind: 'none' } };
  if (tp.docString || tp.metadataProps?.length) {
    c.formatExtras = {};
    if (tp.docString) c.formatExtras.doc = tp.docString;
    if (tp.metadataProps?.length) c.formatExtras.metadataProps = tp.metadataProps.map((kv) => ({ key: kv.key ?? '', value: kv.value ?? '' }));
  }

  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = new Map((tp.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new ModelError('corrupt', `${label} says its data is external but names no location.`);
    const offset = parseNonNegative(kv.get('offset'), 'offset', label) ?? 0;
    const length = parseNonNegative(kv.get('length'), 'length', label);
    ctx.externals.push({ constant: c, location, offset, length, where: label });
    return c;
  }

  if (dtype === 'string') {
    c.data = { kind: 'strings', values: (tp.stringData ?? []).map(bytesToString) };
    if (c.data.values.length !== n) throw new ModelError('corrupt', `${label} has ${c.data.values.length} strings but its shape [${shape.join(',')}] needs ${n}.`);
    return c;
  }

  const need = rawByteLength(dtype, n);
  const check = (len: number, source: string): void => {
    if (need !== undefined && len !== need) {
      throw new ModelError('corrupt', `${label} has ${len} bytes of ${source} but ${dtype}[${shape.join(',')}] needs ${need}.`);
    }
  };

  if (lazy) {
    const okField = lazy.field === 9 || (lazy.field === 4 && (dtype === 'float32' || dtype === 'complex64'))
      || (lazy.field === 10 && (dtype === 'float64' || dtype === 'complex128'));
    if (!okField) throw new ModelError('corrupt', `${label} stores ${dtype} data in a field meant for another type.`);
    check(lazy.length, 'data');
    c.data = lazy.data;
    return c;
  }

  if (tp.rawData && (tp.rawData.length > 0 || has(tp, 'rawData'))) {
    check(tp.rawData.length, 'raw_data');
    c.data = { kind: 'bytes', bytes: ctx.copyBytes ? new Uint8Array(tp.rawData) : tp.rawData };
    return c;
  }

  const typed = typedToRaw(tp, dtype, label);
  if (typed) {
    check(typed.length, 'data');
    c.data = { kind: 'bytes', bytes: typed };
  } else if (n === 0 || need === 0) {
    c.data = { kind: 'bytes', bytes: new Uint8Array(0) };
  }
  return c;
}

function parseNonNegative(s: string | undefined, key: string, label: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d{1,16}$/.test(s.trim())) throw new ModelError('corrupt', `${label} has an invalid external data ${key} '${s.slice(0, 40)}'.`);
  return Number(s.trim());
}

function typedToRaw(tp: onnx.TensorProto, dtype: DType, label: string): Uint8Array | undefined {
  const bad = (field: string): ModelError => new ModelError('corrupt', `${label} stores ${dtype} data in ${field}, which is meant for other types.`);
  if (tp.floatData?.length) {
    if (dtype !== 'float32' && dtype !== 'complex64') throw bad('float_data');
    return new Uint8Array(Float32Array.from(tp.floatData).buffer);
  }
  if (tp.doubleData?.length) {
    if (dtype !== 'float64' && dtype !== 'complex128') throw bad('double_data');
    return new Uint8Array(Float64Array.from(tp.doubleData).buffer);
  }
  if (tp.int64Data?.length) {
    if (dtype !== 'int64') throw bad('int64_data');
    const out = new BigInt64Array(tp.int64Data.length);
    tp.int64Data.forEach((v, i) => { out[i] = typeof v === 'number' ? BigInt(v) : BigInt(v.toString()); });
    return new Uint8Array(out.buffer);
  }
  if (tp.uint64Data?.length) {
    if (dtype === 'uint32') return new Uint8Array(Uint32Array.from(tp.uint64Data, (v) => (typeof v === 'number' ? v : v.toNumber())).buffer);
    if (dtype !== 'uint64') throw bad('uint64_data');
    const out = new BigUint64Array(tp.uint64Data.length);
    tp.uint64Data.forEach((v, i) => { out[i] = BigInt.asUintN(64, typeof v === 'number' ? BigInt(v) : BigInt(v.toString())); });
    return new Uint8Array(out.buffer);
  }
  if (tp.int32Data?.length) {
    const src = tp.int32Data;
    switch (dtype) {
      case 'int32': return new Uint8Array(Int32Array.from(src).buffer);
      case 'int16': case 'uint16': case 'float16': case 'bfloat16':
        return new Uint8Array(Uint16Array.from(src, (v) => v & 0xffff).buffer);
      case 'int8': case 'uint8': case 'bool': case 'float8e4m3fn': case 'float8e4m3fnuz': case 'float8e5m2':
      case 'float8e5m2fnuz': case 'float8e8m0':
      // Sub-byte types: each int32 entry holds one already-packed byte (2 x 4-bit or 4 x 2-bit).
      case 'int4': case 'uint4': case 'float4e2m1': case 'int2': case 'uint2':
        return Uint8Array.from(src, (v) => v & 0xff);
      default: throw bad('int32_data');
    }
  }
  return undefined;
}
