/**
 * Quantization parameters of already-quantized ONNX models: read the scale / zero-point constants
 * of QDQ pairs, QOperator ops and the dynamic-quantization ops and attach them to the quantized
 * values.
 */
import { allGraphs, type Constant, type DType, type Graph, type Model, type Node, type QuantParams, type Value } from '../../model';
import { constantByteLength, constantNumbers } from './data';
import { dtypeFromOnnx as onnxCodeToDtype } from './dtypes';

/** One quantized value of an op: the value (input index, or `out` for output index), its scale and zero point. */
interface Slot {
  value: number | { out: number };
  scale: number | null;
  zp: number | null;
  /** Channel axis when per-channel: a number, or 'last' for MatMul's B (per column). */
  axis?: number | 'last';
}

type Origin = QuantParams['origin'];

const OUT0 = { out: 0 };
const BINARY: Slot[] = [{ value: 0, scale: 1, zp: 2 }, { value: 3, scale: 4, zp: 5 }, { value: OUT0, scale: 6, zp: 7 }];
const UNARY: Slot[] = [{ value: 0, scale: 1, zp: 2 }, { value: OUT0, scale: 3, zp: 4 }];

const SPECS: Record<string, { origin: Origin; slots: Slot[] }> = {
  QLinearConv: { origin: 'qoperator', slots: [{ value: 0, scale: 1, zp: 2 }, { value: 3, scale: 4, zp: 5, axis: 0 }, { value: OUT0, scale: 6, zp: 7 }] },
  QLinearMatMul: { origin: 'qoperator', slots: [{ value: 0, scale: 1, zp: 2 }, { value: 3, scale: 4, zp: 5, axis: 'last' }, { value: OUT0, scale: 6, zp: 7 }] },
  QLinearAdd: { origin: 'qoperator', slots: BINARY },
  QLinearMul: { origin: 'qoperator', slots: BINARY },
  QLinearAveragePool: { origin: 'qoperator', slots: UNARY },
  QLinearGlobalAveragePool: { origin: 'qoperator', slots: UNARY },
  QLinearLeakyRelu: { origin: 'qoperator', slots: UNARY },
  QLinearSigmoid: { origin: 'qoperator', slots: UNARY },
  QLinearSoftmax: { origin: 'qoperator', slots: UNARY },
  QLinearReduceMean: { origin: 'qoperator', slots: UNARY },
  QGemm: { origin: 'qoperator', slots: [{ value: 0, scale: 1, zp: 2 }, { value: 3, scale: 4, zp: 5, axis: 'last' }, { value: OUT0, scale: 7, zp: 8 }] },
  QLinearWhere: { origin: 'qoperator', slots: [{ value: 1, scale: 2, zp: 3 }, { value: 4, scale: 5, zp: 6 }, { value: OUT0, scale: 7, zp: 8 }] },
  QAttention: { origin: 'qoperator', slots: [{ value: 0, scale: 3, zp: 6 }, { value: 1, scale: 4, zp: 7, axis: 'last' }] },
  DynamicQuantizeMatMul: { origin: 'dynamic', slots: [{ value: 1, scale: 2, zp: 3, axis: 'last' }] },
  MatMulIntegerToFloat: { origin: 'dynamic', slots: [{ value: 0, scale: 2, zp: 4 }, { value: 1, scale: 3, zp: 5, axis: 'last' }] },
  ConvInteger: { origin: 'dynamic', slots: [{ value: 0, scale: null, zp: 2 }, { value: 1, scale: null, zp: 3, axis: 0 }] },
  MatMulInteger: { origin: 'dynamic', slots: [{ value: 0, scale: null, zp: 2 }, { value: 1, scale: null, zp: 3, axis: 'last' }] },
};

/** Scale tensors bigger than this are not read at open (they would be per-element, not per-channel). */
const MAX_PARAM_BYTES = 4 << 20;

export function attachQuantParams(model: Model, parents: Map<Graph, Graph>): void {
  for (const g of allGraphs(model)) {
    g.nodes.forEach((n) => {
      try {
        attachForNode(g, n, parents);
      } catch {
        // Parameters that cannot be read (odd shapes, unreadable data) leave the value unannotated.
      }
    });
  }
}

