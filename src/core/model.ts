/**
 * The format-neutral graph model. Both the ONNX and the TFLite readers produce it, and everything
 * else (summary, graph view, quantization, writers) reads only this. Nothing here may import
 * 'vscode' or the DOM.
 */

export type ModelFormat = 'onnx' | 'tflite';

/** Element types across both formats. Names follow numpy where one exists. */
export type DType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float8e8m0' | 'float4e2m1'
  | 'int2' | 'uint2' | 'int4' | 'uint4'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string' | 'complex64' | 'complex128'
  | 'resource' | 'variant' | 'unknown';

/** A dimension: a fixed size, a symbolic name such as 'batch', or null when unknown. */
export type Dim = number | string | null;

export interface TensorType {
  dtype: DType;
  /** null when even the rank is unknown. */
  shape: Dim[] | null;
}

/**
 * Where a constant's bytes are. Large payloads stay in the file and are read on request, so a
 * model opens in about the time it takes to read its structure.
 */
export type TensorData =
  /** Raw little-endian element bytes (ONNX raw_data layout) at a byte range of a file. */
  | { kind: 'file'; path: string; offset: number; length: number }
  /** Raw little-endian element bytes already in memory (small tensors, typed protobuf fields). */
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'strings'; values: string[] }
  /** ONNX sparse tensor: values and (COO) indices, both constants themselves. */
  | { kind: 'sparse'; values: Constant; indices: Constant }
  /** Declared but without data (for example a TFLite variable tensor, or an empty buffer). */
  | { kind: 'none' };

export interface Constant {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
  /** Format-specific data only that format's writer reads (see Model.formatExtras). */
  formatExtras?: Record<string, unknown>;
}

/** Quantization of an already-quantized tensor: real = scale * (q - zeroPoint). */
export interface QuantParams {
  /** One entry per tensor, or one per channel along `axis`. */
  scale: number[];
  zeroPoint: number[];
  axis?: number;
  /** The stored integer type, such as int8 or uint8. */
  quantizedType?: DType;
  /** TFLite keeps the calibrated float range too. */
  min?: number[];
  max?: number[];
  /** Where the parameters came from. */
  origin: 'tflite' | 'qdq' | 'qoperator' | 'dynamic';
}

export interface Value {
  /** Unique within its graph. TFLite tensors with duplicate or empty names get a '#index' suffix. */
  name: string;
  type: TensorType | null;
  /**
   * Set when `type` was completed from the graph (see formats/onnx/infer.ts): that type and what the
   * file itself declared (null for nothing). While `type` is still that object, writers write the
   * declared one, so inferred types never enter a file; a type set later is written as usual.
   */
  inferred?: { type: TensorType; declared: TensorType | null };
  /** Set for initializers (ONNX) and tensors backed by a buffer (TFLite). */
  constant?: Constant;
  quant?: QuantParams;
  /** Index into Graph.nodes of the node that writes this value, if any. */
  producer?: number;
  /** Indices into Graph.nodes of the nodes that read this value. */
  consumers: number[];
  /** TFLite: a variable (state) tensor. */
  isVariable?: boolean;
  description?: string;
  /** Format-specific data only that format's writer reads (see Model.formatExtras). */
  formatExtras?: Record<string, unknown>;
}

export type AttributeValue =
  | { type: 'int'; value: number | bigint }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: (number | bigint)[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'bool'; value: boolean }
  | { type: 'tensor'; value: Constant }
  | { type: 'tensors'; value: Constant[] }
  | { type: 'sparse_tensor'; value: Constant }
  | { type: 'graph'; value: Graph }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'type'; value: TensorType }
  /** Format-specific structured value (for example a TFLite options sub-table), JSON-shaped. */
  | { type: 'object'; value: unknown };

export interface Attribute {
  name: string;
  /** ONNX: a reference to an attribute of the enclosing function. */
  refAttrName?: string;
  doc?: string;
  value: AttributeValue;
}

