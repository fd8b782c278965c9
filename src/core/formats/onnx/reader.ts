/**
 * ONNX reader. The top-level containers (ModelProto -> GraphProto -> TensorProto, and nodes,
 * attributes or functions that are big) are walked on the wire so that big tensor payloads are
 * only recorded by position (lazy weights); every small message goes to the generated protobufjs
 * decoder. A 1 GB model therefore costs about the bytes of its structure to open.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ModelError } from '../../errors';
import {
  DEFAULT_LIMITS, type ModelSource, type OpenOptions, type ReaderLimits,
} from '../format';
import {
  elementCount, type Attribute, type AttributeValue, type Constant, type Graph, type Model, type ModelFunction,
  type Node, type OpsetImport, type Value,
} from '../../model';
import { rawByteLength } from './dtypes';
import { onnx } from '../../generated/onnx/onnx';
import {
  bytesToString, bytesToStringStrict, convertTensor, convertType, has, int64ToJs, int64ToNumber,
  typeToPlain, type LazyPayload, type PendingExternal, type TensorContext,
} from './convert';
import { FileSource, MemorySource, type ByteSource } from './source';
import {
  decodeWith, newField, RegionDecoder, Walker, FieldCollector, WIRE_LEN, WIRE_VARINT, type Decodable, type Field,
} from './wire';
import { inferQdqTypes } from './infer';
import { attachQuantParams } from './quant';

export interface OnnxReadTuning {
  /** Tensor payloads of at least this many bytes stay in the file (default 1024). */
  lazyThreshold?: number;
  /** Nodes, attributes and functions up to this size go straight to protobufjs (default 64 KiB). */
  smallMessage?: number;
}

const AT = onnx.AttributeProto.AttributeType;

/** Names of AttributeType values, for 'object' attributes and messages. */
export const ATTRIBUTE_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(AT).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]),
);

/** What the ONNX writer needs to put back that the graph model has no field for. */
export interface OnnxModelExtras {
  producerName?: string;
  producerVersion?: string;
  modelDomain?: string;
  modelVersion?: number | bigint;
  /** TrainingInfoProto messages, kept as their encoded bytes. */
  trainingInfo?: Uint8Array[];
  /** DeviceConfigurationProto messages, encoded. */
  configuration?: Uint8Array[];
}

interface GraphParts {
  name: string;
  doc: string;
  nodes: Node[];
  inputs: onnx.ValueInfoProto[];
  outputs: onnx.ValueInfoProto[];
  valueInfo: onnx.ValueInfoProto[];
  initializers: Constant[];
  annotations: onnx.TensorAnnotation[];
  metadata: onnx.StringStringEntryProto[];
}

/** Pieces of an attribute that were walked on the wire instead of decoded. */
interface Prewalked {
  t?: Constant;
  g?: Graph;
  sparseTensor?: Constant;
  tensors?: Constant[];
  graphs?: Graph[];
  sparseTensors?: Constant[];
}

function emptyParts(): GraphParts {
  return { name: '', doc: '', nodes: [], inputs: [], outputs: [], valueInfo: [], initializers: [], annotations: [], metadata: [] };
}

/** Cheap check: do the first bytes parse as the start of a ModelProto? */
export function looksLikeOnnx(head: Uint8Array): boolean {
  let pos = 0;
  let fields = 0;
  while (pos < head.length) {
    const tag = readVarintIn(head, pos);
    if (!tag) return fields > 0;
    pos = tag.next;
    const num = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    const expected = MODEL_FIELD_WIRE[num];
    if (expected === undefined || expected !== wire) return false;
    if (wire === WIRE_VARINT) {
      const v = readVarintIn(head, pos);
      if (!v) return true;
      if ((num === 1 || num === 5) && v.value > 2 ** 40) return false;
      if (num === 1 && (v.value === 0 || v.value > 1000)) return false;
      pos = v.next;
    } else {
      const len = readVarintIn(head, pos);
      if (!len) return true;
      pos = len.next + len.value;
    }
    fields++;
  }
  return fields > 0;
}

/** ModelProto field number -> wire type. */
const MODEL_FIELD_WIRE: Record<number, number> = {
  1: WIRE_VARINT, 2: WIRE_LEN, 3: WIRE_LEN, 4: WIRE_LEN, 5: WIRE_VARINT, 6: WIRE_LEN, 7: WIRE_LEN,
  8: WIRE_LEN, 14: WIRE_LEN, 20: WIRE_LEN, 25: WIRE_LEN, 26: WIRE_LEN,
};

