/**
 * Input assignment: which array of a record feeds which model input (by name, else by position),
 * how many samples each array holds (one, or a stack along its first axis), and the samples
 * themselves, converted to the inputs' element types and checked against their shapes.
 */
import { DataError } from './errors';
import type { ArrayRef, DataRecord, FormatContext } from './format';
import { readAhead } from './readAhead';
import { planFor, type Plan } from './shape';
import {
  arrayFromNumbers, convertArray, dimsText, elementCountOf, isFloatType, typeText,
  type InputSpec, type Sample, type TensorArray,
} from './tensor';

/** Samples still to skip (the offset) and still to yield (the limit), across records. */
export interface Cursor {
  skip: number;
  remaining: number;
}

/** The record's array for each input, in input order. */
export function assign(rec: DataRecord, inputs: InputSpec[], ctx: FormatContext): ArrayRef[] {
  const names = [...rec.named.keys()];
  if (rec.named.size) {
    const byName = inputs.map((i) => rec.named.get(i.name));
    if (byName.every((r) => r)) {
      const extra = names.filter((n) => !inputs.some((i) => i.name === n));
      if (extra.length && rec.positional.length !== 1) ctx.warn(`${rec.where}: ignored arrays not named after a model input: ${extra.join(', ')}`);
      return byName as ArrayRef[];
    }
  }
  if (inputs.length === 1 && rec.positional.length === 1) return [rec.positional[0]];
  if (rec.positional.length === inputs.length && (rec.named.size === 0 || names.every((n) => /^(arr_|input_?)\d+$/.test(n) || !inputs.some((i) => i.name === n)))) {
    return rec.positional;
  }
  const missing = inputs.filter((i) => !rec.named.has(i.name)).map((i) => `"${i.name}"`);
  throw new DataError(
    'missing-input',
    `${rec.where} has no data for input ${missing.join(', ')} (it holds ${names.length ? names.map((n) => `"${n}"`).join(', ') : `${rec.positional.length} unnamed array(s)`}; the model's inputs are ${inputs.map((i) => `"${i.name}"`).join(', ')})`,
    { input: missing[0]?.slice(1, -1), file: rec.where },
  );
}

function planRef(ref: ArrayRef, input: InputSpec): { plan: Plan; units: number; count: number } {
  const shapeError = () =>
    new DataError(
      'shape-mismatch',
      `Input "${input.name}" expects ${typeText(input.dtype, input.shape)} but ${ref.where} holds ${ref.shape ? typeText(ref.untyped ? input.dtype : ref.dtype, ref.shape) : `${ref.length} values`} (a file holds one sample, or a stack of samples along its first axis)`,
      { input: input.name, expected: typeText(input.dtype, input.shape), actual: ref.shape ? dimsText(ref.shape) : `${ref.length} values`, file: ref.where },
    );
  if (!ref.untyped && isFloatType(ref.dtype) && !isFloatType(input.dtype)) {
    throw new DataError(
      'dtype-mismatch',
      `Input "${input.name}" expects ${typeText(input.dtype, input.shape)} but ${ref.where} holds ${typeText(ref.dtype, ref.shape)}: floating-point data cannot feed an integer input`,
      { input: input.name, expected: typeText(input.dtype, input.shape), actual: typeText(ref.dtype, ref.shape), file: ref.where },
    );
  }
  if (ref.shape === null) {
    // a flat run of values: the sample shape is the input's (symbolic dims 1)
    if (!input.shape) throw new DataError('shape-mismatch', `Input "${input.name}" has an unknown shape, so the ${ref.length} flat values in ${ref.where} cannot be shaped`, { input: input.name, file: ref.where });
    const sampleShape = input.shape.map((d) => (typeof d === 'number' ? d : 1));
    const per = elementCountOf(sampleShape);
    if (per === 0 || ref.length === 0 || ref.length % per !== 0) throw shapeError();
    return { plan: { kind: 'stack', count: ref.length / per, itemsPerSample: per, sampleShape }, units: per, count: ref.length / per };
  }
  const plan = planFor(ref.shape, input.shape);
  if (!plan) throw shapeError();
  if (plan.kind === 'stack') return { plan, units: plan.itemsPerSample, count: plan.count };
  return { plan, units: ref.shape.length ? ref.shape[0] : 1, count: 1 };
}

/** The samples of one record, from the cursor's position on. */
export async function* recordSamples(rec: DataRecord, ctx: FormatContext, cur: Cursor): AsyncGenerator<Sample> {
  const inputs = ctx.opts.inputs;
  const refs = assign(rec, inputs, ctx);
  const plans = refs.map((r, i) => planRef(r, inputs[i]));
  const count = plans[0].count;
  for (let i = 1; i < plans.length; i++) {
    if (plans[i].count !== count) {
      throw new DataError('shape-mismatch', `${rec.where}: input "${inputs[0].name}" has ${count} samples but input "${inputs[i].name}" has ${plans[i].count}`, { input: inputs[i].name, file: rec.where });
    }
  }
  if (cur.skip >= count) { cur.skip -= count; return; }
  const viaBlock = refs.map((r, i) => plans[i].plan.kind === 'stack' && !r.untyped);
  const readers = refs.map((r, i) => (viaBlock[i] ? readAhead(r, plans[i].units, Math.min(count - cur.skip, cur.remaining)) : r.read.bind(r)));
  for (let k = cur.skip; k < count; k++) {
    cur.skip = 0;
    if (cur.remaining <= 0) return;
    const sample: Sample = {};
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      const ref = refs[i];
      const { plan, units } = plans[i];
      const raw = await readers[i](plan.kind === 'stack' ? k * units : 0, units);
      const where = count > 1 ? `${ref.where} (sample ${k})` : ref.where;
      let data: TensorArray;
      if (ref.untyped) {
        if (ref.dtype !== 'float64' && isFloatType(ref.dtype) !== isFloatType(input.dtype) && !isFloatType(input.dtype)) {
          throw new DataError('dtype-mismatch', `Input "${input.name}" expects ${input.dtype} but ${where} declares ${ref.dtype}`, { input: input.name, file: ref.where });
        }
        data = arrayFromNumbers(raw as number[], input.dtype, `Input "${input.name}" from ${where}`);
      } else {
        data = convertArray(raw as TensorArray, ref.dtype, input.dtype, {
          scale: ctx.opts.scale, input: input.name, where, shape: ref.shape ?? [ref.length], expectedShape: input.shape,
        });
        if (data === raw && viaBlock[i]) data = data.slice(); // not converted: a copy of its own
      }
      if (data.length !== elementCountOf(plan.sampleShape)) {
        throw new DataError('bad-file', `${where}: read ${data.length} values for input "${input.name}" but its shape ${dimsText(plan.sampleShape)} needs ${elementCountOf(plan.sampleShape)}`, { input: input.name, file: ref.where });
      }
      sample[input.name] = { dtype: input.dtype, shape: plan.sampleShape.slice(), data };
    }
    cur.remaining--;
    yield sample;
  }
}
