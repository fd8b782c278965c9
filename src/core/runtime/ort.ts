/**
 * Lazy access to onnxruntime-node. Nothing imports the package at module load: the native binding
 * is large and activation must stay cheap, so the first caller pays for loading it, and a binding
 * that fails to load becomes one actionable ModelError instead of a crash.
 */
import { ModelError } from '../errors';

// The package's own types, without loading it at runtime (type-only import).
export type Ort = typeof import('onnxruntime-node');
export type OrtSession = import('onnxruntime-node').InferenceSession;
export type OrtTensor = import('onnxruntime-node').Tensor;
export type OrtSessionOptions = import('onnxruntime-node').InferenceSession.SessionOptions;

let cached: Ort | undefined;
let failure: ModelError | undefined;

/** Loads onnxruntime-node once. Throws a ModelError saying what to do when the binding is unusable. */
export function loadOrt(): Ort {
  if (cached) return cached;
  if (failure) throw failure;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require('onnxruntime-node') as Ort;
    // load and run errors reach callers as exceptions; the runtime's own log would repeat them
    // (and its warnings) on the extension host's stderr
    cached.env.logLevel = 'fatal';
    return cached;
  } catch (e) {
    failure = new ModelError(
      'unsupported',
      `onnxruntime-node could not be loaded (${(e as Error).message.split('\n')[0]}). ` +
        `Running models needs its native binding for ${process.platform}-${process.arch}: reinstall the extension ` +
        `(or run 'npm install onnxruntime-node' in the project) on this platform.`,
      { cause: e },
    );
    throw failure;
  }
}

/** Creates a session from model bytes (or a model file's path), turning ORT's load errors into ModelErrors. */
export async function createSession(
  bytes: Uint8Array | string,
  options: OrtSessionOptions = {},
  what = 'the model',
): Promise<OrtSession> {
  const ort = loadOrt();
  try {
    // errors reach the caller as exceptions; onnxruntime's own log would repeat them on stderr
    const opts = { logSeverityLevel: 4 as const, ...options };
    return await (typeof bytes === 'string' ? ort.InferenceSession.create(bytes, opts) : ort.InferenceSession.create(bytes, opts));
  } catch (e) {
    throw new ModelError('unsupported', `onnxruntime cannot load ${what}: ${ortMessage(e)}`, { cause: e });
  }
}

/** Runs a session, turning ORT's run errors (shape / type mismatches) into ModelErrors. */
export async function runSession(
  session: OrtSession, feeds: Record<string, OrtTensor>, fetches?: readonly string[], what = 'the model',
): Promise<Record<string, OrtTensor>> {
  try {
    return (fetches ? await session.run(feeds, fetches as string[]) : await session.run(feeds)) as Record<string, OrtTensor>;
  } catch (e) {
    throw new ModelError('unsupported', `onnxruntime failed to run ${what}: ${ortMessage(e)}`, { cause: e });
  }
}

/**
 * onnxruntime's message whole: it often names the node and the reason only after the first line
 * (a message cut at a length or a line break lost the reason). Line breaks become spaces.
 */
export function ortMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}
