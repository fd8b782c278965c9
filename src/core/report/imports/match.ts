/**
 * Matching the names other tools print (node names, activation tensor names, weight names) to the
 * nodes of a model, and collecting what matched into layer records. A name that matches nothing is
 * kept in the report's `unmatched` list with the reason, never dropped.
 */
import { mainGraph, type Model } from '../../model';
import { emptyReport, type LayerRecord, type ResultsReport } from '../model';

/** The names a model's main graph answers to. Plain data, so tests and callers can build one without a file. */
export interface NodeIndex {
  /** Node name -> op type, in graph order. */
  nodes: Map<string, string>;
  /** Tensor name -> the node that produces it. */
  producers: Map<string, string>;
  /** Tensor name -> the nodes that read it (weights: the layers they belong to). */
  consumers: Map<string, string[]>;
}

export function nodeIndex(model: Model): NodeIndex {
  const g = mainGraph(model);
  const idx: NodeIndex = { nodes: new Map(), producers: new Map(), consumers: new Map() };
  for (const n of g.nodes) {
    idx.nodes.set(n.name, n.opType);
    for (const o of n.outputs) if (o) idx.producers.set(o, n.name);
    for (const i of n.inputs) if (i) idx.consumers.set(i, [...(idx.consumers.get(i) ?? []), n.name]);
  }
  return idx;
}

export type MatchVia = 'node' | 'tensor' | 'weight';

/** The node a name stands for: a node of that name, else the producer of a tensor of that name. */
export function matchName(idx: NodeIndex, name: string, order: MatchVia[] = ['node', 'tensor']): { node: string; via: MatchVia } | undefined {
  for (const via of order) {
    if (via === 'node' && idx.nodes.has(name)) return { node: name, via };
    if (via === 'tensor' && idx.producers.has(name)) return { node: idx.producers.get(name)!, via };
    if (via === 'weight') {
      const readers = idx.consumers.get(name);
      if (readers?.length === 1 && !idx.producers.has(name)) return { node: readers[0], via };
    }
  }
  return undefined;
}

/** Gathers matched values into one layer record per node (graph order) and the unmatched names. */
export class Collector {
  private readonly records = new Map<string, LayerRecord>();
  private readonly origin = new Map<string, string>();
  readonly report: ResultsReport = emptyReport();

  constructor(private readonly idx: NodeIndex, private readonly sourceName: string) {}

  set(node: string, metric: string, value: number, from: string, tensor?: string): void {
    let r = this.records.get(node);
    if (!r) {
      r = { node, opType: this.idx.nodes.get(node), metrics: {} };
      if (tensor) r.tensor = tensor;
      this.records.set(node, r);
    }
    const key = `${node}\u0000${metric}`;
    const before = this.origin.get(key);
    if (before !== undefined && before !== from) this.report.warnings.push(`${this.sourceName}: "${before}" and "${from}" both map to node "${node}"; its ${metric} is the latter's.`);
    this.origin.set(key, from);
    r.metrics[metric] = value;
  }

  unmatched(name: string, reason: string): void {
    this.report.unmatched.push({ source: this.sourceName, name, reason });
  }

  /** The report: records in the model's node order. */
  finish(): ResultsReport {
    const order = [...this.idx.nodes.keys()];
    this.report.layers = order.filter((n) => this.records.has(n)).map((n) => this.records.get(n)!);
    if (this.report.unmatched.length) {
      this.report.warnings.push(`${this.sourceName}: ${this.report.unmatched.length} name(s) match no node or tensor of the model (listed as unmatched).`);
    }
    return this.report;
  }
}

/**
 * JSON as Python's json.dump writes it: NaN, Infinity and -Infinity appear as bare words (outside
 * strings), which JSON.parse refuses. They are turned into numbers here.
 */
export function parsePythonJson(text: string): unknown {
  const marks = ['NaN', 'Infinity', '-Infinity'];
  const swapped = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => (m.startsWith('"') ? m : `"\\u0000${m}"`));
  return JSON.parse(swapped, (_k, v) => (typeof v === 'string' && v.startsWith('\u0000') && marks.includes(v.slice(1)) ? Number(v.slice(1)) : v));
}