export interface Node {
  /** Display name. Never empty: readers synthesise `${opType}_${index}` for unnamed nodes. */
  name: string;
  /** True when `name` was synthesised because the file had none (writers then omit it). */
  nameSynthesised?: boolean;
  opType: string;
  /** '' is the default domain (ai.onnx, or TFLite builtins); 'com.microsoft', 'custom', ... */
  domain: string;
  /** Value names; '' marks an omitted optional input or output. */
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
  /** Nested graphs (ONNX If/Loop/Scan bodies), also reachable through graph attributes. */
  subgraphs: Graph[];
  doc?: string;
  /** Format-specific data only that format's writer reads (see Model.formatExtras). */
  formatExtras?: Record<string, unknown>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  /** Every value the graph mentions, keyed by Value.name. */
  values: Map<string, Value>;
  /** Runtime inputs, initializers excluded. */
  inputs: string[];
  outputs: string[];
  /** Initializer / constant-backed value names in file order. */
  initializers: string[];
  doc?: string;
  /** Format-specific data only that format's writer reads (see Model.formatExtras). */
  formatExtras?: Record<string, unknown>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface ModelFunction {
  name: string;
  domain: string;
  overload?: string;
  inputs: string[];
  outputs: string[];
  attributeNames: string[];
  opsets: OpsetImport[];
  graph: Graph;
  doc?: string;
  /** Format-specific data only that format's writer reads (see Model.formatExtras). */
  formatExtras?: Record<string, unknown>;
}

export interface Signature {
  key: string;
  subgraphIndex: number;
  inputs: { name: string; value: string }[];
  outputs: { name: string; value: string }[];
}

export interface Model {
  format: ModelFormat;
  /** Absolute path of the file the model was read from, when it came from disk. */
  path?: string;
  fileSize: number;
  /** 'pytorch 2.1.0', 'TOCO Converted.', ... */
  producer: string;
  /** ONNX IR version, or the TFLite schema version. */
  formatVersion: number;
  opsets: OpsetImport[];
  description: string;
  metadata: Record<string, string>;
  /** graphs[0] is the main graph. TFLite's other subgraphs follow; ONNX nested graphs live on nodes. */
  graphs: Graph[];
  functions: ModelFunction[];
  signatures: Signature[];
  /**
   * Format-specific data a writer needs to reproduce the file faithfully but nothing else reads
   * (for example TFLite operator-code versions or unknown extension fields).
   */
  formatExtras?: Record<string, unknown>;
}

export function mainGraph(model: Model): Graph {
  return model.graphs[0];
}

/** Every graph in the model, nested subgraphs and function bodies included, depth first. */
export function* allGraphs(model: Model): Generator<Graph> {
  const seen = new Set<Graph>();
  function* walk(g: Graph): Generator<Graph> {
    if (seen.has(g)) return;
    seen.add(g);
    yield g;
    for (const n of g.nodes) for (const s of n.subgraphs) yield* walk(s);
  }
  for (const g of model.graphs) yield* walk(g);
  for (const f of model.functions) yield* walk(f.graph);
}

const DTYPE_BITS: Partial<Record<DType, number>> = {
  float32: 32, float16: 16, bfloat16: 16, float64: 64,
  float8e4m3fn: 8, float8e4m3fnuz: 8, float8e5m2: 8, float8e5m2fnuz: 8, float8e8m0: 8, float4e2m1: 4,
  int2: 2, uint2: 2, int4: 4, uint4: 4, int8: 8, uint8: 8, int16: 16, uint16: 16,
  int32: 32, uint32: 32, int64: 64, uint64: 64, bool: 8, complex64: 64, complex128: 128,
};

/** Bits per element, or undefined for variable-size types (string). */
export function dtypeBits(dtype: DType): number | undefined {
  return DTYPE_BITS[dtype];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Dim[] | null): string {
  if (shape === null) return '?';
  return '[' + shape.map((d) => (d === null ? '?' : String(d))).join(',') + ']';
}

export function formatType(t: TensorType | null): string {
  return t ? `${t.dtype}${formatShape(t.shape)}` : 'unknown';
}
