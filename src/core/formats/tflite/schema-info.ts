/**
 * What the reader and writer need to know about the TFLite schema beyond the generated accessors:
 * dtype and operator names, and how builtin-options tables map to graph-model attributes.
 *
 * Option field names, kinds and enum types come from `schema.json` (flatc --jsonschema), so
 * attributes carry the schema's snake_case names and enum values travel as their names. The object
 * API (`XxxOptionsT`) does the actual reading and packing of each table.
 */
import type { Attribute, AttributeValue, DType } from '../../model';
import * as tfl from '../../generated/tflite/schema_generated';
import schemaJson from '../../generated/tflite/schema.json';

// ---- dtypes ---------------------------------------------------------------------------------

const TENSOR_TYPE_DTYPES: Record<number, DType> = {
  [tfl.TensorType.FLOAT32]: 'float32',
  [tfl.TensorType.FLOAT16]: 'float16',
  [tfl.TensorType.INT32]: 'int32',
  [tfl.TensorType.UINT8]: 'uint8',
  [tfl.TensorType.INT64]: 'int64',
  [tfl.TensorType.STRING]: 'string',
  [tfl.TensorType.BOOL]: 'bool',
  [tfl.TensorType.INT16]: 'int16',
  [tfl.TensorType.COMPLEX64]: 'complex64',
  [tfl.TensorType.INT8]: 'int8',
  [tfl.TensorType.FLOAT64]: 'float64',
  [tfl.TensorType.COMPLEX128]: 'complex128',
  [tfl.TensorType.UINT64]: 'uint64',
  [tfl.TensorType.RESOURCE]: 'resource',
  [tfl.TensorType.VARIANT]: 'variant',
  [tfl.TensorType.UINT32]: 'uint32',
  [tfl.TensorType.UINT16]: 'uint16',
  [tfl.TensorType.INT4]: 'int4',
  [tfl.TensorType.BFLOAT16]: 'bfloat16',
  [tfl.TensorType.INT2]: 'int2',
  [tfl.TensorType.UINT4]: 'uint4',
  [tfl.TensorType.FLOAT8_E4M3FN]: 'float8e4m3fn',
  [tfl.TensorType.FLOAT8_E5M2]: 'float8e5m2',
};

const DTYPE_TENSOR_TYPES = new Map<DType, number>(
  Object.entries(TENSOR_TYPE_DTYPES).map(([code, dt]) => [dt, Number(code)]),
);

export function dtypeOfTensorType(code: number): DType {
  return TENSOR_TYPE_DTYPES[code] ?? 'unknown';
}

/** undefined when TFLite has no such type (for example float8e4m3fnuz). */
export function tensorTypeOfDtype(dtype: DType): number | undefined {
  return DTYPE_TENSOR_TYPES.get(dtype);
}

export const INTEGER_DTYPES: ReadonlySet<DType> = new Set<DType>([
  'int2', 'uint2', 'int4', 'uint4', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
]);

// ---- operators ------------------------------------------------------------------------------

const UNKNOWN_OP_PREFIX = 'BUILTIN_OP_';

/** The BuiltinOperator enum name, or BUILTIN_OP_<code> for codes newer than our schema. */
export function builtinOpName(code: number): string {
  const name = (tfl.BuiltinOperator as unknown as Record<number, string>)[code];
  return typeof name === 'string' ? name : `${UNKNOWN_OP_PREFIX}${code}`;
}

export function builtinOpCode(name: string): number | undefined {
  const code = (tfl.BuiltinOperator as unknown as Record<string, number>)[name];
  if (typeof code === 'number') return code;
  if (name.startsWith(UNKNOWN_OP_PREFIX)) {
    const n = Number(name.slice(UNKNOWN_OP_PREFIX.length));
    if (Number.isInteger(n) && n >= 0 && n <= 0x7fffffff) return n;
  }
  return undefined;
}

/**
 * TFLite keeps opcodes < 127 in the int8 `deprecated_builtin_code` and all of them in the int32
 * `builtin_code` (schema 3a). Readers take the larger of the two, as TFLite does, so files from
 * before 3a (builtin_code absent, 0) and after both work.
 */
export function resolveBuiltinCode(deprecatedCode: number, builtinCode: number): number {
  return Math.max(deprecatedCode, builtinCode);
}

export const PLACEHOLDER_FOR_GREATER_OP_CODES = tfl.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES;

// ---- builtin options <-> attributes ----------------------------------------------------------

type FieldKind =
  | 'int' | 'long' | 'float' | 'bool' | 'string' | 'enum' | 'object'
  | 'ints' | 'longs' | 'floats' | 'bools' | 'strings' | 'enums' | 'objects';