function attachForNode(g: Graph, n: Node, parents: Map<Graph, Graph>): void {
  const op = n.opType;
  if (op === 'QuantizeLinear' || op === 'DequantizeLinear') {
    const blockSize = intAttr(n, 'block_size', 0);
    if (blockSize > 0) return; // blocked quantization has no per-tensor/per-channel form
    const target = op === 'QuantizeLinear' ? n.outputs[0] : n.inputs[0];
    const axis = intAttr(n, 'axis', 1);
    let qtype: DType | undefined;
    const outDtype = intAttr(n, 'output_dtype', 0);
    if (op === 'QuantizeLinear' && outDtype) qtype = onnxCodeToDtype(outDtype);
    attach(g, parents, target, n.inputs[1], n.inputs[2], 'qdq', axis, qtype);
    return;
  }
  if (op === 'DynamicQuantizeLinear') {
    const v = g.values.get(n.outputs[0] ?? '');
    if (v && !v.quant) v.quant = { scale: [], zeroPoint: [], quantizedType: 'uint8', origin: 'dynamic' };
    return;
  }
  const spec = SPECS[op];
  if (!spec) return;
  for (const s of spec.slots) {
    const target = typeof s.value === 'number' ? n.inputs[s.value] : n.outputs[s.value.out];
    let scaleName = s.scale === null ? undefined : n.inputs[s.scale];
    // ConvInteger / MatMulInteger carry no scale; onnxruntime's quantizer names it after the weight.
    if (s.scale === null && target) scaleName = guessScaleName(g, parents, target);
    const axis = s.axis === 'last' ? rankOf(g, parents, target) - 1 : s.axis;
    attach(g, parents, target, scaleName, s.zp === null ? undefined : n.inputs[s.zp], spec.origin, axis, undefined, s.scale === null);
  }
}

function guessScaleName(g: Graph, parents: Map<Graph, Graph>, target: string): string | undefined {
  const base = target.replace(/_quantized$/, '');
  for (const cand of [`${base}_scale`, `${target}_scale`]) if (findConstant(g, parents, cand)) return cand;
  return undefined;
}

function attach(
  g: Graph, parents: Map<Graph, Graph>, target: string | undefined, scaleName: string | undefined, zpName: string | undefined,
  origin: Origin, axis: number | undefined, qtype: DType | undefined, scaleOptional = false,
): void {
  if (!target) return;
  const v = g.values.get(target);
  if (!v || v.quant) return;
  const scaleC = scaleName ? findConstant(g, parents, scaleName) : undefined;
  if (!scaleC && !scaleOptional) return;
  const scale = scaleC ? readParam(scaleC) : [];
  if (!scale) return;
  const zpC = zpName ? findConstant(g, parents, zpName) : undefined;
  const zeroPoint = zpC ? readParam(zpC) : scale.map(() => 0);
  if (!zeroPoint) return;
  const q: QuantParams = { scale, zeroPoint, origin };
  q.quantizedType = qtype ?? zpC?.dtype ?? (v.type && v.type.dtype !== 'unknown' && v.type.dtype !== 'float32' ? v.type.dtype : undefined) ?? 'uint8';
  const perChannel = scale.length > 1 || zeroPoint.length > 1;
  if (perChannel && axis !== undefined) {
    const rank = rankOf(g, parents, target);
    q.axis = axis < 0 && rank > 0 ? axis + rank : axis;
  }
  v.quant = q;
}

function readParam(c: Constant): number[] | undefined {
  if (c.data.kind !== 'bytes' && c.data.kind !== 'file') return undefined;
  if (constantByteLength(c) > MAX_PARAM_BYTES) return undefined;
  return constantNumbers(c);
}

/** An initializer in this graph or an enclosing one, or the value of a Constant node. */
function findConstant(g: Graph, parents: Map<Graph, Graph>, name: string): Constant | undefined {
  for (let cur: Graph | undefined = g; cur; cur = parents.get(cur)) {
    const v: Value | undefined = cur.values.get(name);
    if (!v) continue;
    if (v.constant) return v.constant;
    if (v.producer !== undefined) {
      const p = cur.nodes[v.producer];
      if (p.opType === 'Constant' && (p.domain === '' || p.domain === 'ai.onnx')) {
        const a = p.attributes.find((x) => x.name === 'value');
        if (a?.value.type === 'tensor') return a.value.value;
        const f = p.attributes.find((x) => x.name === 'value_float');
        if (f?.value.type === 'float') {
          const bytes = new Uint8Array(new Float32Array([f.value.value]).buffer);
          return { name, dtype: 'float32', shape: [], data: { kind: 'bytes', bytes } };
        }
      }
      return undefined;
    }
  }
  return undefined;
}

function rankOf(g: Graph, parents: Map<Graph, Graph>, name: string | undefined): number {
  if (!name) return 0;
  for (let cur: Graph | undefined = g; cur; cur = parents.get(cur)) {
    const v = cur.values.get(name);
    if (v?.constant) return v.constant.shape.length;
    if (v?.type?.shape) return v.type.shape.length;
  }
  return 0;
}

function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes.find((x) => x.name === name);
  return a?.value.type === 'int' ? Number(a.value.value) : dflt;
}

