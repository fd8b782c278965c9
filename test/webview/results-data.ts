/**
 * Real results for the results-panel tests: the core's sensitivity, evaluation, robustness and
 * autotune run on samples/mnist-12.onnx with its sample images and labels (and onnxruntime's int8
 * MNIST model from the shared corpus), turned into the panel's state the way the host does it.
 */
import { autotune, type AutotuneResult } from '../../src/core/eval/autotune';
import { evaluateModels } from '../../src/core/eval/evaluate';
import { layerHistograms, type LayerHistograms } from '../../src/core/eval/histograms';
import { robustness, type RobustnessReport } from '../../src/core/eval/robustness';
import { sensitivity, type SensitivityReport } from '../../src/core/eval/sensitivity';
import { fromEvaluation, fromSensitivity } from '../../src/core/report/build';
import { panelState } from '../../src/host/resultsPanelState';
import type { ResultsPanelState } from '../../src/protocol';
import { REPO_ROOT, SAMPLE_MODEL, sharedModel } from '../helpers/paths';

export const IMAGES = `${REPO_ROOT}/samples/mnist-200-images-idx3-ubyte.gz`;
export const LABELS = `${REPO_ROOT}/samples/mnist-200-labels-idx1-ubyte.gz`;
export const INT8 = sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx');

export interface RealResults {
  sensitivity: SensitivityReport;
  robustness: RobustnessReport;
  autotune: AutotuneResult;
  /** The histograms of HISTOGRAM_NODES (static int8 calibrated on the sample images). */
  histograms: LayerHistograms[];
  state: ResultsPanelState;
}

/** A Conv (weights and bias on grids, its output fused into the ReLU) and that ReLU (output quantized). */
export const HISTOGRAM_NODES = ['Convolution110', 'ReLU114'];

export async function realResults(): Promise<RealResults> {
  const sens = await sensitivity(SAMPLE_MODEL, { data: IMAGES, limit: 32 });
  const evaluation = fromEvaluation(await evaluateModels(SAMPLE_MODEL, INT8, { data: IMAGES, labels: LABELS }));
  const rob = await robustness(SAMPLE_MODEL, INT8, { data: IMAGES, labels: LABELS, limit: 64 });
  const tuned = await autotune(SAMPLE_MODEL, { data: IMAGES, limit: 64, budget: 'sqnr >= 40', cost: 'size' });
  const histograms = await Promise.all(HISTOGRAM_NODES.map((n) => layerHistograms(SAMPLE_MODEL, n, { data: IMAGES, limit: 64 })));
  const state = panelState({
    fileName: 'mnist-12.onnx', evaluation, layers: { kind: 'report', source: 'Run Sensitivity Analysis', report: fromSensitivity(sens) },
    robustness: rob, autotune: tuned, selected: [], graphName: (n) => n,
  }, 1);
  return { sensitivity: sens, robustness: rob, autotune: tuned, histograms, state };
}