interface FieldInfo {
  /** schema (snake_case) name */
  name: string;
  /** object-API (camelCase) property name */
  key: string;
  kind: FieldKind;
  /** enum or table name (without namespace) for enum/object kinds */
  ref?: string;
}

interface JsonSchemaProp {
  type?: string;
  $ref?: string;
  items?: JsonSchemaProp;
  maximum?: number;
  deprecated?: boolean;
  enum?: string[];
  properties?: Record<string, JsonSchemaProp>;
  anyOf?: unknown[];
}

const DEFS = (schemaJson as unknown as { definitions: Record<string, JsonSchemaProp> }).definitions;
const NS = 'tflite_';

function refName(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.startsWith(NS) ? last.slice(NS.length) : last;
}

function isEnumDef(name: string): boolean {
  return Array.isArray(DEFS[NS + name]?.enum);
}

function scalarKind(p: JsonSchemaProp): { kind: 'int' | 'long' | 'float' | 'bool' | 'string' | 'enum' | 'object'; ref?: string } {
  if (p.$ref) {
    const r = refName(p.$ref);
    return isEnumDef(r) ? { kind: 'enum', ref: r } : { kind: 'object', ref: r };
  }
  switch (p.type) {
    case 'integer':
      return { kind: (p.maximum ?? 0) > 4294967295 ? 'long' : 'int' };
    case 'number':
      return { kind: 'float' };
    case 'boolean':
      return { kind: 'bool' };
    case 'string':
      return { kind: 'string' };
    default:
      return { kind: 'object' };
  }
}

const tableFieldCache = new Map<string, FieldInfo[] | null>();

function normalise(s: string): string {
  return s.replace(/_/g, '').toLowerCase();
}

/** Fields of a schema table in declaration order, matched to the object-API property names. */
export function tableFields(table: string): FieldInfo[] | null {
  const cached = tableFieldCache.get(table);
  if (cached !== undefined) return cached;
  const def = DEFS[NS + table];
  const ctor = objectApiClass(table);
  if (!def?.properties || !ctor) {
    tableFieldCache.set(table, null);
    return null;
  }
  const keys = Object.keys(new ctor());
  const byNorm = new Map(keys.map((k) => [normalise(k), k]));
  const fields: FieldInfo[] = [];
  for (const [name, p] of Object.entries(def.properties)) {
    if (p.deprecated) continue; // the object API leaves deprecated fields out
    const key = byNorm.get(normalise(name));
    if (!key) continue;
    if (p.type === 'array' && p.items) {
      const s = scalarKind(p.items);
      fields.push({ name, key, kind: `${s.kind}s` as FieldKind, ref: s.ref });
    } else if (p.anyOf) {
      continue; // unions inside option tables do not exist in this schema
    } else {
      const s = scalarKind(p);
      fields.push({ name, key, kind: s.kind, ref: s.ref });
    }
  }
  tableFieldCache.set(table, fields);
  return fields;
}

type ObjectApiCtor = new () => Record<string, unknown> & { pack(b: unknown): number };

function objectApiClass(table: string): ObjectApiCtor | undefined {
  const c = (tfl as unknown as Record<string, unknown>)[`${table}T`];
  return typeof c === 'function' ? (c as ObjectApiCtor) : undefined;
}

function enumObject(name: string): Record<string | number, string | number> | undefined {
  const e = (tfl as unknown as Record<string, unknown>)[name];
  return e && typeof e === 'object' ? (e as Record<string | number, string | number>) : undefined;
}

function enumName(enumType: string, v: number): string | number {
  const e = enumObject(enumType);
  const n = e?.[v];
  return typeof n === 'string' ? n : v;
}

function enumValue(enumType: string, v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const e = enumObject(enumType);
  const n = typeof v === 'string' ? e?.[v] : undefined;
  if (typeof n !== 'number') throw new Error(`${where}: '${String(v)}' is not a ${enumType} value`);
  return n;
}

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A nested table (object-API instance) as plain JSON-shaped data, enums by name. */
function tableToPlain(table: string, obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = tableFields(table);
  if (!fields || depth > 8) return out;
  for (const f of fields) out[f.name] = plainValue(f, obj[f.key], depth);
  return out;
}