function readVarintIn(b: Uint8Array, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos + i < b.length; i++) {
    const x = b[pos + i];
    value += (x & 0x7f) * mul;
    mul *= 128;
    if ((x & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  return undefined;
}

export async function readOnnx(source: ModelSource, options: OpenOptions = {}, tuning: OnnxReadTuning = {}): Promise<Model> {
  let src: ByteSource;
  let modelPath: string | undefined;
  if (source.kind === 'file') {
    modelPath = path.resolve(source.path);
    src = FileSource.open(modelPath);
  } else {
    src = new MemorySource(source.bytes);
  }
  const label = modelPath ? `'${path.basename(modelPath)}'` : source.kind === 'bytes' && source.name ? `'${source.name}'` : 'The model';
  try {
    if (src.size === 0) throw new ModelError('empty', `${label} is empty (0 bytes).`);
    const r = new OnnxReader(src, options, tuning, label);
    let model: Model;
    try {
      model = r.readModel();
    } catch (e) {
      // A field cut short is first seen at the outermost level; find the innermost one for the message.
      if (e instanceof ModelError && e.code === 'truncated') throw locateTruncation(r.w, e);
      throw e;
    }
    model.path = modelPath;
    await resolveExternals(r.externals, modelPath, options.baseDir, label);
    attachQuantParams(model, r.parents);
    inferQdqTypes(model, r.parents);
    return model;
  } finally {
    src.close();
  }
}

class OnnxReader {
  readonly w: Walker;
  readonly limits: ReaderLimits;
  readonly lazyMin: number;
  readonly small: number;
  readonly externals: PendingExternal[] = [];
  readonly tctx: TensorContext;
  readonly parents = new Map<Graph, Graph>();
  private nodeCount = 0;
  private deepFallback = false;

  private readonly rd: RegionDecoder;

  constructor(readonly src: ByteSource, options: OpenOptions, tuning: OnnxReadTuning, readonly label: string) {
    this.w = new Walker(src);
    this.rd = new RegionDecoder(src);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.lazyMin = Math.max(1, tuning.lazyThreshold ?? 1024);
    this.small = tuning.smallMessage ?? 64 * 1024;
    this.tctx = { copyBytes: !src.viewsAreStable, externals: this.externals };
  }

  // --- ModelProto ---------------------------------------------------------------------------

  readModel(): Model {
    const { w, src } = this;
    const f = newField();
    const rest = new FieldCollector();
    let graph: Graph | undefined;
    const functions: ModelFunction[] = [];
    const trainingInfo: Uint8Array[] = [];
    let first = true;
    for (let pos = 0; pos < src.size; pos = f.end) {
      try {
        w.next(pos, src.size, 'the model', f);
      } catch (e) {
        // A first field that is not a ModelProto field means another format, not a damaged model.
        if (first && !looksLikeOnnx(src.view(0, Math.min(16, src.size)))) throw this.notOnnx(e);
        throw e;
      }
      if (first) {
        if (MODEL_FIELD_WIRE[f.num] !== f.wire) throw this.notOnnx();
        first = false;
      }
      if (f.num === 7 && f.wire === WIRE_LEN) {
        graph = this.buildGraph(this.walkGraph(f.valStart, f.end, 'graph', 0));
      } else if (f.num === 25 && f.wire === WIRE_LEN) {
        functions.push(this.readFunction(f, `functions[${functions.length}]`));
      } else if (f.num === 20 && f.wire === WIRE_LEN) {
        trainingInfo.push(new Uint8Array(w.payload(f)));
      } else if (MODEL_FIELD_WIRE[f.num] !== undefined) {
        rest.add(w.fieldBytes(f));
      }
    }
    const mp = decodeWith((b) => onnx.ModelProto.decode(b), rest.bytes(), 'the model header', 0);
    if (!graph) {
      if (!has(mp, 'irVersion')) throw this.notOnnx();
      throw new ModelError('corrupt', `${this.label} has no graph (ModelProto.graph is missing); the file may be cut short or not a model.`);
    }
    const opsets: OpsetImport[] = (mp.opsetImport ?? []).map((o) => ({
      domain: o.domain ?? '',
      version: int64ToNumber(o.version, 'An opset version'),
    }));
    const extras: OnnxModelExtras = {};
    if (mp.producerName) extras.producerName = mp.producerName;
    if (mp.producerVersion) extras.producerVersion = mp.producerVersion;
    if (mp.domain) extras.modelDomain = mp.domain;
    if (has(mp, 'modelVersion')) extras.modelVersion = int64ToJs(mp.modelVersion);
    if (trainingInfo.length) extras.trainingInfo = trainingInfo;
    if (mp.configuration?.length) extras.configuration = mp.configuration.map((c) => onnx.DeviceConfigurationProto.encode(c).finish());
    const metadata: Record<string, string> = {};
    for (const kv of mp.metadataProps ?? []) metadata[kv.key ?? ''] = kv.value ?? '';
    return {
      format: 'onnx',
      fileSize: src.size,
      producer: [mp.producerName, mp.producerVersion].filter((s) => s).join(' '),
      formatVersion: int64ToNumber(mp.irVersion, 'The IR version'),
      opsets,
      description: mp.docString ?? '',
      metadata,
      graphs: [graph],
      functions,
      signatures: [],
      formatExtras: { ...extras },
    };
  }

  private notOnnx(cause?: unknown): ModelError {
    const head = Array.from(this.src.view(0, Math.min(8, this.src.size)), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return new ModelError('not-a-model', `${this.label} is not an ONNX model: it starts with bytes ${head}, which is not the start of an ONNX ModelProto.`, { cause });
  }

  // --- GraphProto -----------------------------------------------------------------------------

  private walkGraph(start: number, end: number, where: string, depth: number): GraphParts {
    if (depth > this.limits.maxDepth) {
      throw new ModelError('too-large', `${this.label} nests subgraphs deeper than ${this.limits.maxDepth} levels (at ${where}).`);
    }
    const { w } = this;
    const f = newField();
    const p = emptyParts();
    for (let pos = start; pos < end; pos = f.end) {
      w.next(pos, end, where, f);
      if (f.wire !== WIRE_LEN) continue;
      switch (f.num) {
        case 1: p.nodes.push(this.readNode(f, p.nodes.length, `${where}.node[${p.nodes.length}]`, depth)); break;
        case 5: p.initializers.push(this.readTensor(f, `${where}.initializer[${p.initializers.length}]`)); break;
        case 15: p.initializers.push(this.readSparse(f, `${where}.sparse_initializer`)); break;
        case 11: p.inputs.push(this.decodeSmall(onnx.ValueInfoProto, f, `${where}.input[${p.inputs.length}]`)); break;
        case 12: p.outputs.push(this.decodeSmall(onnx.ValueInfoProto, f, `${where}.output[${p.outputs.length}]`)); break;
        case 13: p.valueInfo.push(this.decodeSmall(onnx.ValueInfoProto, f, `${where}.value_info[${p.valueInfo.length}]`)); break;
        case 14: p.annotations.push(this.decodeSmall(onnx.TensorAnnotation, f, `${where}.quantization_annotation`)); break;
        case 16: p.metadata.push(this.decodeSmall(onnx.StringStringEntryProto, f, `${where}.metadata_props`)); break;
        case 2: p.name = w.string(f); break;
        case 10: p.doc = w.string(f); break;
        default: break;
      }
    }
    return p;
  }

  private partsFromDecoded(gp: onnx.GraphProto, where: string, depth: number): GraphParts {
    if (depth > this.limits.maxDepth) {
      throw new ModelError('too-large', `${this.label} nests subgraphs deeper than ${this.limits.maxDepth} levels (at ${where}).`);
    }
    const p = emptyParts();
    p.name = gp.name ?? '';
    p.doc = gp.docString ?? '';
    (gp.node ?? []).forEach((np, i) => {
      p.nodes.push(this.nodeFromDecoded(np as onnx.NodeProto, i, `${where}.node[${i}]`, depth));
    });
    (gp.initializer ?? []).forEach((tp, i) => p.initializers.push(convertTensor(tp as onnx.TensorProto, `${where}.initializer[${i}]`, this.tctx)));
    (gp.sparseInitializer ?? []).forEach((sp) => p.initializers.push(this.sparseFromDecoded(sp as onnx.SparseTensorProto, `${where}.sparse_initializer`)));
    p.inputs = (gp.input ?? []) as onnx.ValueInfoProto[];
    p.outputs = (gp.output ?? []) as onnx.ValueInfoProto[];
    p.valueInfo = (gp.valueInfo ?? []) as onnx.ValueInfoProto[];
    p.annotations = (gp.quantizationAnnotation ?? []) as onnx.TensorAnnotation[];
    p.metadata = (gp.metadataProps ?? []) as onnx.StringStringEntryProto[];
    return p;
  }

  private buildGraph(p: GraphParts): Graph {
    const values = new Map<string, Value>();
    const get = (name: string): Value => {
      let v = values.get(name);
      if (!v) {
        v = { name, type: null, consumers: [] };
        values.set(name, v);
      }
      return v;
    };
    const graph: Graph = { name: p.name, nodes: p.nodes, values, inputs: [], outputs: [], initializers: [] };
    if (p.doc) graph.doc = p.doc;
    const initNames = new Set<string>();
    for (const c of p.initializers) {
      const v = get(c.name);
      v.constant = c;
      v.type = { dtype: c.dtype, shape: c.shape.slice() };
      if (!initNames.has(c.name)) graph.initializers.push(c.name);
      initNames.add(c.name);
    }
    let initializerInputs = false;
    for (const vi of p.inputs) {
      const name = vi.name ?? '';
      applyValueInfo(get(name), vi);
      if (initNames.has(name)) initializerInputs = true;
      else graph.inputs.push(name);
    }
    for (const vi of p.outputs) {
      const name = vi.name ?? '';
      applyValueInfo(get(name), vi);
      graph.outputs.push(name);
    }
    for (const vi of p.valueInfo) applyValueInfo(get(vi.name ?? ''), vi);
    p.nodes.forEach((n, i) => {
      for (const name of n.inputs) {
        if (!name) continue;
        const v = get(name);
        if (v.consumers[v.consumers.length - 1] !== i) v.consumers.push(i);
      }
      for (const name of n.outputs) {
        if (!name) continue;
        const v = get(name);
        if (v.producer === undefined) v.producer = i;
      }
      for (const s of n.subgraphs) this.parents.set(s, graph);
    });
    const extras: Record<string, unknown> = {};
    // Initializers listed as graph inputs (IR < 4, or overridable defaults): keep the file's order.
    if (initializerInputs) extras.inputOrder = p.inputs.map((vi) => vi.name ?? '');
    if (p.annotations.length) {
      extras.quantizationAnnotation = p.annotations.map((a) => ({
        tensorName: a.tensorName ?? '',
        quantParameterTensorNames: (a.quantParameterTensorNames ?? []).map((kv) => ({ key: kv.key ?? '', value: kv.value ?? '' })),
      }));
    }
    if (p.metadata.length) extras.metadataProps = plainKv(p.metadata);
    if (Object.keys(extras).length) graph.formatExtras = extras;
    return graph;
  }

  // --- NodeProto / AttributeProto -------------------------------------------------------------

  private countNode(where: string): void {
    if (++this.nodeCount > this.limits.maxNodes) {
      throw new ModelError('too-large', `${this.label} has more than ${this.limits.maxNodes} nodes (at ${where}).`);
    }
  }

  private readNode(f: Field, index: number, where: string, depth: number): Node {
    if (f.end - f.valStart <= this.small && !this.deepFallback) {
      const np = this.tryDecode(onnx.NodeProto, f, where);
      if (np) return this.nodeFromDecoded(np, index, where, depth);
    }
    this.countNode(where);
    const { w } = this;
    const g = newField();
    const rest = new FieldCollector();
    const attrs: Attribute[] = [];
    for (let pos = f.valStart; pos < f.end; pos = g.end) {
      w.next(pos, f.end, where, g);
      if (g.num === 5 && g.wire === WIRE_LEN) attrs.push(this.readAttribute(g, `${where}.attribute[${attrs.length}]`, depth));
      else rest.add(w.fieldBytes(g));
    }
    const np = decodeWith((b) => onnx.NodeProto.decode(b), rest.bytes(), where, f.valStart);
    return this.makeNode(np, attrs, index);
  }

  private nodeFromDecoded(np: onnx.NodeProto, index: number, where: string, depth: number): Node {
    this.countNode(where);
    const attrs = (np.attribute ?? []).map((a, i) => this.attributeFromDecoded(a as onnx.AttributeProto, `${where}.attribute[${i}]`, depth, {}));
    return this.makeNode(np, attrs, index);
  }

  private makeNode(np: onnx.NodeProto, attrs: Attribute[], index: number): Node {
    const opType = np.opType ?? '';
    const subgraphs: Graph[] = [];
    for (const a of attrs) {
      if (a.value.type === 'graph') subgraphs.push(a.value.value);
      else if (a.value.type === 'graphs') subgraphs.push(...a.value.value);
    }
    const node: Node = {
      name: np.name || `${opType}_${index}`,
      opType,
      domain: np.domain ?? '',
      inputs: (np.input ?? []).slice(),
      outputs: (np.output ?? []).slice(),
      attributes: attrs,
      subgraphs,
    };
    if (!np.name) node.nameSynthesised = true;
    if (np.docString) node.doc = np.docString;
    const extras: Record<string, unknown> = {};
    if (np.overload) extras.overload = np.overload;
    if (np.metadataProps?.length) extras.metadataProps = plainKv(np.metadataProps);
    if (np.deviceConfigurations?.length) {
      extras.deviceConfigurations = np.deviceConfigurations.map((d) => onnx.NodeDeviceConfigurationProto.encode(d).finish());
    }
    if (Object.keys(extras).length) node.formatExtras = extras;
    return node;
  }

  private readAttribute(f: Field, where: string, depth: number): Attribute {
    if (f.end - f.valStart <= this.small && !this.deepFallback) {
      const ap = this.tryDecode(onnx.AttributeProto, f, where);
      if (ap) return this.attributeFromDecoded(ap, where, depth, {});
    }
    const { w } = this;
    const g = newField();
    const rest = new FieldCollector();
    const pre: Prewalked = {};
    for (let pos = f.valStart; pos < f.end; pos = g.end) {
      w.next(pos, f.end, where, g);
      if (g.wire !== WIRE_LEN) {
        rest.add(w.fieldBytes(g));
        continue;
      }
      switch (g.num) {
        case 5: pre.t = this.readTensor(g, `${where}.t`); break;
        case 6: pre.g = this.walkAndBuild(g, `${where}.g`, depth + 1); break;
        case 22: pre.sparseTensor = this.readSparse(g, `${where}.sparse_tensor`); break;
        case 10: (pre.tensors ??= []).push(this.readTensor(g, `${where}.tensors[${pre.tensors?.length ?? 0}]`)); break;
        case 11: (pre.graphs ??= []).push(this.walkAndBuild(g, `${where}.graphs[${pre.graphs?.length ?? 0}]`, depth + 1)); break;
        case 23: (pre.sparseTensors ??= []).push(this.readSparse(g, `${where}.sparse_tensors`)); break;
        default: rest.add(w.fieldBytes(g));
      }
    }
    const ap = decodeWith((b) => onnx.AttributeProto.decode(b), rest.bytes(), where, f.valStart);
    return this.attributeFromDecoded(ap, where, depth, pre);
  }

  private walkAndBuild(f: Field, where: string, depth: number): Graph {
    return this.buildGraph(this.walkGraph(f.valStart, f.end, where, depth));
  }

  private subgraphFromDecoded(gp: onnx.GraphProto, where: string, depth: number): Graph {
    return this.buildGraph(this.partsFromDecoded(gp, where, depth));
  }

  private attributeFromDecoded(ap: onnx.AttributeProto, where: string, depth: number, pre: Prewalked): Attribute {
    const name = ap.name ?? '';
    const at = `${where} ('${name}')`;
    let type = ap.type ?? 0;
    if (type === AT.UNDEFINED) type = inferAttributeType(ap, pre);
    const tensor = (tp: onnx.TensorProto.$Properties, i?: number): Constant =>
      convertTensor(tp as onnx.TensorProto, i === undefined ? `${at}.t` : `${at}.tensors[${i}]`, this.tctx);
    let value: AttributeValue;
    const isRef = !!ap.refAttrName;
    switch (type) {
      case AT.FLOAT: value = { type: 'float', value: ap.f ?? 0 }; break;
      case AT.INT: value = { type: 'int', value: int64ToJs(ap.i) }; break;
      case AT.STRING: {
        const s = ap.s ?? new Uint8Array(0);
        const str = bytesToStringStrict(s);
        value = str === undefined ? { type: 'object', value: { onnxAttributeType: 'STRING', bytes: new Uint8Array(s) } } : { type: 'string', value: str };
        break;
      }
      case AT.TENSOR:
        if (pre.t) value = { type: 'tensor', value: pre.t };
        else if (ap.t) value = { type: 'tensor', value: tensor(ap.t as onnx.TensorProto) };
        else value = refPlaceholder(type);
        break;
      case AT.GRAPH:
        if (pre.g) value = { type: 'graph', value: pre.g };
        else if (ap.g) value = { type: 'graph', value: this.subgraphFromDecoded(ap.g as onnx.GraphProto, `${at}.g`, depth + 1) };
        else value = refPlaceholder(type);
        break;
      case AT.SPARSE_TENSOR:
        if (pre.sparseTensor) value = { type: 'sparse_tensor', value: pre.sparseTensor };
        else if (ap.sparseTensor) value = { type: 'sparse_tensor', value: this.sparseFromDecoded(ap.sparseTensor as onnx.SparseTensorProto, `${at}.sparse_tensor`) };
        else value = refPlaceholder(type);
        break;
      case AT.TYPE_PROTO: {
        if (!ap.tp) { value = refPlaceholder(type); break; }
        const ct = convertType(ap.tp);
        value = ct.type && !ct.plain ? { type: 'type', value: ct.type } : { type: 'object', value: { onnxAttributeType: 'TYPE_PROTO', typeProto: typeToPlain(ap.tp) } };
        break;
      }
      case AT.FLOATS: value = { type: 'floats', value: (ap.floats ?? []).slice() }; break;
      case AT.INTS: value = { type: 'ints', value: (ap.ints ?? []).map((v) => int64ToJs(v)) }; break;
      case AT.STRINGS: value = { type: 'strings', value: (ap.strings ?? []).map(bytesToString) }; break;
      case AT.TENSORS:
        value = { type: 'tensors', value: [...(ap.tensors ?? []).map((t, i) => tensor(t as onnx.TensorProto, i)), ...(pre.tensors ?? [])] };
        break;
      case AT.GRAPHS:
        value = {
          type: 'graphs',
          value: [...(ap.graphs ?? []).map((g, i) => this.subgraphFromDecoded(g as onnx.GraphProto, `${at}.graphs[${i}]`, depth + 1)), ...(pre.graphs ?? [])],
        };
        break;
      case AT.SPARSE_TENSORS:
        value = {
          type: 'object',
          value: {
            onnxAttributeType: 'SPARSE_TENSORS',
            tensors: [...(ap.sparseTensors ?? []).map((s) => this.sparseFromDecoded(s as onnx.SparseTensorProto, `${at}.sparse_tensors`)), ...(pre.sparseTensors ?? [])],
          },
        };
        break;
      case AT.TYPE_PROTOS:
        value = { type: 'object', value: { onnxAttributeType: 'TYPE_PROTOS', typeProtos: (ap.typeProtos ?? []).map((t) => typeToPlain(t)) } };
        break;
      default:
        if (isRef) { value = refPlaceholder(type); break; }
        throw new ModelError('corrupt', `${this.label}: attribute ${at} has unknown type ${type}.`);
    }
    const attr: Attribute = { name, value };
    if (isRef) {
      attr.refAttrName = ap.refAttrName;
      // A reference carries no value; remember the declared type for the writer.
      if (!hasAttributeValue(ap, pre)) attr.value = refPlaceholder(type);
    }
    if (ap.docString) attr.doc = ap.docString;
    return attr;
  }

  // --- TensorProto / SparseTensorProto --------------------------------------------------------

  private readTensor(f: Field, where: string): Constant {
    const size = f.end - f.valStart;
    if (size < this.lazyMin) {
      return convertTensor(this.decodeSmall(onnx.TensorProto, f, where), where, this.tctx);
    }
    const { w, src } = this;
    const g = newField();
    const rest = new FieldCollector();
    let lazy: LazyPayload | undefined;
    let packedSeen = 0;
    for (let pos = f.valStart; pos < f.end; pos = g.end) {
      w.next(pos, f.end, where, g);
      const len = g.end - g.valStart;
      const big = g.wire === WIRE_LEN && len >= this.lazyMin && (g.num === 9 || g.num === 4 || g.num === 10);
      if (!big) {
        rest.add(w.fieldBytes(g));
        continue;
      }
      if (g.num !== 9) packedSeen++;
      const data = src.viewsAreStable
        ? { kind: 'bytes' as const, bytes: src.view(g.valStart, len) }
        : { kind: 'file' as const, path: src.path ?? '', offset: g.valStart, length: len };
      // raw_data: the last occurrence wins, as in protobuf.
      if (g.num === 9 || !lazy || lazy.field !== 9) lazy = { field: g.num as 9 | 4 | 10, data, length: len };
    }
    if (packedSeen > 1) {
      throw new ModelError('unsupported', `${this.label}: ${where} splits its float data into several pieces, which this reader does not support.`);
    }
    const tp = decodeWith((b) => onnx.TensorProto.decode(b), rest.bytes(), where, f.valStart);
    if (lazy && lazy.field !== 9 && (tp.floatData?.length || tp.doubleData?.length)) {
      throw new ModelError('unsupported', `${this.label}: ${where} mixes packed and unpacked float data.`);
    }
    return convertTensor(tp, where, this.tctx, lazy);
  }

  private readSparse(f: Field, where: string): Constant {
    const { w } = this;
    const g = newField();
    let values: Constant | undefined;
    let indices: Constant | undefined;
    const rest = new FieldCollector();
    for (let pos = f.valStart; pos < f.end; pos = g.end) {
      w.next(pos, f.end, where, g);
      if (g.num === 1 && g.wire === WIRE_LEN) values = this.readTensor(g, `${where}.values`);
      else if (g.num === 2 && g.wire === WIRE_LEN) indices = this.readTensor(g, `${where}.indices`);
      else rest.add(w.fieldBytes(g));
    }
    const sp = decodeWith((b) => onnx.SparseTensorProto.decode(b), rest.bytes(), where, f.valStart);
    return this.makeSparse(values, indices, sp.dims, where);
  }

  private sparseFromDecoded(sp: onnx.SparseTensorProto, where: string): Constant {
    const values = sp.values ? convertTensor(sp.values as onnx.TensorProto, `${where}.values`, this.tctx) : undefined;
    const indices = sp.indices ? convertTensor(sp.indices as onnx.TensorProto, `${where}.indices`, this.tctx) : undefined;
    return this.makeSparse(values, indices, sp.dims, where);
  }

  private makeSparse(values: Constant | undefined, indices: Constant | undefined, dims: onnx.SparseTensorProto['dims'], where: string): Constant {
    if (!values || !indices) throw new ModelError('corrupt', `${this.label}: sparse tensor ${where} lacks its values or indices.`);
    const shape = (dims ?? []).map((d) => int64ToNumber(d, `A dimension of ${where}`));
    if (shape.some((d) => d < 0)) throw new ModelError('corrupt', `${this.label}: sparse tensor ${where} has a negative dimension.`);
    return { name: values.name, dtype: values.dtype, shape, data: { kind: 'sparse', values, indices } };
  }

  // --- FunctionProto ----------------------------------------------------------------------------

  private readFunction(f: Field, where: string): ModelFunction {
    const { w } = this;
    const g = newField();
    const rest = new FieldCollector();
    const nodes: Node[] = [];
    for (let pos = f.valStart; pos < f.end; pos = g.end) {
      w.next(pos, f.end, where, g);
      if (g.num === 7 && g.wire === WIRE_LEN) nodes.push(this.readNode(g, nodes.length, `${where}.node[${nodes.length}]`, 1));
      else rest.add(w.fieldBytes(g));
    }
    const fp = decodeWith((b) => onnx.FunctionProto.decode(b), rest.bytes(), where, f.valStart);
    const parts = emptyParts();
    parts.name = fp.name ?? '';
    parts.nodes = nodes;
    parts.inputs = (fp.input ?? []).map((name) => onnx.ValueInfoProto.create({ name }));
    parts.outputs = (fp.output ?? []).map((name) => onnx.ValueInfoProto.create({ name }));
    parts.valueInfo = (fp.valueInfo ?? []) as onnx.ValueInfoProto[];
    const graph = this.buildGraph(parts);
    const fn: ModelFunction = {
      name: fp.name ?? '',
      domain: fp.domain ?? '',
      inputs: (fp.input ?? []).slice(),
      outputs: (fp.output ?? []).slice(),
      attributeNames: (fp.attribute ?? []).slice(),
      opsets: (fp.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: int64ToNumber(o.version, 'An opset version') })),
      graph,
    };
    if (fp.overload) fn.overload = fp.overload;
    if (fp.docString) fn.doc = fp.docString;
    const extras: Record<string, unknown> = {};
    if (fp.attributeProto?.length) {
      extras.attributeDefaults = fp.attributeProto.map((a, i) => this.attributeFromDecoded(a as onnx.AttributeProto, `${where}.attribute_proto[${i}]`, 1, {}));
    }
    if (fp.metadataProps?.length) extras.metadataProps = plainKv(fp.metadataProps);
    if (Object.keys(extras).length) fn.formatExtras = extras;
    return fn;
  }

  // --- helpers ----------------------------------------------------------------------------------

  /**
   * Decodes a small node or attribute with protobufjs, or returns undefined when its nesting is past
   * protobufjs's recursion limit (about 33 levels of subgraphs): the caller then walks it, and our
   * own depth limit applies.
   */
  private tryDecode<T>(type: Decodable<T>, f: Field, where: string): T | undefined {
    try {
      return this.decodeSmall(type, f, where);
    } catch (e) {
      if (e instanceof ModelError && e.code === 'too-large') {
        // From here on walk every node: retrying protobufjs level by level would be quadratic.
        this.deepFallback = true;
        return undefined;
      }
      throw e;
    }
  }

  private decodeSmall<T>(type: Decodable<T>, f: Field, where: string): T {
    return this.rd.decode(type, f, where);
  }
}

function plainKv(list: onnx.StringStringEntryProto.$Properties[]): { key: string; value: string }[] {
  return list.map((kv) => ({ key: kv.key ?? '', value: kv.value ?? '' }));
}

function applyValueInfo(v: Value, vi: onnx.ValueInfoProto): void {
  if (vi.type) {
    const ct = convertType(vi.type);
    v.type = ct.type;
    if (ct.plain) (v.formatExtras ??= {}).onnxType = ct.plain;
  }
  if (vi.docString) v.description = vi.docString;
  if (vi.metadataProps?.length) (v.formatExtras ??= {}).metadataProps = plainKv(vi.metadataProps);
}

function refPlaceholder(type: number): AttributeValue {
  return { type: 'object', value: { onnxAttributeType: ATTRIBUTE_TYPE_NAMES[type] ?? 'UNDEFINED', reference: true } };
}

function hasAttributeValue(ap: onnx.AttributeProto, pre: Prewalked): boolean {
  return has(ap, 'f') || has(ap, 'i') || has(ap, 's') || !!ap.t || !!ap.g || !!ap.sparseTensor || !!ap.tp
    || !!ap.floats?.length || !!ap.ints?.length || !!ap.strings?.length || !!ap.tensors?.length || !!ap.graphs?.length
    || !!ap.sparseTensors?.length || !!ap.typeProtos?.length || Object.keys(pre).length > 0;
}

/** IR version 1 files have no attribute type: the field that is set says it. */
function inferAttributeType(ap: onnx.AttributeProto, pre: Prewalked): number {
  if (ap.floats?.length) return AT.FLOATS;
  if (ap.ints?.length) return AT.INTS;
  if (ap.strings?.length) return AT.STRINGS;
  if (ap.tensors?.length || pre.tensors) return AT.TENSORS;
  if (ap.graphs?.length || pre.graphs) return AT.GRAPHS;
  if (ap.sparseTensors?.length || pre.sparseTensors) return AT.SPARSE_TENSORS;
  if (ap.typeProtos?.length) return AT.TYPE_PROTOS;
  if (has(ap, 'f')) return AT.FLOAT;
  if (has(ap, 'i')) return AT.INT;
  if (has(ap, 's')) return AT.STRING;
  if (ap.t || pre.t) return AT.TENSOR;
  if (ap.g || pre.g) return AT.GRAPH;
  if (ap.sparseTensor || pre.sparseTensor) return AT.SPARSE_TENSOR;
  if (ap.tp) return AT.TYPE_PROTO;
  return AT.UNDEFINED;
}

// --- external data ----------------------------------------------------------------------------

async function resolveExternals(pending: PendingExternal[], modelPath: string | undefined, baseDirOpt: string | undefined, label: string): Promise<void> {
  if (pending.length === 0) return;
  const baseDir = baseDirOpt ? path.resolve(baseDirOpt) : modelPath ? path.dirname(modelPath) : undefined;
  if (!baseDir) {
    throw new ModelError('unsupported', `${label} keeps tensor data in external files, which needs the model's folder: open it from disk or pass baseDir.`);
  }
  let realBase: string;
  try {
    realBase = await fsp.realpath(baseDir);
  } catch (e) {
    throw new ModelError('io', `The folder '${baseDir}' for ${label}'s external data cannot be read.`, { cause: e });
  }
  const files = new Map<string, Promise<{ real: string; size: number }>>();
  const resolve = (location: string, where: string): Promise<{ real: string; size: number }> => {
    let p = files.get(location);
    if (!p) {
      p = resolveLocation(location, baseDir, realBase, where, label);
      files.set(location, p);
    }
    return p;
  };
  for (const ext of pending) {
    const { real, size } = await resolve(ext.location, ext.where);
    const length = ext.length ?? size - ext.offset;
    if (ext.offset > size || length < 0 || ext.offset + length > size) {
      throw new ModelError('corrupt', `${label}: ${ext.where} reads bytes ${ext.offset}..${ext.offset + (ext.length ?? 0)} of '${ext.location}', which has only ${size} bytes.`);
    }
    const c = ext.constant;
    const need = rawByteLengthOf(c);
    if (need !== undefined && need !== length) {
      throw new ModelError('corrupt', `${label}: ${ext.where} has ${length} bytes of external data but ${c.dtype}[${c.shape.join(',')}] needs ${need}.`);
    }
    c.data = { kind: 'file', path: real, offset: ext.offset, length };
  }
}

function rawByteLengthOf(c: Constant): number | undefined {
  return rawByteLength(c.dtype, elementCount(c.shape));
}

async function resolveLocation(location: string, baseDir: string, realBase: string, where: string, label: string): Promise<{ real: string; size: number }> {
  const refuse = (why: string): ModelError =>
    new ModelError('unsafe-path', `${label}: ${where} points its external data at '${location}', which ${why}; only files inside '${baseDir}' are read.`);
  if (location.includes('\0')) throw refuse('contains a NUL character');
  if (path.isAbsolute(location) || path.win32.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) throw refuse('is an absolute path');
  const parts = location.split(/[\\/]+/);
  if (parts.includes('..')) throw refuse("goes up with '..'");
  const joined = path.resolve(baseDir, location);
  let real: string;
  try {
    real = await fsp.realpath(joined);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError('io', `${label}: the external data file '${location}' (${where}) ${code === 'ENOENT' ? `does not exist (looked for '${joined}')` : `cannot be read (${code})`}.`, { cause: e });
  }
  const rel = path.relative(realBase, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw refuse('leads outside the model folder (through a symbolic link)');
  let st;
  try {
    st = await fsp.stat(real);
  } catch (e) {
    throw new ModelError('io', `${label}: the external data file '${location}' cannot be read.`, { cause: e });
  }
  if (!st.isFile()) throw new ModelError('io', `${label}: the external data location '${location}' is not a file.`);
  return { real, size: st.size };
}

// --- locating a truncation -------------------------------------------------------------------------

type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'tensor' | 'sparse' | 'function';

/** Container fields per message kind: field number -> [child kind, name in paths]. */
const CONTAINERS: Record<Kind, Record<number, [Kind, string]>> = {
  model: { 7: ['graph', 'graph'], 25: ['function', 'functions'] },
  graph: { 1: ['node', 'node'], 5: ['tensor', 'initializer'], 15: ['sparse', 'sparse_initializer'] },
  node: { 5: ['attribute', 'attribute'] },
  attribute: { 5: ['tensor', 't'], 6: ['graph', 'g'], 10: ['tensor', 'tensors'], 11: ['graph', 'graphs'], 22: ['sparse', 'sparse_tensor'], 23: ['sparse', 'sparse_tensors'] },
  function: { 7: ['node', 'node'], 11: ['attribute', 'attribute_proto'] },
  sparse: { 1: ['tensor', 'values'], 2: ['tensor', 'indices'] },
  tensor: {},
};

const SINGULAR = new Set(['graph', 't', 'g', 'sparse_tensor', 'values', 'indices', 'name', 'doc_string', 'op_type',
  'domain', 'raw_data', 'producer_name', 'producer_version', 'tp', 's', 'segment', 'float_data', 'int32_data', 'int64_data',
  'double_data', 'uint64_data', 'dims', 'ints', 'floats']);

/** Names of the non-container fields, for messages. */
const FIELD_NAMES: Record<Kind, Record<number, string>> = {
  model: { 2: 'producer_name', 3: 'producer_version', 4: 'domain', 6: 'doc_string', 8: 'opset_import', 14: 'metadata_props', 20: 'training_info' },
  graph: { 2: 'name', 10: 'doc_string', 11: 'input', 12: 'output', 13: 'value_info', 14: 'quantization_annotation', 16: 'metadata_props' },
  node: { 1: 'input', 2: 'output', 3: 'name', 4: 'op_type', 6: 'doc_string', 7: 'domain', 9: 'metadata_props' },
  attribute: { 1: 'name', 4: 's', 7: 'floats', 8: 'ints', 9: 'strings', 13: 'doc_string', 14: 'tp', 15: 'type_protos' },
  tensor: { 1: 'dims', 3: 'segment', 4: 'float_data', 5: 'int32_data', 6: 'string_data', 7: 'int64_data', 8: 'name', 9: 'raw_data', 10: 'double_data', 11: 'uint64_data', 12: 'doc_string', 13: 'external_data' },
  sparse: { 3: 'dims' },
  function: { 1: 'name', 4: 'input', 5: 'output', 6: 'attribute', 8: 'doc_string', 9: 'opset_import', 12: 'value_info' },
};

/**
 * Walks the structure again, descending into the field that runs past the end of the file, so
 * the message can say "inside graph.node[5].attribute[0]" instead of "inside the model".
 */
function locateTruncation(w: Walker, original: ModelError): ModelError {
  const size = w.src.size;
  const f = newField();
  const walk = (kind: Kind, start: number, where: string, depth: number): ModelError | undefined => {
    if (depth > 200) return undefined;
    const counters = new Map<number, number>();
    for (let pos = start; pos < size;) {
      try {
        w.next(pos, size, where, f);
      } catch (e) {
        if (!(e instanceof ModelError)) return undefined;
        const lf = peekLenField(w, pos, size);
        if (!lf || e.code !== 'truncated') return e;
        const child = CONTAINERS[kind][lf.num];
        const fname = child?.[1] ?? FIELD_NAMES[kind][lf.num] ?? `field ${lf.num}`;
        const i = counters.get(lf.num) ?? 0;
        const prefix = where === 'the model' ? (fname === 'graph' ? '' : 'model.') : `${where}.`;
        const fieldWhere = `${prefix}${fname}${SINGULAR.has(fname) ? '' : `[${i}]`}`;
        const named = new ModelError('truncated', `Truncated ONNX file at byte ${pos} inside ${fieldWhere}: it needs ${lf.len} bytes, but the file ends at byte ${size}.`);
        return (child && walk(child[0], lf.valStart, fieldWhere, depth + 1)) || named;
      }
      counters.set(f.num, (counters.get(f.num) ?? 0) + 1);
      pos = f.end;
    }
    return undefined;
  };
  try {
    return walk('model', 0, 'the model', 0) ?? original;
  } catch {
    return original;
  }
}

/** Field number and payload start of a length-delimited field whose length runs past the end. */
function peekLenField(w: Walker, pos: number, size: number): { num: number; valStart: number; len: number } | undefined {
  try {
    const tag = w.varint(pos, size, '');
    if (tag % 8 !== WIRE_LEN) return undefined;
    const after = pos + varintSize(tag);
    const len = w.varint(after, size, '');
    return { num: Math.floor(tag / 8), valStart: after + varintSize(len), len };
  } catch {
    return undefined;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
