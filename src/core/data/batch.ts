/** Batching: consecutive samples concatenated along the first axis. */
import { DataError } from './errors';
import { allocArray, dimsText, type InputSpec, type Sample } from './tensor';

/**
 * Concatenates consecutive samples along the first axis into batches of up to `batchSize`
 * (the last may be smaller). Every input must have a symbolic (or unknown) first dim, since a
 * fixed one cannot take a larger batch.
 */
export async function* batchSamples(data: AsyncIterable<Sample>, batchSize: number, inputs: InputSpec[]): AsyncGenerator<Sample> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new DataError('unsupported', `Batch size must be a positive integer, got ${batchSize}`);
  if (batchSize > 1) {
    for (const i of inputs) {
      const d0 = i.shape?.[0];
      if (typeof d0 === 'number') {
        throw new DataError('shape-mismatch', `Input "${i.name}" has a fixed batch dimension of ${d0} (shape ${dimsText(i.shape)}), so samples cannot be batched ${batchSize} at a time`, { input: i.name, expected: dimsText(i.shape) });
      }
    }
  }
  let pending: Sample[] = [];
  const flush = (): Sample => {
    const out: Sample = {};
    for (const name of Object.keys(pending[0])) {
      const parts = pending.map((s) => s[name]);
      const first = parts[0];
      const rest = first.shape.slice(1);
      let n0 = 0;
      for (const p of parts) {
        if (p.shape.length !== first.shape.length || p.shape.slice(1).some((d, i) => d !== rest[i])) {
          throw new DataError('shape-mismatch', `Input "${name}": samples of shapes ${dimsText(first.shape)} and ${dimsText(p.shape)} cannot be batched together`, { input: name });
        }
        n0 += p.shape[0];
      }
      const data = allocArray(first.dtype, parts.reduce((a, p) => a + p.data.length, 0));
      let off = 0;
      for (const p of parts) { (data as Float32Array).set(p.data as Float32Array, off); off += p.data.length; }
      out[name] = { dtype: first.dtype, shape: [n0, ...rest], data };
    }
    pending = [];
    return out;
  };
  for await (const s of data) {
    if (batchSize === 1) { yield s; continue; }
    pending.push(s);
    if (pending.length === batchSize) yield flush();
  }
  if (pending.length) yield flush();
}