function plainValue(f: FieldInfo, v: unknown, depth: number): unknown {
  switch (f.kind) {
    case 'enum':
      return enumName(f.ref!, Number(v));
    case 'enums':
      return (v as number[]).map((x) => enumName(f.ref!, x));
    case 'long':
      return toNumberIfSafe(BigInt(v as bigint));
    case 'longs':
      return (v as bigint[]).map((x) => toNumberIfSafe(BigInt(x)));
    case 'object':
      return v ? tableToPlain(f.ref!, v as Record<string, unknown>, depth + 1) : null;
    case 'objects':
      return (v as Record<string, unknown>[]).map((x) => tableToPlain(f.ref!, x, depth + 1));
    case 'bools':
      return (v as boolean[]).map(Boolean);
    default:
      return v;
  }
}

/** Attributes for one unpacked builtin-options table, in schema order. */
export function optionsToAttributes(table: string, obj: Record<string, unknown>): Attribute[] {
  const fields = tableFields(table);
  if (!fields) return [];
  const attrs: Attribute[] = [];
  for (const f of fields) {
    const v = obj[f.key];
    let value: AttributeValue;
    switch (f.kind) {
      case 'int':
        value = { type: 'int', value: Number(v) };
        break;
      case 'long':
        value = { type: 'int', value: toNumberIfSafe(BigInt(v as bigint)) };
        break;
      case 'float':
        value = { type: 'float', value: Number(v) };
        break;
      case 'bool':
        value = { type: 'bool', value: Boolean(v) };
        break;
      case 'string':
        value = { type: 'string', value: v === null || v === undefined ? '' : String(v) };
        break;
      case 'enum': {
        const n = enumName(f.ref!, Number(v));
        value = typeof n === 'string' ? { type: 'string', value: n } : { type: 'int', value: n };
        break;
      }
      case 'ints':
        value = { type: 'ints', value: (v as number[]).map(Number) };
        break;
      case 'longs':
        value = { type: 'ints', value: (v as bigint[]).map((x) => toNumberIfSafe(BigInt(x))) };
        break;
      case 'floats':
        value = { type: 'floats', value: (v as number[]).map(Number) };
        break;
      case 'bools':
        value = { type: 'ints', value: (v as boolean[]).map((x) => (x ? 1 : 0)) };
        break;
      case 'strings':
        value = { type: 'strings', value: (v as unknown[]).map(String) };
        break;
      case 'enums':
        value = { type: 'strings', value: (v as number[]).map((x) => String(enumName(f.ref!, x))) };
        break;
      default:
        value = { type: 'object', value: plainValue(f, v, 0) };
    }
    attrs.push({ name: f.name, value });
  }
  return attrs;
}

/** Number of scalar elements in an unpacked options table (for the reader's work budget). */
export function optionsElementCount(table: string, obj: Record<string, unknown>): number {
  let n = 0;
  for (const f of tableFields(table) ?? []) {
    const v = obj[f.key];
    n += Array.isArray(v) ? v.length + 1 : 1;
  }
  return n;
}

function attrRaw(a: AttributeValue): unknown {
  switch (a.type) {
    case 'tensor':
    case 'tensors':
    case 'sparse_tensor':
    case 'graph':
    case 'graphs':
    case 'type':
      return undefined;
    default:
      return a.value;
  }
}

function fieldFromPlain(f: FieldInfo, v: unknown, where: string, depth: number): unknown {
  const w = `${where}.${f.name}`;
  const num = (x: unknown): number => {
    if (typeof x === 'boolean') return x ? 1 : 0;
    const n = Number(x);
    if (!Number.isFinite(n) && !(typeof x === 'number')) throw new Error(`${w}: expected a number, got ${String(x)}`);
    return n;
  };
  const arr = (x: unknown): unknown[] => {
    if (!Array.isArray(x)) throw new Error(`${w}: expected a list`);
    return x;
  };
  switch (f.kind) {
    case 'int':
    case 'float':
      return num(v);
    case 'long':
      return BigInt(typeof v === 'bigint' ? v : Math.trunc(num(v)));
    case 'bool':
      return typeof v === 'boolean' ? v : num(v) !== 0;
    case 'string':
      return v === null || v === undefined ? null : String(v);
    case 'enum':
      return enumValue(f.ref!, v, w);
    case 'ints':
    case 'floats':
      return arr(v).map(num);
    case 'longs':
      return arr(v).map((x) => BigInt(typeof x === 'bigint' ? x : Math.trunc(num(x))));
    case 'bools':
      return arr(v).map((x) => (typeof x === 'boolean' ? x : num(x) !== 0));
    case 'strings':
      return arr(v).map(String);
    case 'enums':
      return arr(v).map((x) => enumValue(f.ref!, x, w));
    case 'object':
      return v === null || v === undefined ? null : plainToTable(f.ref!, v as Record<string, unknown>, w, depth + 1);
    case 'objects':
      return arr(v).map((x) => plainToTable(f.ref!, x as Record<string, unknown>, w, depth + 1));
  }
}

