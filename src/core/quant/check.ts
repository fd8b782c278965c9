/**
 * The measured check every quantize run ends with: the float model and the written model run in
 * onnxruntime (default session options, so with the optimisations a user's session applies) on
 * the same few samples, and each numeric output is compared: SQNR in dB, and for outputs with a
 * class axis (rank >= 2, last axis > 1) how often the arg-max agrees. A result below the mode's
 * expected accuracy becomes a warning; a run that cannot be checked says why.
 */
import type { Sample } from '../data';
import { createSession, runSession, type OrtSession, type OrtTensor } from '../runtime/ort';
import { sampleFeeds } from './preprocess';

export interface OutputAgreement {
  output: string;
  /** 10 log10(signal power / error power) over all samples, within +-MAX_SQNR_DB (+: identical outputs). */
  sqnrDb: number;
  /** Share of rows whose arg-max over the last axis agrees (outputs with a class axis only). */
  top1Agreement?: number;
}

export interface OutputCheck {
  /** Where the samples came from: data not used to calibrate, the calibration data, or seeded random inputs. */
  source: 'held-back' | 'calibration' | 'data' | 'synthetic';
  samples: number;
  outputs: OutputAgreement[];
  /** The worst output's SQNR (dB). */
  sqnrDb: number;
  /** The worst top-1 agreement among outputs with a class axis. */
  top1Agreement?: number;
  /** SQNR expected at least for this mode; below it, `poor` is set and the run warns. */
  thresholdDb: number;
  poor: boolean;
  /** Time the check took (ms): two sessions and the runs. */
  ms: number;
  /** Set when the check could not run: why (then outputs is empty). */
  skipped?: string;
}

export const MAX_SQNR_DB = 200;

/** Minimum output SQNR for each kind of run (below it the result is flagged). */
export function expectedSqnrDb(mode: 'static' | 'dynamic' | 'fp16', wide: boolean): number {
  if (mode === 'fp16') return 40;
  return mode === 'static' && wide ? 30 : 20;
}

/** Runs `float` and `quantized` (files or bytes) on `samples` and compares their float outputs. */
export async function checkOutputs(
  float: string | Uint8Array, quantized: string | Uint8Array | OrtSession, samples: Sample[], source: OutputCheck['source'], thresholdDb: number,
): Promise<OutputCheck> {
  const t0 = performance.now();
  const base = { source, samples: samples.length, thresholdDb, outputs: [] as OutputAgreement[], sqnrDb: NaN, poor: false };
  if (!samples.length) return { ...base, ms: performance.now() - t0, skipped: 'no samples to run' };
  const sessions: OrtSession[] = [];
  try {
    const f = await createSession(float, { intraOpNumThreads: 1 }, 'the float model (output check)');
    sessions.push(f);
    // a session already made (the load check before writing) is used as it is, and released here
    const q = typeof quantized === 'object' && !(quantized instanceof Uint8Array) ? quantized : await createSession(quantized, { intraOpNumThreads: 1 }, 'the quantized model (output check)');
    sessions.push(q);
    const acc = new Map<string, { sig: number; err: number; rows: number; agree: number; classes: boolean }>();
    for (const s of samples) {
      const feeds = sampleFeeds(s);
      const a = await runSession(f, feeds, undefined, 'the float model (output check)');
      const b = await runSession(q, feeds, undefined, 'the quantized model (output check)');
      for (const name of f.outputNames) compare(name, a[name], b[name], acc);
    }
    const outputs: OutputAgreement[] = [];
    for (const [output, x] of acc) {
      const sqnr = x.err === 0 ? MAX_SQNR_DB : Math.max(-MAX_SQNR_DB, Math.min(MAX_SQNR_DB, 10 * Math.log10(x.sig / x.err)));
      outputs.push({ output, sqnrDb: Number(sqnr.toFixed(2)), ...(x.classes && x.rows ? { top1Agreement: x.agree / x.rows } : {}) });
    }
    if (!outputs.length) return { ...base, ms: performance.now() - t0, skipped: 'the model has no numeric outputs to compare' };
    const sqnrDb = Math.min(...outputs.map((o) => o.sqnrDb));
    const tops = outputs.filter((o) => o.top1Agreement !== undefined).map((o) => o.top1Agreement!);
    return {
      ...base, outputs, sqnrDb, ...(tops.length ? { top1Agreement: Math.min(...tops) } : {}),
      poor: !(sqnrDb >= thresholdDb), ms: performance.now() - t0,
    };
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}

/** A numeric output's values as numbers (integer and bool outputs are compared too); undefined for strings. */
function numbers(t: OrtTensor): ArrayLike<number> | undefined {
  if (t.type === 'float32' || t.type === 'float64') return t.data as Float32Array;
  if (t.type === 'string') return undefined;
  const d = t.data as ArrayLike<number | bigint | boolean>;
  return Float64Array.from({ length: d.length }, (_, i) => Number(d[i]));
}

function compare(name: string, a: OrtTensor | undefined, b: OrtTensor | undefined, acc: Map<string, { sig: number; err: number; rows: number; agree: number; classes: boolean }>): void {
  const x = a && numbers(a);
  if (!a || !x) return;
  const yv = b && b.type === a.type ? numbers(b) : undefined;
  const y = yv && yv.length === x.length ? yv : undefined;
  const dims = a.dims;
  const last = dims.length >= 2 ? dims[dims.length - 1] : 0;
  const e = acc.get(name) ?? { sig: 0, err: 0, rows: 0, agree: 0, classes: last > 1 };
  acc.set(name, e);
  if (!y) { e.sig += 1; e.err += Infinity; return; } // a changed output shape: as bad as it gets
  for (let i = 0; i < x.length; i++) {
    const d = y[i] - x[i];
    // non-finite values on both sides (masks of -inf) agree; elsewhere they are an error
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) { if (x[i] !== y[i]) e.err += Infinity; continue; }
    e.sig += x[i] * x[i];
    e.err += d * d;
  }
  if (e.classes) {
    for (let r = 0; r < x.length / last; r++) {
      e.rows++;
      if (argmax(x, r * last, last) === argmax(y, r * last, last)) e.agree++;
    }
  }
}

function argmax(v: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (v[off + i] > v[off + best]) best = i;
  return best;
}
