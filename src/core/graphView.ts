/**
 * Model → a compact view model of one graph for the webview's graph view. Plain arrays and
 * numbers only (no Maps, no class instances, no bigint, no tensor bytes), so it structured-clones
 * cheaply to the webview and on to its layout worker.
 *
 * Name scopes ('/encoder/layer.3/attn/MatMul', or TFLite tensor names 'model/conv2d/Relu') become
 * a tree of groups. A group of up to FLAT_MAX direct members is shown flat, as Netron shows a
 * model. A bigger one is split by structure a reader recognises (graphStructure.ts): stages
 * between downsamplings, blocks between the points where one tensor carries everything, repeated
 * blocks; so no layout places more than FLAT_MAX items: layout libraries are super-linear (and
 * recursive: both dagre and elkjs overflow the stack on a chain of ~2,000 nodes), and a
 * 50,000-node graph must still open in a few seconds.
 *
 * Nodes that only compute constants (Constant, ConstantOfShape of a constant shape, and ops whose
 * inputs are all constants) are folded into their consumers, as Netron folds initializers: their
 * outputs read as constants, and the folded node is named on the tensor (`computedBy`).
 */
import { structuralSplit, type Unit } from './graphStructure';
import { formatShape, mainGraph, type AttributeValue, type Dim, type Graph, type Model, type Node, type QuantParams } from './model';

export type GvNodeKind = 'op' | 'input' | 'output';

export interface GvNode {
  /** Index into GraphView.nodes. */
  id: number;
  name: string;
  opType: string;
  domain: string;
  kind: GvNodeKind;
  /** Index into GraphView.groups of the innermost group holding the node; 0 is the root. */
  group: number;
  /** Tensor indices; -1 marks an omitted optional input/output. */
  inputs: number[];
  outputs: number[];
  /** Attributes rendered as short display strings. */
  attrs: { name: string; value: string }[];
  /** The few attributes worth seeing on the node box itself ('3×3 /2 g32', 'axis 1', '+RELU6'). */
  keyAttrs?: string;
}

export interface GvTensor {
  name: string;
  dtype: string;
  shape: Dim[] | null;
  /** Initializer / constant-backed tensor (weights): shown in properties, not drawn as an edge. */
  constant: boolean;
  /** Node index that writes the tensor, or -1 (graph input, constant). */
  producer: number;
  /** Short quantization summary ('scale 0.0039 zp -128', 'per-channel (64) axis 0'), if quantized. */
  quant?: string;
  /** The quantization parameters themselves (per-channel scales included), for the properties panel. */
  q?: GvQuant;
  /** Set when Q/DQ folding removed the QuantizeLinear/DequantizeLinear nodes around this tensor. */
  folded?: boolean;
  /** The constant-only node that computes this tensor, folded into the tensor's consumers. */
  computedBy?: { name: string; opType: string; attrs: { name: string; value: string }[] };
}

/** Quantization parameters of a tensor: real = scale * (q - zeroPoint). */
export interface GvQuant {
  scale: number[];
  zeroPoint: number[];
  axis?: number;
  /** The stored integer type (int8, uint8, ...), when known. */
  type?: string;
  origin: QuantParams['origin'];
}

export interface GvEdge {
  from: number;
  to: number;
  /** Tensor index the edge carries. */
  tensor: number;
}

export interface GvGroup {
  /** Index into GraphView.groups; groups[0] is the root (the whole graph). */
  id: number;
  /** The scope segment ('layer.3'), or what a structural group holds ('stage 2 · 28×28', 'block 3'). */
  label: string;
  /** Full scope path ('/encoder/layer.3'); '' for the root. */
  path: string;
  parent: number;
  depth: number;
  /** A structural group (stage, block, repeat) made to bound layout size, not a real name scope. */
  synthetic: boolean;
  /** Direct child groups and nodes, in graph order. */
  groups: number[];
  nodes: number[];
  /** Number of nodes anywhere below the group. */
  size: number;
  /** Most frequent op types below the group, most frequent first (at most 4). */
  opMix: [string, number][];
}

