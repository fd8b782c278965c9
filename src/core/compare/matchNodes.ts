/**
 * Which node of a quantized graph stands for which node of its float original, so a compare view can
 * select and pan both together. Quantizers keep names recognisable but not equal: QuantLens and
 * onnxruntime's QDQ format keep each op's name and add QuantizeLinear / DequantizeLinear around it;
 * onnxruntime's QOperator format renames ops (`Convolution28_quant`), fuses some (MatMul + Add into
 * QLinearMatMul + QLinearAdd named `gemm_*`) and names tensors after the float ones
 * (`Pooling66_Output_0_quantized`). Matching goes, in order: the same name; the name without a
 * quantizer's suffix; the float tensor the node's inputs stand for (through Q/DQ) and its float
 * consumer of the same kind of op. Quantizer nodes belong to the op whose tensor they quantize.
 */
import type { GraphView, GvNode } from '../graphView';

export interface NodeMatch {
  /** Quantized node name → float node name. */
  quantToFloat: Map<string, string>;
  /** Float node name → the quantized nodes that stand for it (its op first, then its quantizers). */
  floatToQuant: Map<string, string[]>;
}

const SUFFIXES = /(?:\/\w*Fusion|_quant|_quantized|_QuantizeLinear(?:_\d+)?|_DequantizeLinear(?:_\d+)?|_dequantized|_output_quantized|_q|_dq|_Q|_DQ|_int8|_fp16)$/;

/** The float op a quantized or fused op computes (QLinearConv → Conv; Gemm, a MatMul with its Add fused in → MatMul). */
function coreOp(opType: string): string {
  const core = /^(?:QLinear|Fused|)(.*?)(?:Integer)?$/.exec(opType)?.[1] || opType;
  return core === 'Gemm' ? 'MatMul' : core;
}

const isQuantizer = (n: GvNode): boolean => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear' || n.opType === 'DynamicQuantizeLinear';

function strip(name: string): string[] {
  const out: string[] = [];
  let s = name;
  while (SUFFIXES.test(s)) {
    s = s.replace(SUFFIXES, '');
    out.push(s);
  }
  return out;
}

export function matchNodes(float: GraphView, quantized: GraphView): NodeMatch {
  const fByName = new Map(float.nodes.map((n) => [n.name, n]));
  const fTensorByName = new Map(float.tensors.map((t, i) => [t.name, i]));
  const fConsumers = new Map<number, GvNode[]>();
  for (const n of float.nodes) for (const t of n.inputs) if (t >= 0) fConsumers.set(t, [...(fConsumers.get(t) ?? []), n]);
  const taken = new Set<string>();
  const quantToFloat = new Map<string, string>();
  const set = (q: GvNode, f: GvNode | undefined): void => {
    if (!f) return;
    quantToFloat.set(q.name, f.name);
    if (!isQuantizer(q)) taken.add(f.name);
  };

  /** The float tensor (index) that quantized tensor `t` stands for, looking back through Q/DQ. */
  const floatTensor = (t: number, depth = 0): number | undefined => {
    const tensor = quantized.tensors[t];
    if (!tensor || depth > 8) return undefined;
    const direct = fTensorByName.get(tensor.name);
    if (direct !== undefined) return direct;
    for (const s of strip(tensor.name)) {
      const hit = fTensorByName.get(s);
      if (hit !== undefined) return hit;
    }
    const p = tensor.producer >= 0 ? quantized.nodes[tensor.producer] : undefined;
    if (p && isQuantizer(p) && p.inputs[0] !== undefined && p.inputs[0] >= 0) return floatTensor(p.inputs[0], depth + 1);
    return undefined;
  };

  const compatible = (q: GvNode, f: GvNode | undefined): f is GvNode =>
    !!f && f.kind === q.kind && (q.kind !== 'op' || coreOp(q.opType) === coreOp(f.opType) || q.opType === f.opType);

  // 1. Same name, then the name without a quantizer's suffix.
  for (const q of quantized.nodes) {
    if (isQuantizer(q)) continue;
    const f = [q.name, ...strip(q.name)].map((n) => fByName.get(n)).find((f) => compatible(q, f) && !taken.has(f.name));
    set(q, f);
  }
  // 2. Ops left: the float consumer of the tensor their first activation input stands for.
  for (const q of quantized.nodes) {
    if (isQuantizer(q) || quantToFloat.has(q.name) || q.kind !== 'op') continue;
    for (const t of q.inputs) {
      if (t < 0 || quantized.tensors[t]?.constant) continue;
      const ft = floatTensor(t);
      const f = ft === undefined ? undefined : (fConsumers.get(ft) ?? []).find((c) => compatible(q, c) && !taken.has(c.name));
      if (f) {
        set(q, f);
        break;
      }
    }
    if (quantToFloat.has(q.name)) continue;
    // The tensor it writes stands for a float op's output, or it reads what a matched op wrote.
    const byOutput = q.outputs.map((t) => (t >= 0 ? floatTensor(t) : undefined)).map((ft) => (ft === undefined ? undefined : float.tensors[ft]))
      .map((ft) => (ft && ft.producer >= 0 ? float.nodes[ft.producer] : undefined)).find((f) => compatible(q, f) && !taken.has(f.name));
    const afterMatched = (): GvNode | undefined => {
      for (const t of q.inputs) {
        const p = t >= 0 ? quantized.tensors[t]?.producer ?? -1 : -1;
        const pf = p >= 0 ? fByName.get(quantToFloat.get(quantized.nodes[p]!.name) ?? '') : undefined;
        const f = pf?.outputs.flatMap((o) => fConsumers.get(o) ?? []).find((c) => compatible(q, c) && !taken.has(c.name));
        if (f) return f;
      }
      return undefined;
    };
    set(q, byOutput ?? afterMatched());
  }
  // 3. Quantizers: a Q belongs to the op that produced what it quantizes (or the graph input), a DQ
  //    to the node its input came from, a weight's DQ to the op that reads it.
  const owner = (q: GvNode, depth = 0): GvNode | undefined => {
    if (depth > 8) return undefined;
    const input = q.inputs[0] ?? -1;
    const tensor = quantized.tensors[input];
    if (tensor && tensor.producer >= 0) {
      const p = quantized.nodes[tensor.producer]!;
      const m = quantToFloat.get(p.name);
      if (m) return fByName.get(m);
      if (isQuantizer(p)) return owner(p, depth + 1);
    }
    if (tensor && tensor.producer < 0 && !tensor.constant) {
      const ft = floatTensor(input);
      const f = ft === undefined ? undefined : float.tensors[ft];
      if (f && f.producer >= 0) return float.nodes[f.producer];
      return float.nodes.find((n) => n.kind === 'input' && n.name === tensor.name);
    }
    // A weight's DQ (constant input): the op that reads its output.
    for (const out of q.outputs) {
      const reader = quantized.nodes.find((n) => !isQuantizer(n) && n.inputs.includes(out));
      const m = reader && quantToFloat.get(reader.name);
      if (m) return fByName.get(m);
    }
    return undefined;
  };
  for (const q of quantized.nodes) if (isQuantizer(q)) set(q, owner(q));

  const floatToQuant = new Map<string, string[]>();
  for (const q of quantized.nodes) {
    const f = quantToFloat.get(q.name);
    if (!f) continue;
    const list = floatToQuant.get(f) ?? [];
    if (isQuantizer(q)) list.push(q.name);
    else list.unshift(q.name);
    floatToQuant.set(f, list);
  }
  return { quantToFloat, floatToQuant };
}
