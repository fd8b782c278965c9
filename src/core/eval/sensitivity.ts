/**
 * Per-layer sensitivity: how a metric of the model's output moves when (a) only layer i is
 * quantized, and (b) every layer but i is (leave-one-out: what keeping i float recovers). The
 * metric is the output's SQNR against the float model, or top-1 accuracy with labels (top-1
 * agreement with the float model without). A layer's quantization is what its op reads through
 * DequantizeLinear (gate.ts).
 * The float and the all-quantized models run once, and each layer's two configurations run only
 * the part of the graph below that layer, fed with those runs' values (method 'reuse', ./sweep.ts).
 * The naive method ('naive', for tests and the benchmark) builds one model and one session per
 * configuration and gives the same numbers. Results stream out per layer and are
 * cached by the content hashes of the model, the data and the options.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph } from '../model';
import type { OrtSessionOptions } from '../runtime/ort';
import { quantizeModel } from '../quant/quantize';
import { recipeToJson, type Recipe } from '../quant/recipe';
import { cacheKey, hashFile, hashPath, ResultCache } from './cache';
import type { GateLayer } from './gate';
import { checkAbort, openPair, readSamples, type DataOptions } from './layers';
import { readLabels } from './labels';
import { argmax, sqnrDb } from './metrics';
import { naiveRunner, reuseRunner, type SweepConfig } from './sweep';

export type SensitivityMetric = 'sqnr' | 'top1';

export interface SensitivityOptions extends DataOptions {
  /** How to quantize (static QDQ); default: static int8, calibrated on the first 200 samples of `data`. */
  recipe?: Recipe;
  /** Folder the recipe's relative paths resolve against. */
  baseDir?: string;
  /** An existing QDQ model of this float model, used instead of quantizing. */
  quantized?: string;
  metric?: SensitivityMetric;
  labels?: string;
  /** Results cache folder; none: no cache. */
  cacheDir?: string;
  method?: 'reuse' | 'naive';
  /** Bound on the layer values the reuse method keeps from a whole-model run (default 512 MiB); above it the whole model runs again per group of layers. */
  keptBytes?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: SensitivityProgress) => void;
  /** Called as each layer's two configurations are measured (or at once, from the cache). */
  onLayer?: (r: LayerSensitivity) => void;
}

export interface SensitivityProgress {
  /** Configurations measured, and how many there are (2 per layer, the float and the all-quantized runs). */
  done: number;
  total: number;
  label: string;
}

export interface LayerSensitivity {
  node: string;
  opType: string;
  /** Position among the layers (graph order). */
  index: number;
  /** The metric with only this layer quantized. */
  onlyThis: number;
  /** The metric with every layer but this one quantized. */
  allButThis: number;
  /** allButThis minus the all-quantized metric: what keeping this layer float recovers (higher: more sensitive). */
  recovery: number;
  /** top1: the float metric minus onlyThis; sqnr: the output noise this layer alone adds, relative to the signal (10^(-onlyThis/10)). */
  drop: number;
}

export interface SensitivityReport {
  model: string;
  data: string;
  samples: number;
  metric: 'sqnr' | 'top1' | 'top1-agreement';
  output: string;
  method: 'reuse' | 'naive';
  /** The metric of the float model (sqnr: Infinity) and of the model with every layer quantized. */
  float: number;
  quantized: number;
  layers: LayerSensitivity[];
  /** Layer names, most sensitive first (largest recovery; ties: the larger drop). */
  ranking: string[];
  cached: boolean;
  warnings: string[];
  timing: { totalMs: number; quantizeMs: number; measureMs: number; sessions: number; runs: number };
}

// basic optimisations: no Q/DQ fusion into integer kernels, so every configuration computes what
// the ONNX Q/DQ operators define; no pre-packed weights, as the per-layer error run and the tests'
// own sessions (pre-packing changes a Gemm's summation order in the last bits)
const SESSION: OrtSessionOptions = { graphOptimizationLevel: 'basic', extra: { session: { disable_prepacking: '1', 'intra_op.allow_spinning': '0' } } };
const DEFAULT_CALIBRATION = 200;

