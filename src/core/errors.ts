/** Typed errors for bad input. Every message names the problem in words a user can act on. */

export type ModelErrorCode =
  | 'not-a-model'      // wrong or unknown file format
  | 'empty'            // zero-length file
  | 'truncated'        // ends inside a structure
  | 'corrupt'          // structure is inconsistent (bad lengths, offsets, references)
  | 'unsupported'      // valid but uses something we do not handle
  | 'unsafe-path'      // external data that escapes the model's folder
  | 'too-large'        // beyond a safety limit (nesting depth, element counts)
  | 'io';              // the file system failed

export class ModelError extends Error {
  readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelError';
    this.code = code;
  }
}

export function isModelError(e: unknown): e is ModelError {
  return e instanceof ModelError;
}

/** One line for a user: the message of a ModelError, or a generic wrapper for anything else. */
export function describeError(e: unknown): string {
  if (e instanceof ModelError) return e.message;
  if (e instanceof Error) return `Unexpected error: ${e.message}`;
  return `Unexpected error: ${String(e)}`;
}
