/** Seeded random data, produced only when asked for and always flagged as such. */
import { mulberry32 } from '../random';
import { DataError } from './errors';
import { checkInputs } from './inputs';
import type { CalibrationData, SyntheticOptions } from './options';
import { arrayFromNumbers, elementCountOf, isFloatType, type InputSpec, type Sample } from './tensor';

export const SYNTHETIC_WARNING =
  'SYNTHETIC DATA: calibration used seeded random inputs, not real data. The ranges (and any accuracy figure) do not reflect real inputs.';

/** Seeded random samples for the inputs, flagged with SYNTHETIC_WARNING. */
export function syntheticData(inputs: InputSpec[], o: SyntheticOptions): CalibrationData {
  checkInputs(inputs);
  if (!(Number.isInteger(o.count) && o.count > 0)) throw new DataError('unsupported', `Synthetic data needs a positive sample count, got ${o.count}`);
  const shapes = inputs.map((i) => {
    if (!i.shape) throw new DataError('unsupported', `Input "${i.name}" has an unknown shape; synthetic data needs one`, { input: i.name });
    return i.shape.map((d) => (typeof d === 'number' ? d : (d !== null && o.dims?.[d]) || 1));
  });
  return {
    source: 'synthetic',
    format: 'synthetic',
    synthetic: true,
    warning: SYNTHETIC_WARNING,
    warnings: [SYNTHETIC_WARNING],
    files: [],
    async *[Symbol.asyncIterator]() {
      const rnd = mulberry32(o.seed ?? 1);
      for (let s = 0; s < o.count; s++) {
        const sample: Sample = {};
        inputs.forEach((inp, i) => {
          const n = elementCountOf(shapes[i]);
          const float = isFloatType(inp.dtype);
          const lo = o.low ?? 0;
          const hi = o.high ?? (inp.dtype === 'bool' ? 2 : float ? 1 : 10);
          const values = new Array<number>(n);
          for (let j = 0; j < n; j++) {
            const u = lo + (hi - lo) * rnd();
            values[j] = float ? u : Math.floor(u);
          }
          sample[inp.name] = { dtype: inp.dtype, shape: shapes[i].slice(), data: arrayFromNumbers(values, inp.dtype, `synthetic "${inp.name}"`) };
        });
        yield sample;
      }
    },
  };
}
