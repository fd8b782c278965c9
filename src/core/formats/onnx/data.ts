/** Reading a constant's bytes on request (the reader leaves big ones in the file). */
import { ModelError } from '../../errors';
import { elementCount, type Constant } from '../../model';
import { decodeNumbers, rawByteLength } from './dtypes';
import { readFileRange } from './source';

/**
 * The raw little-endian bytes of a dense constant (ONNX raw_data layout). Reads the file for lazy
 * data. Throws for string, sparse and data-less constants.
 */
export function constantBytes(c: Constant): Uint8Array {
  const d = c.data;
  switch (d.kind) {
    case 'bytes': return d.bytes;
    case 'file': return readFileRange(d.path, d.offset, d.length);
    default: throw new ModelError('unsupported', `Tensor '${c.name}' has ${d.kind} data, not raw bytes.`);
  }
}

/** Byte length of a dense constant's data without reading it (0 for strings, sparse, none). */
export function constantByteLength(c: Constant): number {
  const d = c.data;
  return d.kind === 'bytes' ? d.bytes.length : d.kind === 'file' ? d.length : 0;
}

/** Element values as JS numbers (small tensors: scales, zero points, shapes). */
export function constantNumbers(c: Constant): number[] {
  const count = elementCount(c.shape);
  const bytes = constantBytes(c);
  const need = rawByteLength(c.dtype, count);
  if (need === undefined || need > bytes.length) {
    throw new ModelError('corrupt', `Tensor '${c.name}' (${c.dtype}[${c.shape.join(',')}]) has ${bytes.length} bytes of data.`);
  }
  return decodeNumbers(c.dtype, bytes, count);
}
