/**
 * Pre-processing before quantization, done by onnxruntime itself rather than re-implemented:
 *  - folding: a session at graphOptimizationLevel 'basic' folds constants, BatchNorm into Conv,
 *    Conv+Add into a biased Conv, MatMul+Add into Gemm, and writes the result
 *    (optimizedModelFilePath), which is read back;
 *  - run-time shapes: one run with every node output added as a graph output gives the element
 *    type and concrete shape of every tensor (no symbolic shape inference needed).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeOnnx } from '../formats/onnx';
import { mainGraph, type Dim, type DType, type Graph, type Model, type Value } from '../model';
import { openModelBytes } from '../open';
import type { Sample } from '../data';
import { createSession, loadOrt, type OrtTensor } from '../runtime/ort';

export interface TensorInfo {
  dtype: DType;
  /**
   * Sizes, or symbolic names (strings) / null where they depend on the inputs; null when even the
   * rank is unknown (never taken for rank 0).
   */
  shape: Dim[] | null;
}

const STANDARD_DOMAINS = new Set(['', 'ai.onnx']);

/** A deep, independent copy of a model (via its bytes), safe to rewrite. */
export async function cloneModel(model: Model): Promise<Model> {
  const copy = await openModelBytes(writeOnnx(model), model.path ? path.basename(model.path) : 'model.onnx');
  copy.path = model.path;
  copy.fileSize = model.fileSize;
  return copy;
}

export interface FoldResult {
  model: Model;
  nodesBefore: number;
  nodesAfter: number;
}

/**
 * Constant folding and BatchNorm / bias folding through onnxruntime's basic optimisations. The
 * opset imports onnxruntime adds for every domain it knows are dropped unless a node uses them.
 */
export async function foldWithOrt(model: Model): Promise<FoldResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-fold-'));
  const out = path.join(dir, 'optimized.onnx');
  try {
    // an unedited, self-contained model is loaded from its file: no re-serialising. External data
    // is inlined instead (onnxruntime cannot infer shapes from external shape tensors)
    const input = withoutRanklessValueInfo(model);
    const source = input === model && model.path && fs.existsSync(model.path) && !hasExternalData(model) ? model.path : writeOnnx(input);
    const s = await createSession(source, { graphOptimizationLevel: 'basic', optimizedModelFilePath: out, intraOpNumThreads: 1 }, 'the model for pre-processing');
    await s.release().catch(() => undefined);
    const bytes = fs.readFileSync(out);
    const folded = await openModelBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), 'optimized.onnx');
    folded.path = model.path;
    folded.fileSize = model.fileSize;
    folded.producer = model.producer;
    folded.metadata = { ...model.metadata };
    pruneOpsets(folded, new Set(model.opsets.map((o) => o.domain)));
    // IR < 4 lists initializers among the graph inputs; onnxruntime drops initializers that folding
    // made unused but keeps them in that list, where they would look like runtime inputs
    const fg = mainGraph(folded);
    const runtime = new Set(mainGraph(model).inputs);
    fg.inputs = fg.inputs.filter((i) => runtime.has(i) || fg.nodes.some((n) => n.inputs.includes(i)));
    return { model: folded, nodesBefore: mainGraph(model).nodes.length, nodesAfter: mainGraph(folded).nodes.length };
  } finally {
    // the one file, then the folder: a recursive removal walks the tree in JavaScript
    fs.rmSync(out, { force: true });
    try { fs.rmdirSync(dir); } catch { fs.rmSync(dir, { recursive: true, force: true }); }
  }
}

/**
 * The model without value_info entries that give an element type but not even a rank: onnxruntime
 * keeps such an entry as it is in the model it writes, where its own inference would have
 * recorded the full shape.
 */
function withoutRanklessValueInfo(model: Model): Model {
  const g = mainGraph(model);
  const io = new Set([...g.inputs, ...g.outputs]);
  let values: Map<string, Value> | undefined;
  for (const [name, v] of g.values) {
    if (v.constant || io.has(name) || !v.type || v.type.shape !== null || v.formatExtras?.onnxType) continue;
    values ??= new Map(g.values);
    values.set(name, { ...v, type: null });
  }
  if (!values) return model;
  return { ...model, graphs: [{ ...g, values }, ...model.graphs.slice(1)] };
}

/** True when a constant's bytes live in a file other than the model's own. */
function hasExternalData(model: Model): boolean {
  for (const g of model.graphs) {
    for (const v of g.values.values()) {
      const d = v.constant?.data;
      if (d?.kind === 'file' && d.path !== model.path) return true;
    }
  }
  return false;
}

