/**
 * TFLite details the format-neutral graph model has no place for, kept in Model.formatExtras.tflite
 * so the writer can reproduce a file faithfully. Everything here is plain data (structured-clone
 * and JSON friendly, no class instances, no bigint), keyed by value names and by node, never by
 * object identity, so it survives a copy of the model.
 *
 * The writer treats these as hints: the graph model is the truth. If a node or value was changed or
 * added, the writer falls back to what the graph model says and to schema defaults.
 */
import type { Model, Node, TensorData } from '../../model';

export const EXTRAS_KEY = 'tflite';

export interface TfliteOperatorCode {
  deprecatedBuiltinCode: number;
  builtinCode: number;
  customCode?: string;
  version: number;
}

export interface TfliteSparseIndexVector {
  type: 'Int32Vector' | 'Uint16Vector' | 'Uint8Vector';
  values: number[];
}

export interface TfliteSparsity {
  traversalOrder: number[];
  blockMap: number[];
  dimMetadata: {
    format: 'DENSE' | 'SPARSE_CSR';
    denseSize: number;
    arraySegments?: TfliteSparseIndexVector;
    arrayIndices?: TfliteSparseIndexVector;
  }[];
}

export type TfliteQuantDetails =
  | { type: 'CustomQuantization'; custom: number[] }
  /** scales / zeroPoints are value names in the same graph ('' = none). */
  | { type: 'BlockwiseQuantization'; scales: string; zeroPoints: string; blockSize: number }
  | { type: 'MultiAxisQuantization'; scales: string; zeroPoints: string; blockSize: number; quantizedDimensions: number[] };

export interface TfliteTensorExtra {
  /** The name in the file when Value.name had to be made unique. */
  fileName?: string;
  /** The file's `shape` when dims are unknown (it holds placeholders such as 1 there). */
  shape?: number[];
  /** The file had a shape_signature. */
  shapeSignature?: boolean;
  hasRank?: boolean;
  /** TensorType code when the graph model cannot name it (dtype 'unknown'). */
  typeCode?: number;
  /** Quantization the graph model's QuantParams cannot carry. */
  quantMinMaxOnly?: { min: number[]; max: number[]; quantizedDimension: number };
  quantDetails?: TfliteQuantDetails;
  sparsity?: TfliteSparsity;
  variantTensors?: { shape: number[]; type: number; hasRank: boolean }[];
  /** ExternalBuffer.packing of data read from an external file (the writer inlines such data). */
  externalPacking?: string;
}

export interface TfliteOpExtra {
  /** Sanity checks: the extra applies only to a node that still has this op and first output. */
  opType: string;
  firstOutput: string;
  opcodeIndex: number;
  /** Union member names ('' = none, undefined = the file had an unknown type code). */
  builtinOptionsType: string;
  builtinOptions2Type: string;
  /** Raw custom_options bytes (flexbuffer for custom ops). */
  customOptions?: TensorData;
  customOptionsFormat?: number;
  mutatingVariableInputs?: boolean[];
  /** Value names of the operator's intermediate tensors (quantized LSTM). */
  intermediates?: string[];
  debugMetadataIndex?: number;
}

export interface TfliteGraphExtra {
  /** The subgraph name in the file ('' when the reader synthesised Graph.name). */
  fileName: string;
  debugMetadataIndex?: number;
  tensors: Record<string, TfliteTensorExtra>;
  /** Keyed by opKey(node, index). */
  ops: Record<string, TfliteOpExtra>;
  /** Subgraph inputs that are constants (the graph model lists runtime inputs only). */
  constantInputs?: string[];
}

export interface TfliteMetadataEntry {
  name: string;
  /** What Model.metadata showed for it; if unchanged, the original bytes are written back. */
  shown: string;
  bytes: TensorData;
}

export interface TfliteExtras {
  version: number;
  operatorCodes: TfliteOperatorCode[];
  graphs: TfliteGraphExtra[];
  metadata: TfliteMetadataEntry[];
  /** Model.description was empty in the file (the reader shows none). */
  hadDescription: boolean;
  /** The file stored some buffers beyond the flatbuffer (buffer.offset/size). */
  usedBufferOffsets: boolean;
}

/** Key of a node's extra: its first output name, or its index when it has none. */
export function opKey(node: Pick<Node, 'outputs'>, index: number): string {
  const o = node.outputs.find((x) => x !== '');
  return o !== undefined ? `o:${o}` : `i:${index}`;
}

export function getTfliteExtras(model: Model): TfliteExtras | undefined {
  const e = model.formatExtras?.[EXTRAS_KEY];
  if (!e || typeof e !== 'object') return undefined;
  const x = e as Partial<TfliteExtras>;
  if (!Array.isArray(x.graphs) || !Array.isArray(x.operatorCodes)) return undefined;
  return x as TfliteExtras;
}
