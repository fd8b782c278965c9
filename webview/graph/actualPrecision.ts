/**
 * The precision a node of an already quantized (or half-precision) model actually runs in, read
 * from the graph view: QuantizeLinear / DequantizeLinear by their integer side, QOperator ops
 * (QLinearConv, ConvInteger, ...) and ops on quantized tensors (TFLite, QOperator pools) by their
 * first input's quantized type, a QDQ node unit (fed by DequantizeLinear, feeding QuantizeLinear or
 * reading a dequantized weight) by what its DequantizeLinear reads, an op on a folded quantized
 * edge by that edge's type, and float16 / bfloat16 ops by their input. Float32 ops have none.
 * Drawn as outlined badges on the node's top-left corner (planned marks are filled, top-right).
 */
import type { GraphView, GvNode, GvTensor } from '../../src/protocol';
import { h } from '../dom';

/** Stored types to the names the view shows. */
const NAMES: Record<string, string> = {
  int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int4: 'int4', uint4: 'uint4', int32: 'int32',
  float16: 'fp16', bfloat16: 'bf16', float8e4m3fn: 'fp8', float8e4m3fnuz: 'fp8', float8e5m2: 'fp8', float8e5m2fnuz: 'fp8',
};
const INTEGER = new Set(['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4', 'int32']);

/** Short badge text for each actual precision. */
export const ACTUAL_BADGE: Record<string, string> = {
  int8: 'i8', uint8: 'u8', int16: 'i16', uint16: 'u16', int4: 'i4', uint4: 'u4', int32: 'i32', fp16: 'f16', bf16: 'bf16', fp8: 'f8',
};

/** Which planned-precision colour an actual precision shares (int8 family, int16 family, half precision). */
export const ACTUAL_COLOUR_KEY: Record<string, 'int8' | 'int16' | 'fp16' | 'skip'> = {
  int8: 'int8', uint8: 'int8', int4: 'int8', uint4: 'int8', int16: 'int16', uint16: 'int16', int32: 'skip', fp16: 'fp16', bf16: 'fp16', fp8: 'fp16',
};

/** The quantized integer type of a tensor (its quantization's type, else its dtype when integer and quantized). */
function quantType(t: GvTensor | undefined): string | undefined {
  if (!t) return undefined;
  const type = t.q?.type ?? (t.q || t.quant ? t.dtype : undefined);
  return type && INTEGER.has(type) ? type : undefined;
}

const isQuantizedOp = (op: string): boolean => /^QLinear|Integer$|^QGemm$|^QAttention$|^QEmbedLayerNormalization$/.test(op);

/** The actual precision of each node (undefined: float32, not an op, or unknown). */
export function actualPrecisions(g: GraphView): (string | undefined)[] {
  const consumers = new Map<number, GvNode[]>();
  for (const n of g.nodes) for (const t of n.inputs) if (t >= 0) consumers.set(t, [...(consumers.get(t) ?? []), n]);
  const producer = (t: number): GvNode | undefined => (t >= 0 && g.tensors[t].producer >= 0 ? g.nodes[g.tensors[t].producer] : undefined);
  const tensor = (t: number | undefined): GvTensor | undefined => (t !== undefined && t >= 0 ? g.tensors[t] : undefined);
  const of = (n: GvNode): string | undefined => {
    if (n.kind !== 'op') return undefined;
    const in0 = tensor(n.inputs[0]);
    switch (n.opType) {
      case 'QuantizeLinear': {
        // The output's type; without one, the zero point's (uint8 when there is none, as ONNX says).
        const out = tensor(n.outputs[0]);
        const zp = tensor(n.inputs[2]);
        if (out && INTEGER.has(out.dtype)) return out.dtype;
        return quantType(out) ?? (zp && INTEGER.has(zp.dtype) ? zp.dtype : zp ? undefined : 'uint8');
      }
      case 'DequantizeLinear':
        return quantType(in0) ?? (in0 && INTEGER.has(in0.dtype) ? in0.dtype : undefined);
      case 'DynamicQuantizeLinear':
        return 'uint8';
      case 'QUANTIZE': case 'DEQUANTIZE':
        return quantType(tensor(n.opType === 'QUANTIZE' ? n.outputs[0] : n.inputs[0]));
    }
    if (isQuantizedOp(n.opType)) {
      for (const t of n.inputs) {
        const x = tensor(t);
        const type = quantType(x) ?? (x && INTEGER.has(x.dtype) ? x.dtype : undefined) ?? (producer(t)?.opType === 'DynamicQuantizeLinear' ? 'uint8' : undefined);
        if (type) return type;
      }
      return undefined;
    }
    if (!in0) return undefined;
    const q = quantType(in0);
    if (q) return q;
    const p = producer(n.inputs[0]);
    if (p?.opType === 'DequantizeLinear') {
      // A QDQ node unit: the runtime fuses DQ → op → Q (or DQ(x), DQ(weight) → op) into one integer kernel.
      const toQ = n.outputs.some((t) => t >= 0 && (consumers.get(t) ?? []).some((c) => c.opType === 'QuantizeLinear'));
      const dqWeight = n.inputs.slice(1).some((t) => producer(t)?.opType === 'DequantizeLinear' && tensor(producer(t)!.inputs[0])?.constant);
      if (toQ || dqWeight) return of(p);
    }
    return NAMES[in0.dtype] && !INTEGER.has(in0.dtype) ? NAMES[in0.dtype] : undefined;
  };
  return g.nodes.map((n) => {
    const p = of(n);
    return p ? (NAMES[p] ?? p) : undefined;
  });
}

/** The hover card's line for a node's actual precision. */
export function actualTooltip(actual: readonly (string | undefined)[]): (view: GraphView, node: GvNode) => HTMLElement | null {
  return (_view, node) => {
    const a = actual[node.id];
    if (!a) return null;
    return h('div', { 'data-testid': 'tooltip-actual' },
      h('div', { class: 'qlg-tip-title' }, 'Precision'),
      h('table', {}, h('tbody', {}, h('tr', { 'data-metric': 'actual' }, h('td', {}, 'Actual'), h('td', {}, `${a} (in the model)`)))));
  };
}
