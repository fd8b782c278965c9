/**
 * The compare view's translation between a float graph and its quantized version (VS Code-free):
 * a selection, a viewport's centre node and a per-layer overlay carried from one side to the
 * other through the core's node match (same names, QOperator renames and fusions, Q/DQ owned by
 * the op they quantize).
 */
import { matchNodes, type NodeMatch } from '../core/compare/matchNodes';
import type { GraphView } from '../core/graphView';
import type { LayerResultsMessage } from '../protocol';

export type CompareSide = 'float' | 'quantized';

const QUANTIZERS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear']);

export class CompareMapping {
  readonly match: NodeMatch;
  private readonly names: Record<CompareSide, Set<string>>;
  private readonly quantizers: Set<string>;
  private readonly ops: Record<CompareSide, Set<string>>;

  constructor(float: GraphView, quantized: GraphView) {
    this.match = matchNodes(float, quantized);
    this.names = { float: new Set(float.nodes.map((n) => n.name)), quantized: new Set(quantized.nodes.map((n) => n.name)) };
    this.ops = {
      float: new Set(float.nodes.filter((n) => n.kind === 'op').map((n) => n.name)),
      quantized: new Set(quantized.nodes.filter((n) => n.kind === 'op').map((n) => n.name)),
    };
    this.quantizers = new Set(quantized.nodes.filter((n) => QUANTIZERS.has(n.opType)).map((n) => n.name));
  }

  /** The nodes of the other side that stand for `nodes` of `from`: ops first (the first is the primary), then quantizers. */
  selectionInPeer(from: CompareSide, nodes: readonly string[]): string[] {
    const first: string[] = [];
    const rest: string[] = [];
    for (const n of nodes) {
      if (from === 'quantized') {
        const f = this.match.quantToFloat.get(n) ?? (this.names.float.has(n) ? n : undefined);
        if (f) first.push(f);
        continue;
      }
      const q = this.match.floatToQuant.get(n) ?? (this.names.quantized.has(n) ? [n] : []);
      for (const x of q) (this.quantizers.has(x) ? rest : first).push(x);
    }
    return [...new Set([...first, ...rest])];
  }

  /** The node of the other side to centre when `from` centres `node` (its op, not a quantizer). */
  centreInPeer(from: CompareSide, node: string): string | undefined {
    return this.selectionInPeer(from, [node])[0];
  }

  /** The op names among `nodes` on `side` (what a graph reports as its selection). */
  opsOf(side: CompareSide, nodes: readonly string[]): string[] {
    return nodes.filter((n) => this.ops[side].has(n));
  }

  /**
   * The float model's per-layer results keyed by the quantized graph's ops: a renamed or fused op
   * gets its float layer's values, a quantizer none (its error is its op's).
   */
  overlayForQuantized(msg: LayerResultsMessage): LayerResultsMessage {
    const results: LayerResultsMessage['results'] = [];
    const seen = new Set<string>();
    for (const r of msg.results) {
      const q = this.match.floatToQuant.get(r.node) ?? (this.names.quantized.has(r.node) ? [r.node] : []);
      for (const name of q) {
        if (this.quantizers.has(name) || seen.has(name)) continue;
        seen.add(name);
        results.push({ ...r, node: name });
      }
    }
    return { ...msg, results };
  }
}
