/** Messages between the extension host and a quantization job thread. */
import type { QuantizeProgress, QuantizeSummary } from '../../core/quant/quantize';
import type { Recipe } from '../../core/quant/recipe';

export type QuantizeJobFromHost =
  /** `recipe`, or `recipePath` to a recipe file the job reads (relative data paths then resolve against its folder). */
  | { type: 'start'; source: string; out: string; recipe?: Recipe; recipePath?: string; baseDir?: string }
  | { type: 'cancel' };

export type QuantizeJobToHost =
  | ({ type: 'progress' } & QuantizeProgress)
  | { type: 'done'; summary: QuantizeSummary }
  | { type: 'error'; message: string; code: string; cancelled: boolean };
