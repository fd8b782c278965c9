/**
 * How an array found in a data file maps onto a model input.
 *
 * A file may hold one sample, or a stack of samples along its first axis. The rules, in order:
 *  1. same rank, and all but the first dim equal the input's (symbolic dims match anything):
 *     the first axis is split into samples of the input's batch size (1 when symbolic), so a
 *     [10000,1,28,28] array feeds a [N,1,28,28] or [1,1,28,28] input one image at a time;
 *  2. every item along the first axis fits the input up to size-1 dims ([10000,28,28] items
 *     [28,28] feed [1,1,28,28]): a stack of reshaped items;
 *  3. the whole array fits up to size-1 dims ([28,28] feeds [1,1,28,28]): one sample.
 * "Fits" also allows flattening into a vector input: [28,28] items feed [N,784].
 * Nothing else is guessed; a mismatch is an error naming the input and both shapes.
 */
import type { Dim } from '../model';

export type Plan =
  /** `count` samples, each `itemsPerSample` items of the first axis, reshaped to `sampleShape`. */
  | { kind: 'stack'; count: number; itemsPerSample: number; sampleShape: number[] }
  /** The whole array is one sample, reshaped to `sampleShape`. */
  | { kind: 'single'; sampleShape: number[] };

function dimFits(want: Dim, have: number): boolean {
  return typeof want !== 'number' || want === have;
}

/**
 * Concrete shape for data of shape `data` to feed `input`, equal up to size-1 dims, or null.
 * Symbolic input dims take the data's dim; a symbolic leading (batch) dim prefers 1.
 */
export function squeezeFit(data: readonly number[], input: readonly Dim[]): number[] | null {
  const D = data.filter((d) => d !== 1);
  const out: number[] = [];
  const go = (i: number, j: number): boolean => {
    if (i === input.length) return j === D.length;
    const want = input[i];
    if (typeof want === 'number') {
      if (want === 1) { out.push(1); if (go(i + 1, j)) return true; out.pop(); return false; }
      if (j < D.length && D[j] === want) { out.push(want); if (go(i + 1, j + 1)) return true; out.pop(); }
      return false;
    }
    const tryOne = () => { out.push(1); if (go(i + 1, j)) return true; out.pop(); return false; };
    const tryTake = () => {
      if (j >= D.length) return false;
      out.push(D[j]);
      if (go(i + 1, j + 1)) return true;
      out.pop();
      return false;
    };
    return i === 0 ? tryOne() || tryTake() : tryTake() || tryOne();
  };
  return go(0, 0) ? out.slice() : null;
}

/**
 * Flattening into a vector input: the input is one fixed dim d (plus size-1 dims and a symbolic
 * leading batch dim) and the data has d elements. Returns the concrete shape, or null.
 */
export function flattenFit(data: readonly number[], input: readonly Dim[]): number[] | null {
  let n = 1;
  for (const d of data) n *= d;
  const out: number[] = [];
  let vector = -1;
  for (let i = 0; i < input.length; i++) {
    const d = input[i];
    if (typeof d !== 'number') {
      if (i !== 0) return null;
      out.push(1);
    } else if (d === 1) out.push(1);
    else {
      if (vector >= 0) return null;
      vector = i;
      out.push(d);
    }
  }
  return vector >= 0 && out[vector] === n ? out : null;
}

function fit(data: readonly number[], input: readonly Dim[]): number[] | null {
  return squeezeFit(data, input) ?? flattenFit(data, input);
}

/** The plan for an array of shape `data` feeding `input` (null shape = unknown rank), or null. */
export function planFor(data: readonly number[], input: readonly Dim[] | null): Plan | null {
  if (input === null) return { kind: 'single', sampleShape: data.slice() };
  if (input.length === 0) {
    if (data.every((d) => d === 1)) return { kind: 'single', sampleShape: [] };
    if (data.length >= 1 && data.slice(1).every((d) => d === 1)) return { kind: 'stack', count: data[0], itemsPerSample: 1, sampleShape: [] };
    return null;
  }
  // 1. same rank: split the first axis into batches of the input's batch size
  if (data.length === input.length && data.length >= 1) {
    let rest = true;
    for (let i = 1; i < data.length; i++) if (!dimFits(input[i], data[i])) { rest = false; break; }
    if (rest) {
      const b = typeof input[0] === 'number' ? input[0] : 1;
      if (b > 0 && data[0] % b === 0 && data[0] > 0) {
        return { kind: 'stack', count: data[0] / b, itemsPerSample: b, sampleShape: [b, ...data.slice(1)] };
      }
      if (b === 0 && data[0] === 0) return { kind: 'single', sampleShape: data.slice() };
    }
  }
  // 2. a stack of items that each fit
  if (data.length >= 1 && data[0] > 0) {
    const item = fit(data.slice(1), input);
    if (item) {
      return { kind: 'stack', count: data[0], itemsPerSample: 1, sampleShape: item };
    }
  }
  // 3. the whole array is one sample
  const whole = fit(data, input);
  if (whole) return { kind: 'single', sampleShape: whole };
  return null;
}
