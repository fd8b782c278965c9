/**
 * Errors for calibration / evaluation data. A DataError is a ModelError (so describeError and
 * isModelError treat it alike) with a finer `reason` and, where it applies, the input, the shape
 * the model expects and the shape the data has.
 */
import { ModelError, type ModelErrorCode } from '../errors';

export type DataErrorReason =
  | 'shape-mismatch'   // the data's shape does not fit the model input
  | 'dtype-mismatch'   // the data's element type cannot be converted to the input's
  | 'missing-input'    // a sample lacks a value for a model input
  | 'unknown-input'    // a sample names an input the model does not have
  | 'bad-file'         // a data file is malformed (header, sizes, syntax)
  | 'unsupported'      // a valid file using something we do not read (e.g. object arrays)
  | 'no-data'          // nothing to read (empty folder, no matching files)
  | 'too-large'        // beyond a safety limit
  | 'io';              // the file system failed

const CODE: Record<DataErrorReason, ModelErrorCode> = {
  'shape-mismatch': 'unsupported',
  'dtype-mismatch': 'unsupported',
  'missing-input': 'unsupported',
  'unknown-input': 'unsupported',
  'bad-file': 'corrupt',
  unsupported: 'unsupported',
  'no-data': 'empty',
  'too-large': 'too-large',
  io: 'io',
};

export interface DataErrorDetails {
  /** Model input the problem concerns. */
  input?: string;
  /** What the model expects, e.g. "float32[1,1,28,28]". */
  expected?: string;
  /** What the data holds, e.g. "uint8[28,28]". */
  actual?: string;
  /** The file (or folder) concerned. */
  file?: string;
  cause?: unknown;
}

export class DataError extends ModelError {
  readonly reason: DataErrorReason;
  readonly input?: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly file?: string;

  constructor(reason: DataErrorReason, message: string, details: DataErrorDetails = {}) {
    super(CODE[reason], message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'DataError';
    this.reason = reason;
    if (details.input !== undefined) this.input = details.input;
    if (details.expected !== undefined) this.expected = details.expected;
    if (details.actual !== undefined) this.actual = details.actual;
    if (details.file !== undefined) this.file = details.file;
  }
}

export function isDataError(e: unknown): e is DataError {
  return e instanceof DataError;
}
