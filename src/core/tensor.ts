/**
 * Reading constants on request and computing their statistics. Constants stay lazy in the graph
 * model; this is where their bytes are actually read, in bounded chunks, so statistics of a 1 GB
 * weight never hold more than one chunk in memory.
 */
import * as fs from 'node:fs/promises';
import { ModelError } from './errors';
import { decodeNumbers, rawBits } from './formats/onnx/dtypes';
import { elementCount, type Constant, type DType } from './model';

/** Elements decoded per chunk: a multiple of 8 so packed sub-byte types split on byte boundaries. */
const CHUNK_ELEMENTS = 1 << 20;

export function isNumericDType(dtype: DType): boolean {
  return rawBits(dtype) !== undefined && dtype !== 'complex64' && dtype !== 'complex128';
}

/** The raw little-endian bytes of a dense constant, or a byte range of them. */
export async function readConstantBytes(c: Constant, byteOffset = 0, byteLength?: number): Promise<Uint8Array> {
  const d = c.data;
  switch (d.kind) {
    case 'bytes': {
      const end = byteLength === undefined ? d.bytes.length : Math.min(d.bytes.length, byteOffset + byteLength);
      return d.bytes.subarray(byteOffset, end);
    }
    case 'file': {
      const len = Math.max(0, Math.min(byteLength ?? d.length, d.length - byteOffset));
      const buf = Buffer.alloc(len);
      let fh: fs.FileHandle | undefined;
      try {
        fh = await fs.open(d.path, 'r');
        let done = 0;
        while (done < len) {
          const { bytesRead } = await fh.read(buf, done, len - done, d.offset + byteOffset + done);
          if (bytesRead === 0) throw new ModelError('truncated', `Tensor '${c.name}': the file ends before its data (needs ${d.length} bytes at offset ${d.offset}).`);
          done += bytesRead;
        }
      } catch (e) {
        if (e instanceof ModelError) throw e;
        throw new ModelError('io', `Tensor '${c.name}': cannot read its data (${(e as Error).message}).`, { cause: e });
      } finally {
        await fh?.close();
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    case 'none':
      return new Uint8Array(0);
    case 'strings':
    case 'sparse':
      throw new ModelError('unsupported', `Tensor '${c.name}' is ${d.kind === 'strings' ? 'a string tensor' : 'sparse'}; it has no dense raw bytes.`);
  }
}

/**
 * Decodes elements [start, start+count) of a numeric constant into numbers. Sparse constants are
 * densified (zeros where no index is stored).
 */
export async function readConstantValues(c: Constant, start = 0, count?: number): Promise<number[]> {
  const total = elementCount(c.shape);
  const n = Math.max(0, Math.min(count ?? total - start, total - start));
  if (c.data.kind === 'sparse') return (await densifySparse(c)).slice(start, start + n);
  if (c.data.kind === 'strings') throw new ModelError('unsupported', `Tensor '${c.name}' holds strings, not numbers.`);
  const bits = rawBits(c.dtype);
  if (bits === undefined || !isNumericDType(c.dtype)) throw new ModelError('unsupported', `Tensor '${c.name}' has type ${c.dtype}, which has no numeric decoding.`);
  if (n === 0) return [];
  // Sub-byte types: read from the byte holding `start` and drop the leading elements.
  const perByte = bits < 8 ? 8 / bits : 1;
  const firstByte = bits < 8 ? Math.floor(start / perByte) : start * (bits / 8);
  const skip = bits < 8 ? start % perByte : 0;
  const byteLen = Math.ceil(((n + skip) * bits) / 8);
  const raw = await readConstantBytes(c, firstByte, byteLen);
  if (raw.length < byteLen) throw new ModelError('truncated', `Tensor '${c.name}': data holds ${raw.length} bytes, its shape needs ${byteLen}.`);
  const vals = decodeNumbers(c.dtype, raw, n + skip);
  return skip ? vals.slice(skip) : vals;
}

async function densifySparse(c: Constant): Promise<number[]> {
  if (c.data.kind !== 'sparse') throw new Error('not sparse');
  const total = elementCount(c.shape);
  const values = await readConstantValues(c.data.values);
  const indices = await readConstantValues(c.data.indices);
  const out = new Array<number>(total).fill(0);
  const rank = c.shape.length;
  const nnz = values.length;
  // COO indices: either [nnz] linearised or [nnz, rank].
  const linear = indices.length === nnz;
  for (let i = 0; i < nnz; i++) {
    let idx = 0;
    if (linear) idx = indices[i];
    else for (let r = 0; r < rank; r++) idx = idx * c.shape[r] + indices[i * rank + r];
    if (!(idx >= 0 && idx < total)) throw new ModelError('corrupt', `Sparse tensor '${c.name}': index ${idx} is outside its ${total} elements.`);
    out[idx] = values[i];
  }
  return out;
}

export interface TensorStats {
  name: string;
  dtype: DType;
  shape: number[];
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Fraction of elements equal to zero. */
  sparsity: number;
  zeros: number;
  nanCount: number;
  infCount: number;
  /** Distinct finite values, exact up to `uniqueCap`; `uniqueCapped` says the real count is higher. */
  uniqueCount: number;
  uniqueCapped: boolean;
  histogram: { min: number; max: number; counts: number[] };
}

export interface StatsOptions {
  bins?: number;
  uniqueCap?: number;
}

/** Iterates a numeric constant in bounded chunks. */
async function* chunks(c: Constant): AsyncGenerator<number[]> {
  const total = elementCount(c.shape);
  for (let start = 0; start < total; start += CHUNK_ELEMENTS) {
    yield await readConstantValues(c, start, Math.min(CHUNK_ELEMENTS, total - start));
  }
}

/**
 * Statistics of a numeric constant: two streaming passes (moments and range, then the histogram
 * over the finite range), so memory stays at one chunk whatever the tensor's size.
 */
export async function tensorStats(c: Constant, options: StatsOptions = {}): Promise<TensorStats> {
  const bins = Math.max(1, Math.min(4096, options.bins ?? 64));
  const uniqueCap = options.uniqueCap ?? 100_000;
  let count = 0, finite = 0, zeros = 0, nanCount = 0, infCount = 0;
  let min = Infinity, max = -Infinity;
  // Welford's update keeps mean/variance accurate over millions of elements.
  let mean = 0, m2 = 0;
  const unique = new Set<number>();
  let uniqueCapped = false;
  for await (const chunk of chunks(c)) {
    for (const v of chunk) {
      count++;
      if (Number.isNaN(v)) { nanCount++; continue; }
      if (!Number.isFinite(v)) { infCount++; continue; }
      finite++;
      if (v === 0) zeros++;
      if (v < min) min = v;
      if (v > max) max = v;
      const d = v - mean;
      mean += d / finite;
      m2 += d * (v - mean);
      if (!uniqueCapped) {
        unique.add(v);
        if (unique.size > uniqueCap) uniqueCapped = true;
      }
    }
  }
  const counts = new Array<number>(bins).fill(0);
  if (finite > 0) {
    const width = (max - min) / bins;
    for await (const chunk of chunks(c)) {
      for (const v of chunk) {
        if (!Number.isFinite(v)) continue;
        const b = width > 0 ? Math.min(bins - 1, Math.floor((v - min) / width)) : 0;
        counts[b]++;
      }
    }
  }
  return {
    name: c.name,
    dtype: c.dtype,
    shape: c.shape,
    count,
    min: finite ? min : NaN,
    max: finite ? max : NaN,
    mean: finite ? mean : NaN,
    std: finite ? Math.sqrt(m2 / finite) : NaN,
    sparsity: count ? zeros / count : 0,
    zeros,
    nanCount,
    infCount,
    uniqueCount: uniqueCapped ? uniqueCap : unique.size,
    uniqueCapped,
    histogram: { min: finite ? min : 0, max: finite ? max : 0, counts },
  };
}