export interface GraphView {
  graphName: string;
  nodes: GvNode[];
  tensors: GvTensor[];
  edges: GvEdge[];
  groups: GvGroup[];
  /** Number of op nodes (graph inputs/outputs excluded). */
  opCount: number;
  /** QuantizeLinear/DequantizeLinear nodes removed by `foldQdq` (0 or absent when not folded). */
  foldedQdq?: number;
  /** QuantizeLinear/DequantizeLinear nodes the graph has (whether or not they were folded). */
  qdqCount?: number;
  /**
   * Q/DQ nodes that folding would remove: 0 on QOperator models (QLinearConv ...), whose only
   * Q/DQ nodes sit at the boundaries, so the view offers folding only where it changes something.
   */
  qdqFoldable?: number;
  /** Constant-only nodes folded into their consumers (not in `nodes`). */
  constFolded?: number;
}

export interface GraphViewOptions {
  /** Largest number of members of a structural group (stage, block, repeat). */
  chunk?: number;
  /** Largest number of direct members (nodes + child groups) a group shows flat before it is split by structure. */
  flatMax?: number;
  /**
   * Fold Q/DQ pairs into the edges they quantize, so a QDQ model reads like its float original:
   * x → QuantizeLinear → DequantizeLinear → op becomes x → op (x carries the quantization badge),
   * and a DequantizeLinear of a constant (a quantized weight) becomes that constant read directly.
   */
  foldQdq?: boolean;
}

/** Members of a structural group: dagre lays out ~64 items in a few tens of ms. */
export const DEFAULT_CHUNK = 64;

/**
 * The largest group shown flat. `npm run bench -- graph-view` lays out scope-less synthetic graphs
 * flat (first_usable_paint_flat_ms_*): on the shared 2-core machine, under load, 200 / 300 / 400 /
 * 600 / 800 nodes took 0.41 / 0.45-0.55 / 0.40-0.85 / 0.58-0.99 / 1.25 s to a usable paint, the
 * layout about 1-1.6 ms a node and growing faster past 600. 300 keeps a flat first paint within
 * the 0.5 s target of graphs up to 2k nodes even under that load, and shows ResNet-50 (176 ops once
 * its constants fold) and MobileNetV2 (75) flat.
 */
export const FLAT_MAX = 300;

/** The scope path of a node as segments, from its name or else its first output's name. */
export function scopeOf(nodeName: string, firstOutput: string | undefined): string[] {
  const pick = (s: string): string[] | undefined => {
    // TFLite fused names list several ops separated by ';': the first is the scope that matters.
    const head = s.split(';')[0];
    if (!head.includes('/')) return undefined;
    const parts = head.split('/').filter((p) => p.length > 0);
    parts.pop(); // the last segment names the op itself
    return parts;
  };
  return pick(nodeName) ?? (firstOutput ? pick(firstOutput) : undefined) ?? [];
}

function shortNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Number(x.toPrecision(5)).toString();
}

function listPreview(xs: readonly (number | bigint | string)[], max = 8): string {
  const shown = xs.slice(0, max).map((x) => (typeof x === 'number' ? shortNumber(x) : String(x)));
  return '[' + shown.join(', ') + (xs.length > max ? `, … (${xs.length})` : '') + ']';
}