function plainToTable(table: string, plain: Record<string, unknown>, where: string, depth: number): Record<string, unknown> {
  const ctor = objectApiClass(table);
  const fields = tableFields(table);
  if (!ctor || !fields || depth > 8) throw new Error(`${where}: cannot build table ${table}`);
  const obj = new ctor();
  for (const f of fields) {
    if (plain[f.name] === undefined) continue;
    obj[f.key] = fieldFromPlain(f, plain[f.name], where, depth);
  }
  return obj;
}

/**
 * An object-API options instance (ready to pack) from attributes. Attributes the table does not
 * have are ignored; fields without an attribute keep the schema default.
 */
export function attributesToOptions(table: string, attrs: readonly Attribute[], where: string): { pack(b: unknown): number } | null {
  const ctor = objectApiClass(table);
  const fields = tableFields(table);
  if (!ctor || !fields) return null;
  const obj = new ctor();
  const byName = new Map(attrs.map((a) => [a.name, a.value]));
  for (const f of fields) {
    const a = byName.get(f.name);
    if (!a) continue;
    const raw = attrRaw(a);
    if (raw === undefined) continue;
    obj[f.key] = fieldFromPlain(f, raw, where, 0);
  }
  return obj;
}

/** Names of the BuiltinOptions / BuiltinOptions2 union members. */
export function optionsUnionName(union: 1 | 2, typeCode: number): string | undefined {
  const e = union === 1 ? tfl.BuiltinOptions : tfl.BuiltinOptions2;
  const n = (e as unknown as Record<number, string>)[typeCode];
  return typeof n === 'string' && n !== 'NONE' ? n : undefined;
}

export function optionsUnionCode(union: 1 | 2, name: string): number | undefined {
  const e = union === 1 ? tfl.BuiltinOptions : tfl.BuiltinOptions2;
  const n = (e as unknown as Record<string, number>)[name];
  return typeof n === 'number' ? n : undefined;
}

// Operators whose options table name does not follow from the operator name.
const OPTIONS_OVERRIDES: Record<string, string> = {
  AVERAGE_POOL_2D: 'Pool2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  L2_POOL_2D: 'Pool2DOptions',
  MEAN: 'ReducerOptions',
  SUM: 'ReducerOptions',
  REDUCE_PROD: 'ReducerOptions',
  REDUCE_MAX: 'ReducerOptions',
  REDUCE_MIN: 'ReducerOptions',
  REDUCE_ANY: 'ReducerOptions',
  REDUCE_ALL: 'ReducerOptions',
  MAXIMUM: 'MaximumMinimumOptions',
  MINIMUM: 'MaximumMinimumOptions',
  L2_NORMALIZATION: 'L2NormOptions',
  UNIDIRECTIONAL_SEQUENCE_RNN: 'SequenceRNNOptions',
  RANDOM_STANDARD_NORMAL: 'RandomOptions',
  RANDOM_UNIFORM: 'RandomOptions',
  MULTINOMIAL: 'RandomOptions',
  LSH_PROJECTION: 'LSHProjectionOptions',
  CONCAT_EMBEDDINGS: 'ConcatEmbeddingsOptions',
  EMBEDDING_LOOKUP_SPARSE: 'EmbeddingLookupSparseOptions',
  RFFT2D: 'Rfft2dOptions',
  STABLEHLO_COMPOSITE: 'StableHLOCompositeOptions',
};

let optionsByNorm: Map<string, { union: 1 | 2; name: string }> | null = null;

/**
 * The options table an operator conventionally carries, for nodes the reader did not produce
 * (for example ones a quantizer inserted). undefined when the operator has none.
 */
export function defaultOptionsFor(opName: string): { union: 1 | 2; name: string } | undefined {
  if (!optionsByNorm) {
    optionsByNorm = new Map();
    for (const union of [1, 2] as const) {
      const e = union === 1 ? tfl.BuiltinOptions : tfl.BuiltinOptions2;
      for (const k of Object.keys(e)) {
        if (!Number.isNaN(Number(k)) || k === 'NONE') continue;
        optionsByNorm.set(normalise(k.replace(/Options$/, '')), { union, name: k });
      }
    }
  }
  const o = OPTIONS_OVERRIDES[opName];
  if (o) {
    const u1 = optionsUnionCode(1, o) !== undefined ? 1 : 2;
    return { union: u1, name: o };
  }
  return optionsByNorm.get(normalise(opName));
}
