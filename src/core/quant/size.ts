/** Byte counts of a model's constants, for comparing a rewritten model with its source. */
import { allGraphs, dtypeBits, elementCount, type Constant, type Model } from '../model';

function constantBytes(c: Constant): number {
  if (c.data.kind === 'file') return c.data.length;
  if (c.data.kind === 'bytes') return c.data.bytes.length;
  if (c.data.kind === 'sparse') return constantBytes(c.data.values) + constantBytes(c.data.indices);
  if (c.data.kind === 'strings') return c.data.values.reduce((a, s) => a + s.length, 0);
  return Math.ceil((elementCount(c.shape) * (dtypeBits(c.dtype) ?? 0)) / 8);
}

/**
 * Bytes of every initializer and Constant-node tensor, in every graph (bodies included), or with
 * `nestedOnly` in the If / Loop / Scan bodies only.
 */
export function constantBytesTotal(model: Model, nestedOnly = false): number {
  let total = 0;
  for (const g of allGraphs(model)) {
    if (nestedOnly && model.graphs.includes(g)) continue;
    for (const name of g.initializers) { const c = g.values.get(name)?.constant; if (c) total += constantBytes(c); }
    for (const n of g.nodes) {
      if (n.opType !== 'Constant') continue;
      for (const a of n.attributes) if (a.value.type === 'tensor' || a.value.type === 'sparse_tensor') total += constantBytes(a.value.value);
    }
  }
  return total;
}
