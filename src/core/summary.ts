/** The model summary that `quantlens inspect`, the editor's first view and the tests share. */
import { allGraphs, elementCount, mainGraph, type Dim, type DType, type Graph, type Model } from './model';

export interface IoSummary {
  name: string;
  dtype: DType | 'unknown';
  shape: Dim[] | null;
}

export type QuantScheme =
  | 'none'
  | 'qdq'            // ONNX QuantizeLinear/DequantizeLinear pairs around float ops
  | 'qoperator'      // ONNX QLinearConv, QLinearMatMul, ...
  | 'dynamic'        // ONNX DynamicQuantizeLinear + ConvInteger/MatMulInteger
  | 'fp16'           // float16 weights, no integer quantization
  | 'tflite-int8'    // TFLite int8 activations and weights
  | 'tflite-int16x8' // TFLite int16 activations, int8 weights
  | 'tflite-dynamic-range' // TFLite int8 weights with float activations (hybrid)
  | 'mixed';

export interface QuantizationSummary {
  scheme: QuantScheme;
  /** Every scheme seen, when more than one. */
  schemes: QuantScheme[];
  /** Number of values (tensors) that carry quantization parameters. */
  quantizedTensorCount: number;
  /** Ops that implement the detected scheme, with counts. */
  quantOps: Record<string, number>;
}

export interface ModelSummary {
  format: Model['format'];
  producer: string;
  /** ONNX: the default-domain opset; TFLite: the schema version. */
  opsetOrVersion: number;
  formatVersion: number;
  opsets: { domain: string; version: number }[];
  inputs: IoSummary[];
  outputs: IoSummary[];
  /** Nodes in every graph: main graph, subgraphs and function bodies. */
  nodeCount: number;
  /** Nodes in the main graph only. */
  mainGraphNodeCount: number;
  /** Nodes inside subgraphs (If / Loop / Scan bodies, TFLite subgraphs, function bodies). */
  subgraphNodeCount: number;
  opHistogram: Record<string, number>;
  initializerCount: number;
  /** Constant nodes holding a tensor (models that keep their weights there rather than in initializers). */
  constantNodeCount: number;
  /** Elements in all constant tensors (weights, biases, shape constants): initializers and Constant nodes. */
  parameterCount: number;
  /** Graphs other than the main graph: nested ONNX bodies, TFLite subgraphs, function bodies. */
  subgraphCount: number;
  fileSize: number;
  metadata: Record<string, string>;
  quantization: QuantizationSummary;
}

const QOPERATOR_OPS = new Set([
  'QLinearConv', 'QLinearMatMul', 'QLinearAdd', 'QLinearMul', 'QLinearAveragePool',
  'QLinearGlobalAveragePool', 'QLinearConcat', 'QLinearLeakyRelu', 'QLinearSigmoid',
  'QLinearSoftmax', 'QLinearReduceMean', 'QLinearWhere', 'QGemm', 'QAttention', 'QEmbedLayerNormalization',
]);
const DYNAMIC_OPS = new Set(['DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat']);
const QDQ_OPS = new Set(['QuantizeLinear', 'DequantizeLinear']);

function ioSummary(g: Graph, names: string[]): IoSummary[] {
  return names.map((name) => {
    const v = g.values.get(name);
    return { name, dtype: v?.type?.dtype ?? 'unknown', shape: v?.type?.shape ?? null };
  });
}

export function summarize(model: Model): ModelSummary {
  const main = mainGraph(model);
  const opHistogram: Record<string, number> = {};
  let nodeCount = 0;
  let graphCount = 0;
  let initializerCount = 0;
  let parameterCount = 0;
  let constantNodeCount = 0;
  for (const g of allGraphs(model)) {
    graphCount++;
    nodeCount += g.nodes.length;
    for (const n of g.nodes) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      opHistogram[key] = (opHistogram[key] ?? 0) + 1;
      // weights kept in Constant nodes (PaddlePaddle exports, for example) are parameters too
      if (n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')) {
        const a = n.attributes.find((x) => x.value.type === 'tensor' || x.value.type === 'sparse_tensor');
        if (a && (a.value.type === 'tensor' || a.value.type === 'sparse_tensor')) {
          constantNodeCount++;
          parameterCount += elementCount(a.value.value.shape);
        }
      }
    }
    for (const name of g.initializers) {
      const c = g.values.get(name)?.constant;
      if (!c) continue;
      initializerCount++;
      parameterCount += elementCount(c.shape);
    }
  }
  const defaultOpset = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return {
    format: model.format,
    producer: model.producer,
    opsetOrVersion: model.format === 'onnx' ? defaultOpset?.version ?? 0 : model.formatVersion,
    formatVersion: model.formatVersion,
    opsets: model.opsets,
    inputs: ioSummary(main, main.inputs),
    outputs: ioSummary(main, main.outputs),
    nodeCount,
    mainGraphNodeCount: main.nodes.length,
    subgraphNodeCount: nodeCount - main.nodes.length,
    opHistogram,
    initializerCount,
    constantNodeCount,
    parameterCount,
    subgraphCount: graphCount - 1,
    fileSize: model.fileSize,
    metadata: model.metadata,
    quantization: detectQuantization(model),
  };
}

