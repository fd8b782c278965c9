/** Messages between the extension host and an analysis job thread (per-layer sensitivity). */
import type { LayerSensitivity, SensitivityProgress, SensitivityReport } from '../../core/eval/sensitivity';
import type { Recipe } from '../../core/quant/recipe';

export interface SensitivityJob {
  type: 'start';
  kind: 'sensitivity';
  model: string;
  data: string;
  labels?: string;
  limit?: number;
  recipe?: Recipe;
  baseDir?: string;
  cacheDir: string;
}

export type AnalysisJobFromHost = SensitivityJob | { type: 'cancel' };

export type AnalysisJobToHost =
  | ({ type: 'progress' } & SensitivityProgress)
  | { type: 'layer'; layer: LayerSensitivity }
  | { type: 'done'; report: SensitivityReport }
  | { type: 'error'; message: string; cancelled: boolean };
