/** The model inputs data can feed, and the checks made on them before any data is read. */
import type { Model } from '../model';
import { mainGraph } from '../model';
import { DataError } from './errors';
import { isSampleDType, typeText, type InputSpec } from './tensor';

/** The main graph's runtime inputs as InputSpecs. */
export function inputSpecsFromModel(model: Model): InputSpec[] {
  const g = mainGraph(model);
  return g.inputs.map((name) => {
    const v = g.values.get(name);
    return { name, dtype: v?.type?.dtype ?? 'unknown', shape: v?.type?.shape ?? null };
  });
}

/** Throws unless there is at least one input, names are unique and every element type can be fed. */
export function checkInputs(inputs: InputSpec[]): void {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new DataError('unsupported', 'The model declares no inputs to feed');
  const seen = new Set<string>();
  for (const i of inputs) {
    if (seen.has(i.name)) throw new DataError('unsupported', `The model declares input "${i.name}" twice`);
    seen.add(i.name);
    if (!isSampleDType(i.dtype)) {
      throw new DataError('unsupported', `Input "${i.name}" has element type ${i.dtype}, which calibration data cannot feed`, { input: i.name, expected: typeText(i.dtype, i.shape) });
    }
  }
}
