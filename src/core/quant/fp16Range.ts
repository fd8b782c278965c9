/**
 * Which tensors leave float16's range on real data. float16 holds magnitudes up to 65504: a
 * power spectrum or an unnormalised sum beyond that becomes infinity and everything after it is
 * lost (silero VAD's magnitude x 2^20 reaches 5.9e5). When the run has data, a few samples run
 * through the float model and every float tensor's extremes are taken, inside If / Loop bodies too
 * (the MinMax calibration machinery); nodes touching a tensor beyond the range stay float32.
 */
import type { Graph, Model } from '../model';
import type { CalibrationData } from '../data';
import { createCalibrator } from './calibrators';
import { calibrateModel } from './calibrate';
import type { TensorInfo } from './preprocess';
import type { NestedGraph } from './subgraphs';

export const FP16_MAX = 65504;

/** Samples the range probe runs. */
export const FP16_PROBE_SAMPLES = 8;

/** Tensor -> its largest magnitude, for the tensors beyond float16's range. */
export async function fp16OutOfRange(
  model: Model, data: CalibrationData, nested: NestedGraph[], infos: Map<Graph, Map<string, TensorInfo>>, signal?: AbortSignal,
): Promise<Map<string, number>> {
  const wanted = new Map<Graph, string[]>();
  for (const ng of nested) {
    const info = infos.get(ng.graph);
    if (!info) continue;
    const made = new Set(ng.graph.nodes.flatMap((n) => n.outputs));
    wanted.set(ng.graph, [...info].filter(([t, i]) => made.has(t) && i.dtype === 'float32').map(([t]) => t));
  }
  const floatTensors = (info: Map<string, TensorInfo>): string[] => {
    const g = model.graphs[0];
    const made = new Set(g.nodes.flatMap((n) => n.outputs));
    return [...info].filter(([t, i]) => (made.has(t) || g.inputs.includes(t)) && i.dtype === 'float32').map(([t]) => t);
  };
  const run = await calibrateModel(model, data, floatTensors, createCalibrator({ method: 'minmax' }), { limit: FP16_PROBE_SAMPLES, nested: wanted.size ? wanted : undefined, signal });
  const out = new Map<string, number>();
  for (const [t, r] of Object.entries(run.result.tensors)) {
    const m = Math.max(Math.abs(r.dataMin), Math.abs(r.dataMax));
    if (m > FP16_MAX) out.set(t, m);
  }
  return out;
}
