/** The TFLite format module: signature check and reader; the writer lives in ./writer. */
import type { FormatModule, ModelSource, OpenOptions } from '../format';
import type { Model } from '../../model';
import { hasTfliteIdentifier, readTflite } from './reader';

export const tfliteFormat: FormatModule = {
  format: 'tflite',
  extensions: ['.tflite'],
  match(head: Uint8Array): boolean {
    return hasTfliteIdentifier(head);
  },
  open(source: ModelSource, options?: OpenOptions): Promise<Model> {
    return readTflite(source, options);
  },
};

export { readTflite } from './reader';
export { writeTflite, writeTfliteFile, type TfliteWriteOptions } from './writer';
