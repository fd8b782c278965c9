/** Raw binary files (.bin / .raw): a flat run of elements of the input's type (or `rawDType`), no header. */
import { openFileSource } from './bytes';
import { DataError } from './errors';
import { singleArrayRecord, type DataRecord, type FormatAdapter } from './format';
import { arrayFromBytes, elementSize, isSampleDType } from './tensor';

export const rawFormat: FormatAdapter = {
  name: 'raw',
  fileName: /\.(bin|raw)$/i,
  oneInputPerFile: true,
  async *open(file, ctx): AsyncGenerator<DataRecord> {
    const dtype = ctx.opts.rawDType ?? (ctx.opts.inputs.length === 1 ? ctx.opts.inputs[0].dtype : undefined);
    if (!dtype || !isSampleDType(dtype)) {
      throw new DataError('unsupported', `${file}: raw files carry no element type; set rawDType (the model has ${ctx.opts.inputs.length} inputs)`, { file });
    }
    const src = await openFileSource(file);
    try {
      const size = elementSize(dtype);
      const bytes = src.size ?? 0;
      if (bytes % size !== 0) {
        throw new DataError('bad-file', `${file} has ${bytes} bytes, not a whole number of ${dtype} elements (${size} bytes each)`, { file });
      }
      yield singleArrayRecord(file, {
        dtype, shape: null, length: bytes / size, where: file,
        read: async (from, count) => arrayFromBytes(dtype, await src.read(from * size, count * size)),
      });
    } finally {
      await src.close();
    }
  },
};