/** Measures `modelPath`'s per-layer sensitivity on the data. */
export async function sensitivity(modelPath: string, opts: SensitivityOptions): Promise<SensitivityReport> {
  const t0 = performance.now();
  const signal = opts.signal;
  const metricAsked = opts.metric ?? (opts.labels ? 'top1' : 'sqnr');
  const recipe: Recipe = opts.recipe ?? { version: 1, mode: 'static', calibration: { data: path.resolve(opts.data), limit: DEFAULT_CALIBRATION, scale: opts.scale, image: opts.image } };
  if (!opts.quantized && recipe.mode !== 'static') throw new ModelError('unsupported', `Sensitivity measures QDQ quantization: the recipe's mode must be static (it is ${recipe.mode}).`);

  const cache = opts.cacheDir ? new ResultCache(opts.cacheDir) : undefined;
  const key = cache ? await keyOf(modelPath, recipe, metricAsked, opts) : '';
  const hit = cache?.get<SensitivityReport>('sensitivity', key);
  if (hit) {
    for (const l of hit.layers) opts.onLayer?.(l);
    return { ...hit, cached: true };
  }

  const tmp = opts.quantized ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-sensitivity-'));
  try {
    const tq = performance.now();
    let qPath = opts.quantized;
    if (!qPath) {
      qPath = path.join(tmp!, 'quantized.onnx');
      await quantizeModel(modelPath, qPath, { recipe, baseDir: opts.baseDir, signal });
    }
    const quantizeMs = performance.now() - tq;
    checkAbort(signal, 'The sensitivity run');
    const { float, reference, view } = await openPair(modelPath, qPath);
    const labelFile = opts.labels ? await readLabels(opts.labels) : undefined;
    const { samples, labels } = await readSamples(float, opts, signal, labelFile);
    const metric: SensitivityReport['metric'] = metricAsked === 'sqnr' ? 'sqnr' : labels ? 'top1' : 'top1-agreement';
    const output = mainGraph(reference).outputs[0];
    const qOutput = mainGraph(view.model).outputs.includes(output) ? output : mainGraph(view.model).outputs[0];

    const tm = performance.now();
    const method = opts.method ?? 'reuse';
    const so: OrtSessionOptions = { ...SESSION, ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}) };
    const runner = (method === 'reuse' ? reuseRunner : naiveRunner)(view, reference, samples, qOutput, { session: so, signal, keptBytes: opts.keptBytes });
    const layers = runner.layers;
    try {
      const U = layers.length;
      if (!U) throw new ModelError('unsupported', `${qPath} has no layer reading quantized tensors.`);
      const total = 2 * U + 2;
      let done = 0;
      const step = async (label: string, c: SweepConfig): Promise<Float32Array[]> => {
        checkAbort(signal, 'The sensitivity run');
        const out = await runner.run(c);
        opts.onProgress?.({ done: ++done, total, label });
        return out;
      };
      const ref = await step('float', { base: 'float' });
      const score = scorer(metric, ref, labels);
      const floatMetric = score(ref);
      const allMetric = score(await step('all layers quantized', { base: 'quantized' }));
      const results: LayerSensitivity[] = [];
      for (let i = 0; i < U; i++) {
        const onlyThis = score(await step(`only ${layers[i].node}`, { base: 'float', flip: i }));
        const allButThis = score(await step(`all but ${layers[i].node}`, { base: 'quantized', flip: i }));
        const r: LayerSensitivity = {
          node: layers[i].node, opType: layers[i].opType, index: i, onlyThis, allButThis, recovery: allButThis - allMetric,
          drop: metric === 'sqnr' ? 10 ** (-onlyThis / 10) : floatMetric - onlyThis,
        };
        results.push(r);
        opts.onLayer?.(r);
      }
      const ranking = [...results].sort((a, b) => b.recovery - a.recovery || b.drop - a.drop || a.index - b.index).map((r) => r.node);
      const report: SensitivityReport = {
        model: path.resolve(modelPath), data: path.resolve(opts.data), samples: samples.length, metric, output, method,
        float: floatMetric, quantized: allMetric, layers: results, ranking, cached: false, warnings: warningsOf(layers),
        timing: { totalMs: performance.now() - t0, quantizeMs, measureMs: performance.now() - tm, sessions: runner.sessions(), runs: runner.runs() },
      };
      checkAbort(signal, 'The sensitivity run');
      cache?.put('sensitivity', key, report);
      return report;
    } finally {
      await runner.close();
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function warningsOf(layers: GateLayer[]): string[] {
  const fixed = layers.filter((l) => l.choices.some((c) => !c.float));
  return fixed.length ? [`${fixed.length} layer(s) have weights with no float counterpart in the float model; those weights stay quantized in every configuration: ${fixed.slice(0, 5).map((l) => l.node).join(', ')}.`] : [];
}

/** The metric of a configuration's outputs against the float ones (or the labels). */
function scorer(metric: SensitivityReport['metric'], ref: Float32Array[], labels: number[][] | undefined): (out: Float32Array[]) => number {
  if (metric === 'sqnr') {
    return (out) => {
      let sig = 0;
      let noise = 0;
      for (let i = 0; i < ref.length; i++) {
        const a = ref[i];
        const b = out[i];
        for (let k = 0; k < a.length; k++) { sig += a[k] * a[k]; const d = a[k] - b[k]; noise += d * d; }
      }
      return sqnrDb(sig, noise);
    };
  }
  const truth = metric === 'top1' ? labels!.map((l) => l[0]) : ref.map((r) => argmax(r));
  return (out) => out.reduce((n, o, i) => n + (argmax(o) === truth[i] ? 1 : 0), 0) / out.length;
}

/** What the result depends on, hashed: the model's and data's bytes, the recipe and the options. */
async function keyOf(modelPath: string, recipe: Recipe, metric: SensitivityMetric, o: SensitivityOptions): Promise<string> {
  const cal = recipe.calibration?.data;
  const calPath = cal && (o.baseDir && !path.isAbsolute(cal) ? path.resolve(o.baseDir, cal) : cal);
  return cacheKey({
    v: 2, model: await hashFile(modelPath), quantized: o.quantized ? await hashFile(o.quantized) : null,
    recipe: o.quantized ? null : recipeToJson(recipe), calibration: calPath && fs.existsSync(calPath) ? await hashPath(calPath) : null,
    data: await hashPath(o.data), labels: o.labels ? await hashPath(o.labels) : null,
    metric, offset: o.offset ?? 0, limit: o.limit ?? null, scale: o.scale ?? null, image: o.image ?? null, method: o.method ?? 'reuse',
  });
}
