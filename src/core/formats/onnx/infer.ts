/**
 * Types and shapes that follow from QuantizeLinear / DequantizeLinear alone. Exporters and
 * quantizers rarely write value_info for the tensors between a Q and a DQ, so without this a
 * quantized Conv's inputs read "unknown ?". Both ops keep their input's shape; Q's output has its
 * zero point's type (or output_dtype, or uint8), DQ's output its scale's float type (or
 * output_dtype). A DQ's input has its zero point's type, so shapes also flow backwards through the
 * pair into quantized-domain ops (MaxPool, Reshape) that sit between a Q and a DQ.
 * A completed value keeps what the file declared (Value.inferred), which is what writers write.
 */
import { allGraphs, type DType, type Graph, type Model, type Node, type TensorType, type Value } from '../../model';
import { dtypeFromOnnx } from './dtypes';

const DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);
/** Enough for chains that need a backward step before a forward one; each pass is linear. */
const MAX_PASSES = 4;

export function inferQdqTypes(model: Model, parents: Map<Graph, Graph>): void {
  for (const g of allGraphs(model)) {
    const qdq = g.nodes.filter((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && DOMAINS.has(n.domain));
    if (!qdq.length) continue;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      let changed = false;
      for (const n of qdq) changed = inferNode(g, parents, n) || changed;
      if (!changed) break;
    }
  }
}

function inferNode(g: Graph, parents: Map<Graph, Graph>, n: Node): boolean {
  const [x, scale, zp] = n.inputs;
  const y = n.outputs[0];
  if (!x || !y) return false;
  const xt = typeOf(g, parents, x);
  const yt = typeOf(g, parents, y);
  const zpType = zp ? typeOf(g, parents, zp)?.dtype : undefined;
  const outAttr = dtypeFromOnnx(intAttr(n, 'output_dtype'));
  let changed = false;
  if (n.opType === 'QuantizeLinear') {
    const dtype = known(zpType) ?? known(outAttr) ?? 'uint8';
    changed = fill(g, y, dtype, shapeOf(xt)) || changed;
    // x is float (or int32 in older opsets): only its shape is certain
    changed = fill(g, x, undefined, shapeOf(yt)) || changed;
  } else {
    const dtype = known(outAttr) ?? known(scale ? typeOf(g, parents, scale)?.dtype : undefined) ?? 'float32';
    changed = fill(g, y, dtype, shapeOf(xt)) || changed;
    changed = fill(g, x, known(zpType), shapeOf(yt)) || changed;
  }
  return changed;
}

/**
 * Completes the value's type in `g` with what is known: a missing dtype or shape is filled, a
 * declared one is never changed. Returns true when something was added.
 */
function fill(g: Graph, name: string, dtype: DType | undefined, shape: TensorType['shape'] | undefined): boolean {
  const v = g.values.get(name);
  if (!v || v.constant) return false;
  const cur = v.type;
  if (cur && known(cur.dtype) && cur.shape) return false;
  const nextDtype = known(cur?.dtype) ?? dtype ?? 'unknown';
  const nextShape = cur?.shape ?? (shape ? shape.slice() : null);
  if (cur && cur.dtype === nextDtype && cur.shape === nextShape) return false;
  if (!cur && nextDtype === 'unknown' && nextShape === null) return false;
  v.type = { dtype: nextDtype, shape: nextShape };
  v.inferred = { type: v.type, declared: v.inferred ? v.inferred.declared : cur };
  return true;
}

/** The value's type here or, for a name a subgraph takes from outside, in the enclosing graph. */
function typeOf(g: Graph, parents: Map<Graph, Graph>, name: string): TensorType | null {
  for (let cur: Graph | undefined = g; cur; cur = parents.get(cur)) {
    const v: Value | undefined = cur.values.get(name);
    if (v?.type) return v.type;
    if (v?.constant) return { dtype: v.constant.dtype, shape: v.constant.shape };
    if (v && (v.producer !== undefined || cur.inputs.includes(name))) return null;
  }
  return null;
}

function shapeOf(t: TensorType | null): TensorType['shape'] | undefined {
  return t?.shape ?? undefined;
}

function known(d: DType | undefined): DType | undefined {
  return d && d !== 'unknown' ? d : undefined;
}

function intAttr(n: Node, name: string): number {
  const a = n.attributes.find((x) => x.name === name);
  return a?.value.type === 'int' ? Number(a.value.value) : 0;
}
