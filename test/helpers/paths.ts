/** Paths the tests share. shared/ sits beside the repository (CI clones main with shared/ next to it). */
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SHARED_MODELS = process.env.QUANTLENS_SHARED_MODELS ?? path.resolve(REPO_ROOT, '..', 'shared', 'models');
export const ONNX_TESTDATA = process.env.QUANTLENS_ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data';
export const SAMPLE_MODEL = path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
/** Debian's python3 with python3-onnx (the pyenv python3 on PATH does not have it). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export function sharedModel(...parts: string[]): string {
  return path.join(SHARED_MODELS, ...parts);
}
