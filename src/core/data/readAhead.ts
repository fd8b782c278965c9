/** Block reads for arrays that are consumed one sample at a time. */
import type { ArrayRef } from './format';
import { elementCountOf, elementSize, type TensorArray } from './tensor';

/** Bytes one read-ahead block may hold. */
const READ_AHEAD_BYTES = 1 << 20;

/**
 * Sequential reads of one sample (`unitsPerSample` units) at a time, served from blocks of several
 * samples: one file read (a thread-pool round trip) per block instead of one per sample. Reads at
 * most `samplesWanted` samples ahead. Each returned array is a view into the block: the caller
 * converts or copies it, so no block outlives its samples.
 */
export function readAhead(ref: ArrayRef, unitsPerSample: number, samplesWanted: number): ArrayRef['read'] {
  const perUnit = ref.shape ? elementCountOf(ref.shape.slice(1)) : 1;
  const totalUnits = ref.shape ? (ref.shape[0] ?? 1) : ref.length;
  const sampleBytes = Math.max(1, unitsPerSample * perUnit * elementSize(ref.dtype));
  const samplesPerBlock = Math.max(1, Math.min(samplesWanted, Math.floor(READ_AHEAD_BYTES / sampleBytes)));
  let start = 0;
  let end = 0;
  let block: TensorArray | undefined;
  let left = samplesWanted;
  return async (from, count) => {
    if (!block || from < start || from + count > end) {
      const n = Math.min(Math.max(count, Math.min(samplesPerBlock, Math.max(1, left)) * unitsPerSample), totalUnits - from);
      // typed refs only (untyped text is read per sample): the result is a typed array
      block = await ref.read(from, n) as TensorArray;
      start = from;
      end = from + n;
    }
    left--;
    const a = (from - start) * perUnit;
    return block.subarray(a, a + count * perUnit);
  };
}
