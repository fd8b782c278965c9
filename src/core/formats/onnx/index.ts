/** The ONNX format module: a cheap signature check and the lazy reader; the writer is beside it. */
import type { FormatModule, ModelSource, OpenOptions } from '../format';
import type { Model } from '../../model';
import { looksLikeOnnx, readOnnx } from './reader';

export const onnxFormat: FormatModule = {
  format: 'onnx',
  extensions: ['.onnx'],
  match(head: Uint8Array): boolean {
    return looksLikeOnnx(head);
  },
  open(source: ModelSource, options?: OpenOptions): Promise<Model> {
    return readOnnx(source, options);
  },
};

export { readOnnx, looksLikeOnnx, type OnnxReadTuning, type OnnxModelExtras } from './reader';
export { writeOnnx, writeOnnxFile, type WriteOnnxOptions } from './writer';
export { constantBytes, constantByteLength, constantNumbers } from './data';
export { dtypeFromOnnx, dtypeToOnnx, decodeNumbers } from './dtypes';