/** Which quantization scheme a model already uses, from its ops (ONNX) or tensor types (TFLite). */
export function detectQuantization(model: Model): QuantizationSummary {
  const schemes = new Set<QuantScheme>();
  const quantOps: Record<string, number> = {};
  let quantizedTensorCount = 0;
  let floatWeights = 0;
  let fp16Weights = 0;
  let int8Activations = 0;
  let int16Activations = 0;
  let intWeights = 0;
  let floatActivations = 0;

  for (const g of allGraphs(model)) {
    for (const n of g.nodes) {
      const op = n.opType;
      if (model.format === 'onnx') {
        if (QOPERATOR_OPS.has(op)) schemes.add('qoperator');
        else if (DYNAMIC_OPS.has(op)) schemes.add('dynamic');
        if (QOPERATOR_OPS.has(op) || DYNAMIC_OPS.has(op) || QDQ_OPS.has(op)) quantOps[op] = (quantOps[op] ?? 0) + 1;
        // QDQ: a DequantizeLinear of a stored integer weight, or of a QuantizeLinear's output, that
        // feeds a float op. QOperator models have DQ nodes too, but only on integer activations
        // coming out of QLinear* ops, at their float boundaries.
        if (op === 'DequantizeLinear') {
          const src = g.values.get(n.inputs[0] ?? '');
          const fromWeightOrQ = !!src && (src.constant !== undefined || (src.producer !== undefined && g.nodes[src.producer].opType === 'QuantizeLinear'));
          const feedsFloatOp = g.values.get(n.outputs[0] ?? '')?.consumers.some((ci) => !QDQ_OPS.has(g.nodes[ci].opType)) ?? false;
          if (fromWeightOrQ && feedsFloatOp) schemes.add('qdq');
        }
      }
    }
    for (const v of g.values.values()) {
      if (v.quant) quantizedTensorCount++;
      const dt = v.type?.dtype ?? v.constant?.dtype;
      if (v.constant) {
        if (dt === 'float32') floatWeights++;
        else if (dt === 'float16') fp16Weights++;
        else if (dt === 'int8' || dt === 'uint8' || dt === 'int4' || dt === 'uint4') intWeights++;
      } else if (model.format === 'tflite') {
        if ((dt === 'int8' || dt === 'uint8') && v.quant) int8Activations++;
        else if (dt === 'int16' && v.quant) int16Activations++;
        else if (dt === 'float32') floatActivations++;
      }
    }
  }

  if (model.format === 'tflite') {
    // 16x8 models keep some ops in int8, and int8 models may carry an int16 tensor or two (LSTM
    // state): call it 16x8 when int16 makes up at least a quarter of the quantized activations.
    const quantActs = int8Activations + int16Activations;
    if (quantActs > 0 && int16Activations / quantActs >= 0.25) schemes.add('tflite-int16x8');
    else if (int8Activations > 0) schemes.add('tflite-int8');
    else if (intWeights > 0 && floatActivations > 0) schemes.add('tflite-dynamic-range');
  }
  if (schemes.size === 0 && fp16Weights > 0 && fp16Weights >= floatWeights) schemes.add('fp16');

  const list = [...schemes];
  const scheme: QuantScheme = list.length === 0 ? 'none' : list.length === 1 ? list[0] : 'mixed';
  return { scheme, schemes: list, quantizedTensorCount, quantOps };
}

/** "250 (2 in the main graph, 248 in 18 subgraphs)": node counts, and how many graphs hold them. */
export function describeNodeCount(s: ModelSummary): string {
  if (!s.subgraphCount) return String(s.nodeCount);
  return `${s.nodeCount} (${s.mainGraphNodeCount} in the main graph, ${s.subgraphNodeCount} in ${s.subgraphCount} subgraph${s.subgraphCount === 1 ? '' : 's'})`;
}

/** "1,234 in 5 initializers and 3 Constant nodes": where the parameters are. */
export function describeParameters(s: ModelSummary): string {
  const where = [`${s.initializerCount} initializer${s.initializerCount === 1 ? '' : 's'}`];
  if (s.constantNodeCount) where.push(`${s.constantNodeCount} Constant node${s.constantNodeCount === 1 ? '' : 's'}`);
  return `${s.parameterCount.toLocaleString('en-US')} in ${where.join(' and ')}`;
}