/** Drops opset imports no node uses, keeping the default domain and `keep`. */
export function pruneOpsets(model: Model, keep: Set<string> = new Set()): void {
  const used = new Set<string>();
  const walk = (g: Graph): void => {
    for (const n of g.nodes) {
      used.add(n.domain === 'ai.onnx' ? '' : n.domain);
      for (const s of n.subgraphs) walk(s);
    }
  };
  for (const g of model.graphs) walk(g);
  for (const f of model.functions) used.add(f.domain);
  model.opsets = model.opsets.filter((o) => STANDARD_DOMAINS.has(o.domain) || used.has(o.domain) || keep.has(o.domain));
}

/** ORT tensors for a sample. */
export function sampleFeeds(sample: Sample): Record<string, OrtTensor> {
  const ort = loadOrt();
  const feeds: Record<string, OrtTensor> = {};
  for (const [name, t] of Object.entries(sample)) {
    feeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape);
  }
  return feeds;
}

export const ORT_DTYPES: Record<string, DType> = {
  float32: 'float32', float16: 'float16', float64: 'float64', bfloat16: 'bfloat16',
  int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32', uint32: 'uint32',
  int64: 'int64', uint64: 'uint64', bool: 'bool', string: 'string', int4: 'int4', uint4: 'uint4',
};

/** A copy of the model whose main graph also outputs `names` (declared without a type: ORT infers it). */
export function withExtraOutputs(model: Model, names: readonly string[]): Model {
  const g = mainGraph(model);
  const values = new Map(g.values);
  const outputs = [...g.outputs];
  const have = new Set(outputs);
  for (const n of names) {
    if (have.has(n)) continue;
    have.add(n);
    outputs.push(n);
  }
  const graph: Graph = { ...g, values, outputs };
  return { ...model, graphs: [graph, ...model.graphs.slice(1)] };
}

/**
 * Types and shapes that need no inference: initializers from their constants, inputs from `sample`
 * (or, without one, as declared).
 */
function knownTensorInfo(model: Model, sample: Sample): Map<string, TensorInfo> {
  const g = mainGraph(model);
  const info = new Map<string, TensorInfo>();
  for (const name of g.initializers) {
    const c = g.values.get(name)?.constant;
    if (c) info.set(name, { dtype: c.dtype, shape: c.shape.slice() });
  }
  for (const name of g.inputs) {
    const t = sample[name];
    const declared = g.values.get(name)?.type;
    if (t) info.set(name, { dtype: t.dtype, shape: t.shape.slice() });
    else if (declared?.shape) info.set(name, { dtype: declared.dtype, shape: declared.shape.slice() });
  }
  return info;
}

/**
 * Element type and shape of every tensor of the main graph as the model declares them: inputs
 * from `sample`, initializers from their constants, the rest from value_info and outputs.
 * Undefined when any node output has no declared type and shape (then ask onnxruntime:
 * inferredTensorInfo).
 */
export function declaredTensorInfo(model: Model, sample: Sample): Map<string, TensorInfo> | undefined {
  const g = mainGraph(model);
  const info = knownTensorInfo(model, sample);
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (!o || info.has(o)) continue;
      const t = g.values.get(o)?.type;
      if (!t || !t.dtype || !t.shape) return undefined;
      info.set(o, { dtype: t.dtype, shape: t.shape.slice() });
    }
  }
  return info;
}

/**
 * Element type and shape of every tensor of the main graph as onnxruntime infers them: a session
 * (never run, so no optimisation and no thread pool) on the model with every node output as a
 * graph output reports them in its output metadata. Inputs come from `sample`, initializers from
 * their constants; outputs that are not tensors (sequences, maps) are left out.
 */
export async function inferredTensorInfo(model: Model, sample: Sample): Promise<Map<string, TensorInfo>> {
  const g = mainGraph(model);
  const info = knownTensorInfo(model, sample);
  const wanted: string[] = [];
  for (const n of g.nodes) for (const o of n.outputs) if (o && !info.has(o)) wanted.push(o);
  const session = await createSession(writeOnnx(withExtraOutputs(model, wanted)), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 }, 'the model (type inference)');
  try {
    for (const m of session.outputMetadata) {
      if (!m.isTensor) continue;
      const dtype = ORT_DTYPES[m.type];
      if (!dtype) continue;
      // onnxruntime reports shape [] both for a scalar and for a tensor whose rank it does not
      // know: [] is a scalar only where the model declares rank 0
      const declared = g.values.get(m.name)?.type?.shape;
      const shape = m.shape.length === 0 && declared?.length !== 0 ? null : m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null));
      info.set(m.name, { dtype, shape });
    }
  } finally {
    await session.release().catch(() => undefined);
  }
  return info;
}