export function formatAttribute(v: AttributeValue): string {
  switch (v.type) {
    case 'int': return String(v.value);
    case 'float': return shortNumber(v.value);
    case 'string': return v.value.length > 200 ? v.value.slice(0, 200) + '…' : v.value;
    case 'bool': return String(v.value);
    case 'ints': case 'floats': case 'strings': return listPreview(v.value);
    case 'tensor': case 'sparse_tensor': return `tensor ${v.value.dtype}${formatShape(v.value.shape)}`;
    case 'tensors': return `${v.value.length} tensors`;
    case 'graph': return `graph ${v.value.name} (${v.value.nodes.length} nodes)`;
    case 'graphs': return `${v.value.length} graphs`;
    case 'type': return `${v.value.dtype}${formatShape(v.value.shape)}`;
    case 'object': {
      let s: string;
      try {
        s = JSON.stringify(v.value, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null';
      } catch {
        s = '{…}';
      }
      return s.length > 200 ? s.slice(0, 200) + '…' : s;
    }
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function intList(a: AttributeValue | undefined): number[] | undefined {
  if (!a) return undefined;
  if (a.type === 'ints') return a.value.map(Number);
  if (a.type === 'int') return [Number(a.value)];
  return undefined;
}

/**
 * The attributes a reader wants on the node box, as Netron and Model Explorer show them: kernel
 * size, stride, groups, axis, fused activation. Kernel sizes come from the attribute when present,
 * else from the weight constant's spatial dims (ONNX OIHW, TFLite OHWI).
 */
export function keyAttributes(node: Node, graph: Graph): string | undefined {
  const attr = new Map(node.attributes.map((a) => [a.name, a.value] as const));
  const parts: string[] = [];
  const op = node.opType;
  const isOnnxConv = /^(Conv|ConvTranspose|ConvInteger|QLinearConv)$/.test(op);
  const isOnnxPool = /^(MaxPool|AveragePool|LpPool)$/.test(op);
  const isTfliteConv = /^(CONV_2D|DEPTHWISE_CONV_2D|TRANSPOSE_CONV|CONV_3D)$/.test(op);
  const isTflitePool = /^(MAX_POOL_2D|AVERAGE_POOL_2D|L2_POOL_2D)$/.test(op);
  if (isOnnxConv || isOnnxPool) {
    let kernel = intList(attr.get('kernel_shape'));
    if (!kernel && isOnnxConv) {
      const w = graph.values.get(node.inputs[op === 'QLinearConv' ? 3 : 1] ?? '')?.constant;
      if (w && w.shape.length > 2) kernel = w.shape.slice(2);
    }
    if (kernel) parts.push(kernel.join('×'));
    const strides = intList(attr.get('strides'));
    if (strides && strides.some((x) => x !== 1)) parts.push('/' + (strides.every((x) => x === strides[0]) ? strides[0] : strides.join('×')));
    const group = intList(attr.get('group'))?.[0];
    if (group && group > 1) parts.push(`g${group}`);
  } else if (isTfliteConv || isTflitePool) {
    const fh = intList(attr.get('filter_height'))?.[0];
    const fw = intList(attr.get('filter_width'))?.[0];
    if (fh && fw) parts.push(`${fh}×${fw}`);
    else {
      const w = graph.values.get(node.inputs[1] ?? '')?.constant;
      if (w && w.shape.length === 4) parts.push(`${w.shape[1]}×${w.shape[2]}`);
    }
    const sh = intList(attr.get('stride_h'))?.[0];
    const sw = intList(attr.get('stride_w'))?.[0];
    if (sh && sw && (sh !== 1 || sw !== 1)) parts.push('/' + (sh === sw ? sh : `${sh}×${sw}`));
  } else if (/^(Concat|Softmax|LogSoftmax|Gather|Flatten|Split|CumSum|ArgMax|ArgMin|CONCATENATION|GATHER|SOFTMAX|SPLIT)$/.test(op)) {
    const axis = intList(attr.get('axis'))?.[0];
    if (axis !== undefined) parts.push(`axis ${axis}`);
  } else if (op === 'Gemm') {
    if (intList(attr.get('transB'))?.[0] === 1) parts.push('Bᵀ');
  } else if (op === 'Transpose' || op === 'TRANSPOSE') {
    const perm = intList(attr.get('perm'));
    if (perm) parts.push(`[${perm.join(',')}]`);
  }
  const act = attr.get('fused_activation_function');
  if (act?.type === 'string' && act.value !== 'NONE') parts.push('+' + act.value);
  return parts.length ? parts.join(' ') : undefined;
}

function quantSummary(q: QuantParams | undefined): string | undefined {
  if (!q || q.scale.length === 0) return undefined;
  if (q.scale.length === 1) return `scale ${shortNumber(q.scale[0])} zp ${q.zeroPoint[0] ?? 0}`;
  return `per-channel (${q.scale.length})${q.axis !== undefined ? ` axis ${q.axis}` : ''}`;
}

function quantParams(q: QuantParams | undefined): GvQuant | undefined {
  if (!q || q.scale.length === 0) return undefined;
  const out: GvQuant = { scale: [...q.scale], zeroPoint: [...q.zeroPoint], origin: q.origin };
  if (q.axis !== undefined) out.axis = q.axis;
  if (q.quantizedType) out.type = q.quantizedType;
  return out;
}

const isQ = (n: Node): boolean => n.opType === 'QuantizeLinear' && (n.domain === '' || n.domain === 'ai.onnx' || n.domain === 'com.microsoft');
const isDQ = (n: Node): boolean => n.opType === 'DequantizeLinear' && (n.domain === '' || n.domain === 'ai.onnx' || n.domain === 'com.microsoft');

/**
 * Which Q/DQ nodes folding removes, and which tensor each removed output stands for.
 * - A DequantizeLinear whose input is a constant (a stored quantized weight): its output is read
 *   as that constant.
 * - A QuantizeLinear whose every reader is a DequantizeLinear (and whose output is no graph
 *   output): the pair disappears and the DQs' outputs are read as the Q's float input, which
 *   carries the quantization parameters as a badge.
 * Aliases resolve transitively, so chains (Q→DQ→Q→DQ) collapse to the first float tensor.
 */
function planQdqFold(graph: Graph): { skip: Set<number>; alias: Map<string, string>; badge: Map<string, QuantParams>; targets: Set<string> } {
  const skip = new Set<number>();
  const alias = new Map<string, string>();
  const badge = new Map<string, QuantParams>();
  const outputs = new Set(graph.outputs);
  const inits = new Set(graph.initializers);
  const isConst = (name: string): boolean => graph.values.get(name)?.constant !== undefined || inits.has(name);
  graph.nodes.forEach((n, i) => {
    if (!isDQ(n) || !n.inputs[0] || !n.outputs[0] || outputs.has(n.outputs[0])) return;
    if (isConst(n.inputs[0])) {
      skip.add(i);
      alias.set(n.outputs[0], n.inputs[0]);
    }
  });
  graph.nodes.forEach((n, i) => {
    if (!isQ(n) || !n.inputs[0] || !n.outputs[0] || outputs.has(n.outputs[0])) return;
    const q = graph.values.get(n.outputs[0]);
    const readers = q?.consumers ?? [];
    if (readers.length === 0 || !readers.every((r) => isDQ(graph.nodes[r]) && graph.nodes[r].inputs[0] === n.outputs[0] && !!graph.nodes[r].outputs[0] && !outputs.has(graph.nodes[r].outputs[0]))) return;
    skip.add(i);
    for (const r of readers) {
      skip.add(r);
      alias.set(graph.nodes[r].outputs[0], n.inputs[0]);
    }
    if (q?.quant && !badge.has(n.inputs[0])) badge.set(n.inputs[0], q.quant);
  });
  return { skip, alias, badge, targets: new Set(alias.values()) };
}

/**
 * Nodes that only compute constants, in graph order: Constant, ConstantOfShape of a constant
 * shape, and ops whose inputs are all constants, one at least computed by such a node (an
 * Unsqueeze of a ConstantOfShape). Q/DQ stay (folding them is its own toggle), random ops and nodes with
 * subgraphs stay, and so does a node writing a graph output (the graph would be empty otherwise).
 */
function planConstFold(graph: Graph, skip: ReadonlySet<number> | undefined): Set<number> {
  const folded = new Set<number>();
  const outputs = new Set(graph.outputs);
  const constant = new Set<string>(graph.initializers);
  for (const [name, v] of graph.values) if (v.constant) constant.add(name);
  const computed = new Set<string>();
  graph.nodes.forEach((n, i) => {
    if (skip?.has(i) || isQ(n) || isDQ(n) || n.subgraphs.length > 0 || /^Random/.test(n.opType)) return;
    const outs = n.outputs.filter((o) => o !== '');
    if (outs.length === 0 || outs.some((o) => outputs.has(o))) return;
    const ins = n.inputs.filter((x) => x !== '');
    const ok = n.opType === 'Constant' ? ins.length === 0
      // Other ops fold only on top of a folded node (Unsqueeze of a ConstantOfShape), so a Reshape
      // of a stored weight stays a node, as Netron shows it.
      : ins.length > 0 && ins.every((x) => constant.has(x)) && (n.opType === 'ConstantOfShape' || ins.some((x) => computed.has(x)));
    if (!ok) return;
    folded.add(i);
    for (const o of outs) {
      constant.add(o);
      computed.add(o);
    }
  });
  return folded;
}

/** Builds the view model of `graph` (by default the model's main graph). */
export function buildGraphView(model: Model, options: GraphViewOptions = {}, graph: Graph = mainGraph(model)): GraphView {
  const chunk = Math.max(2, options.chunk ?? DEFAULT_CHUNK);
  const flatMax = Math.max(chunk, options.flatMax ?? FLAT_MAX);
  const tensors: GvTensor[] = [];
  const initializers = new Set(graph.initializers);
  const tensorIndex = new Map<string, number>();
  const qdqPlan = planQdqFold(graph);
  const fold = options.foldQdq ? qdqPlan : undefined;
  const constFold = planConstFold(graph, fold?.skip);
  // Output tensor name -> the folded constant-only node that writes it.
  const computedBy = new Map<string, Node>();
  for (const i of constFold) for (const o of graph.nodes[i].outputs) if (o !== '') computedBy.set(o, graph.nodes[i]);
  const resolve = (name: string): string => {
    if (!fold) return name;
    // Bounded: aliases point from a removed DQ output to an earlier tensor, so chains end.
    for (let k = 0; k < 64 && fold.alias.has(name); k++) name = fold.alias.get(name)!;
    return name;
  };
  const tensorOf = (raw: string): number => {
    if (raw === '') return -1;
    const name = resolve(raw);
    let i = tensorIndex.get(name);
    if (i === undefined) {
      const v = graph.values.get(name);
      i = tensors.length;
      const t: GvTensor = {
        name,
        dtype: v?.type?.dtype ?? v?.constant?.dtype ?? 'unknown',
        shape: v?.type?.shape ?? v?.constant?.shape ?? null,
        constant: v?.constant !== undefined || initializers.has(name) || computedBy.has(name),
        producer: -1,
      };
      const by = computedBy.get(name);
      if (by) t.computedBy = { name: by.name, opType: by.opType, attrs: by.attributes.map((a) => ({ name: a.name, value: a.refAttrName ? `@${a.refAttrName}` : formatAttribute(a.value) })) };
      const quant = v?.quant ?? fold?.badge.get(name);
      const q = quantSummary(quant);
      if (q) t.quant = q;
      const qp = quantParams(quant);
      if (qp) t.q = qp;
      if (fold?.targets.has(name)) t.folded = true;
      tensors.push(t);
      tensorIndex.set(name, i);
    }
    return i;
  };

  const nodes: GvNode[] = [];
  const groups: GvGroup[] = [{ id: 0, label: graph.name || 'graph', path: '', parent: -1, depth: 0, synthetic: false, groups: [], nodes: [], size: 0, opMix: [] }];
  const groupByPath = new Map<string, number>([['', 0]]);
  // Members of each group in graph order, before chunking: ['g', index] or ['n', index].
  const members: (readonly ['g' | 'n', number])[][] = [[]];
  const groupFor = (segments: string[]): number => {
    let cur = 0;
    let path = '';
    for (const seg of segments) {
      path += '/' + seg;
      let g = groupByPath.get(path);
      if (g === undefined) {
        g = groups.length;
        groups.push({ id: g, label: seg, path, parent: cur, depth: groups[cur].depth + 1, synthetic: false, groups: [], nodes: [], size: 0, opMix: [] });
        members.push([]);
        members[cur].push(['g', g]);
        groupByPath.set(path, g);
      }
      cur = g;
    }
    return cur;
  };
  const addNode = (n: Omit<GvNode, 'id'>): number => {
    const id = nodes.length;
    nodes.push({ id, ...n });
    members[n.group].push(['n', id]);
    return id;
  };

  // Graph inputs first (at the root), then the ops, then graph outputs: graph order is also a
  // topological order, which keeps chunks of consecutive members meaningful.
  for (const name of graph.inputs) {
    const t = tensorOf(name);
    const id = addNode({ name, opType: 'Input', domain: '', kind: 'input', group: 0, inputs: [], outputs: [t], attrs: [] });
    tensors[t].producer = id;
  }
  let folded = 0;
  let qdqCount = 0;
  for (const [ni, n] of graph.nodes.entries()) {
    if (isQ(n) || isDQ(n)) qdqCount++;
    if (fold?.skip.has(ni)) {
      folded++;
      continue;
    }
    if (constFold.has(ni)) continue;
    const group = groupFor(scopeOf(n.name, n.outputs.find((o) => o !== '')));
    const inputs = n.inputs.map(tensorOf);
    const outputs = n.outputs.map(tensorOf);
    const id = addNode({
      name: n.name, opType: n.opType, domain: n.domain, kind: 'op', group, inputs, outputs,
      attrs: n.attributes.map((a) => ({ name: a.name, value: a.refAttrName ? `@${a.refAttrName}` : formatAttribute(a.value) })),
      // Only present when there is something to show: the view must survive a JSON round trip unchanged.
      ...optional('keyAttrs', keyAttributes(n, graph)),
    });
    for (const t of outputs) if (t >= 0) tensors[t].producer = id;
  }
  for (const name of graph.outputs) {
    addNode({ name, opType: 'Output', domain: '', kind: 'output', group: 0, inputs: [tensorOf(name)], outputs: [], attrs: [] });
  }

  const edges: GvEdge[] = [];
  for (const n of nodes) {
    const seen = new Set<number>();
    for (const t of n.inputs) {
      if (t < 0 || seen.has(t)) continue;
      seen.add(t);
      const p = tensors[t].producer;
      if (p >= 0 && p !== n.id) edges.push({ from: p, to: n.id, tensor: t });
    }
  }

  // A group with more direct members than a flat layout can place quickly is split by structure.
  const realGroupCount = groups.length;
  for (let g = 0; g < realGroupCount; g++) {
    if (members[g].length <= flatMax) continue;
    const units: Unit[] = members[g].map(([kind, idx]) => ({ kind, id: idx }));
    const tree = structuralSplit(units, { nodes, groups, members, tensors, cap: chunk });
    const place = (list: ReturnType<typeof structuralSplit>, parent: number): (readonly ['g' | 'n', number])[] =>
      list.map((m) => {
        if (m.kind !== 'split') {
          if (m.kind === 'g') groups[m.id].parent = parent;
          else nodes[m.id].group = parent;
          return [m.kind, m.id] as const;
        }
        const c = groups.length;
        groups.push({ id: c, label: m.label, path: `${groups[g].path}/#${c}`, parent, depth: 0, synthetic: true, groups: [], nodes: [], size: 0, opMix: [] });
        members.push([]);
        members[c] = place(m.members, c);
        return ['g', c] as const;
      });
    members[g] = place(tree, g);
  }
  for (let g = 0; g < groups.length; g++) {
    for (const [kind, idx] of members[g]) (kind === 'g' ? groups[g].groups : groups[g].nodes).push(idx);
  }
  // Depths, sizes and op mixes, parents before children (a chunk's index can exceed its children's).
  const order: number[] = [0];
  for (let i = 0; i < order.length; i++) {
    const g = groups[order[i]];
    for (const c of g.groups) {
      groups[c].depth = g.depth + 1;
      order.push(c);
    }
  }
  const mix: Map<string, number>[] = groups.map(() => new Map());
  for (let i = order.length - 1; i >= 0; i--) {
    const g = groups[order[i]];
    const m = mix[g.id];
    for (const n of g.nodes) {
      if (nodes[n].kind !== 'op') continue;
      m.set(nodes[n].opType, (m.get(nodes[n].opType) ?? 0) + 1);
    }
    g.size += g.nodes.length;
    for (const c of g.groups) {
      g.size += groups[c].size;
      for (const [op, k] of mix[c]) m.set(op, (m.get(op) ?? 0) + k);
    }
    g.opMix = [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 4);
  }

  const view: GraphView = { graphName: graph.name, nodes, tensors, edges, groups, opCount: graph.nodes.length - folded - constFold.size, qdqCount, qdqFoldable: qdqPlan.skip.size, constFolded: constFold.size };
  if (fold) view.foldedQdq = folded;
  return view;
}

/** Ancestor groups of a node, outermost (the root, 0) first and its own group last. */
export function groupChain(view: Pick<GraphView, 'groups' | 'nodes'>, node: number): number[] {
  const chain: number[] = [];
  for (let g = view.nodes[node].group; g >= 0; g = view.groups[g].parent) chain.push(g);
  return chain.reverse();
}
