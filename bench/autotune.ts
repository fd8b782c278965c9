/**
 * Automatic mixed precision on the synthetic 50-layer CNN (bench/quantize.ts) with a few layers
 * given outlier-heavy weights (a handful of weights 100x the rest: the per-tensor int8 range is
 * set by them and the other weights round to a few levels), so plain int8 misses `sqnr >= 25`.
 * Reported as NNCF's accuracy-control mode reports: layers kept above int8 out of the quantized
 * ops, and the search time (ranking included), with what plain int8 and the chosen plan reach on
 * held-out samples.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../src/core/data';
import { writeOnnxFile } from '../src/core/formats/onnx';
import { mainGraph, type Model } from '../src/core/model';
import { mulberry32 } from '../src/core/random';
import { autotune } from '../src/core/eval/autotune';
import { syntheticCnn } from './quantize';

/** Layers of the 50-layer CNN whose weights get outliers. */
export const OUTLIER_LAYERS = [7, 19, 33];

/** The 50-layer CNN with 4 weights of each outlier layer scaled 100x (seeded). */
export function outlierCnn(): Model {
  const m = syntheticCnn(50);
  const g = mainGraph(m);
  for (const l of OUTLIER_LAYERS) {
    const c = g.values.get(`/block.${l}/conv.weight`)!.constant!;
    if (c.data.kind !== 'bytes') throw new Error('the synthetic CNN holds its weights as bytes');
    const w = new Float32Array(c.data.bytes.slice().buffer);
    const rnd = mulberry32(100 + l);
    for (let i = 0; i < 4; i++) w[Math.floor(rnd() * w.length)] *= 100;
    c.data = { kind: 'bytes', bytes: new Uint8Array(w.buffer) };
  }
  return m;
}

/** `n` seeded uniform [-1, 1) samples of the CNN's [1, 3, 32, 32] input, as one npy array. */
export function cnnData(n: number, seed = 5): Float32Array {
  const rnd = mulberry32(seed);
  return new Float32Array(n * 3072).map(() => rnd() * 2 - 1);
}

export async function benchAutotune(): Promise<Record<string, number | string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-bench-autotune-'));
  try {
    const float = path.join(dir, 'cnn50-outliers.onnx');
    await writeOnnxFile(outlierCnn(), float);
    const data = path.join(dir, 'data.npy');
    fs.writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [32, 3, 32, 32], data: cnnData(32) }));
    const r = await autotune(float, { data, budget: 'sqnr >= 25', holdout: 12 });
    return {
      budget: r.budget,
      'plain int8 held-out SQNR dB': r.heldOut.int8.sqnr!,
      'chosen plan held-out SQNR dB': r.heldOut.values.sqnr!,
      'budget met (held-out)': r.heldOut.met ? 'yes' : 'NO',
      'layers kept above int8': `${r.keptAboveInt8} of ${r.quantizedOps} quantized ops`,
      'kept': Object.entries(r.plan).map(([n, p]) => `${n} ${p}`).join(', '),
      'search time s (ranking included)': r.timing.totalMs / 1000,
      'ranking (sensitivity) s': r.timing.sensitivityMs / 1000,
      'plans measured': r.timing.measurements,
      'Pareto points': `${r.points.filter((p) => p.pareto).length} of ${r.points.length}`,
      'size: int8 / chosen / float bytes': `${r.costs.int8} / ${r.costs.chosen} / ${r.costs.float}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
