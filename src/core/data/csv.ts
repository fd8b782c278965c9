/** CSV data files: one sample per row of numbers for a single-input model (a first row of words is a header). */
import { DataError } from './errors';
import type { DataRecord, FormatAdapter } from './format';
import { csvNumbers, splitCsvLine, textLines, textRecord } from './text';

export const csvFormat: FormatAdapter = {
  name: 'csv',
  fileName: /\.csv$/i,
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    if (ctx.opts.inputs.length !== 1) {
      throw new DataError('unsupported', `${file}: CSV rows can feed a single-input model only (this one has ${ctx.opts.inputs.length} inputs); use JSON or .npz`, { file });
    }
    const delim = ctx.opts.csvDelimiter ?? ',';
    let width = -1;
    for await (const { n, line } of textLines(file)) {
      if (!line.trim()) continue;
      const fields = splitCsvLine(line, delim);
      const nums = csvNumbers(fields);
      if (!nums) {
        if (width < 0 && n === 1) continue; // header
        throw new DataError('bad-file', `${file} line ${n}: "${line.slice(0, 60)}" is not a row of numbers`, { file });
      }
      if (width >= 0 && nums.length !== width) {
        throw new DataError('bad-file', `${file} line ${n} has ${nums.length} values, earlier rows have ${width}`, { file });
      }
      width = nums.length;
      yield textRecord({ named: new Map(), positional: [{ values: nums, shape: null }] }, `${file}:${n}`);
    }
  },
};
