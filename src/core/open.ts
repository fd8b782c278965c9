/** Entry points: detect a model's format and read it into the graph model. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from './errors';
import type { FormatModule, ModelSource, OpenOptions } from './formats/format';
import { onnxFormat } from './formats/onnx';
import { tfliteFormat } from './formats/tflite';
import type { Model } from './model';

export const FORMATS: readonly FormatModule[] = [tfliteFormat, onnxFormat];

const HEAD_BYTES = 64;

/**
 * Pick the format module for a file. The signature decides when it is unambiguous (TFLite has
 * 'TFL3' at offset 4); otherwise the extension does, since ONNX protobuf has no magic number.
 */
export function detectFormat(head: Uint8Array, fileName?: string): FormatModule {
  if (head.length === 0) throw new ModelError('empty', `${label(fileName)} is empty (0 bytes).`);
  for (const f of FORMATS) if (f.match(head)) return f;
  const ext = fileName ? path.extname(fileName).toLowerCase() : '';
  const byExt = FORMATS.find((f) => f.extensions.includes(ext));
  if (byExt) return byExt;
  throw new ModelError('not-a-model', `${label(fileName)} is not an ONNX or TFLite model (unrecognised signature).`);
}

function label(fileName?: string): string {
  return fileName ? `'${path.basename(fileName)}'` : 'The file';
}

export async function openModelFile(filePath: string, options?: OpenOptions): Promise<Model> {
  const abs = path.resolve(filePath);
  let head: Uint8Array;
  try {
    // 64 bytes: a blocking read costs microseconds, where each step of an async one waits for the
    // thread pool and the event loop
    const fd = fs.openSync(abs, 'r');
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, HEAD_BYTES, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? String(e)})`;
    // the full path: a relative one resolves against a working folder the user may not have in mind
    throw new ModelError('io', `'${abs}' ${why}.`, { cause: e });
  }
  const format = detectFormat(head, abs);
  return format.open({ kind: 'file', path: abs }, options);
}

export async function openModelBytes(bytes: Uint8Array, fileName?: string, options?: OpenOptions): Promise<Model> {
  const format = detectFormat(bytes.subarray(0, HEAD_BYTES), fileName);
  return format.open({ kind: 'bytes', bytes, name: fileName }, options);
}

export type { ModelSource, OpenOptions };
