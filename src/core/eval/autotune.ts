/**
 * Automatic mixed precision: the per-layer precision plan (int8 / int16 / fp16 / float) with the
 * lowest cost (weight bytes or bit-operations, ./cost.ts) that meets a budget (./budget.ts).
 * The data splits in two: the tuning samples (calibration, the sensitivity ranking and every
 * search step) and the held-out samples (the last ones), on which only the chosen plan and plain
 * int8 are measured at the end. Each search step quantizes the model with the plan
 * (quantizeModel, into a temp folder removed at the end, also on cancel or failure) and runs it
 * against the float model's outputs on the tuning samples (./autotuneSearch.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph, type Dim, type Model } from '../model';
import type { Sample } from '../data';
import { createSession, runSession, type OrtSession, type OrtSessionOptions } from '../runtime/ort';
import { quantizeModel } from '../quant/quantize';
import { recipeToJson, type Recipe } from '../quant/recipe';
import { foldWithOrt, inferredTensorInfo, sampleFeeds } from '../quant/preprocess';
import { budgetMet, describeMisses, needsLabels, parseBudget, type Budget, type BudgetValues } from './budget';
import { layerCostInfos, planCost, type CostModel, type LayerCostInfo } from './cost';
import { openOnnx } from './evaluate';
import { checkAbort, readSamples, type DataOptions } from './layers';
import { readLabels } from './labels';
import { argmax, sqnrDb } from './metrics';
import { sensitivity, type SensitivityReport } from './sensitivity';
import { searchPlan, type Plan, type SearchPoint } from './autotuneSearch';

export type { Plan, SearchPoint } from './autotuneSearch';

export interface AutotuneOptions extends DataOptions {
  /** The budget, parsed or as text (`sqnr >= 30 and agreement >= 99`). */
  budget: Budget | string;
  labels?: string;
  cost?: CostModel;
  /** Held-out samples: a count, or a fraction of the samples in (0, 1) (default 0.25). */
  holdout?: number;
  /** How to quantize (static); without a calibration of its own it calibrates on the tuning samples; its plan is what the search replaces. Default: int8 QDQ. */
  recipe?: Recipe;
  baseDir?: string;
  /** A sensitivity report already measured on this model and recipe (skips the sweep). */
  sensitivity?: SensitivityReport;
  /** Tuning samples the sensitivity sweep runs on (default up to 8). */
  sensitivityLimit?: number;
  cacheDir?: string;
  maxMeasurements?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: AutotuneProgress) => void;
  /** Called as each search step is measured. */
  onPoint?: (p: SearchPoint) => void;
}

export interface AutotuneProgress {
  phase: 'sensitivity' | 'search' | 'holdout';
  label: string;
  /** Search steps measured so far (search phase). */
  step?: number;
}

export interface AutotuneLayer extends LayerCostInfo {
  /** The node's name in the model as given (a fused node's name is 'original/FusionName' in `node`). */
  original: string;
  /** 1-based sensitivity rank (1: most sensitive). */
  rank: number;
  recovery: number;
  precision: Plan[string];
}

export interface AutotuneResult {
  model: string;
  data: string;
  budget: string;
  cost: CostModel;
  /** Sample ranges (offset-relative indices, end exclusive) of the two splits. */
  tuning: { from: number; to: number };
  holdout: { from: number; to: number };
  /** The quantized ops, with the chosen precision and their cost facts. */
  layers: AutotuneLayer[];
  /** The chosen plan (layers above int8 only, by the model's own node names) and the recipe that reproduces it. */
  plan: Plan;
  recipe: Recipe;
  /** Whether the chosen plan meets the budget on the tuning samples, what it reached, and what misses. */
  met: boolean;
  reached: BudgetValues;
  misses: string[];
  keptAboveInt8: number;
  quantizedOps: number;
  /** Costs of every layer int8, of the chosen plan, and of every layer float. */
  costs: { int8: number; chosen: number; float: number };
  /** Every measured search step (tuning samples), in order; `pareto` marks the front. */
  points: SearchPoint[];
  /** The budget's first metric: the curve's y axis. */
  primary: string;
  /** The chosen plan and plain int8 measured on the held-out samples. */
  heldOut: { samples: number; values: BudgetValues; met: boolean; misses: string[]; int8: BudgetValues };
  truncated: boolean;
  warnings: string[];
  timing: { totalMs: number; sensitivityMs: number; searchMs: number; holdoutMs: number; measurements: number };
}

const SESSION: OrtSessionOptions = { extra: { session: { 'intra_op.allow_spinning': '0' } } };
const DEFAULT_HOLDOUT = 0.25;

/** The held-out count for `n` samples: a count, or a fraction of n; at least one sample each side. */
export function holdoutCount(n: number, holdout: number | undefined): number {
  if (!(holdout === undefined || (holdout > 0 && Number.isFinite(holdout)))) throw new ModelError('unsupported', `The held-out share must be a count or a fraction in (0, 1) (got ${holdout}).`);
  const h = holdout === undefined ? Math.round(n * DEFAULT_HOLDOUT) : holdout < 1 ? Math.round(n * holdout) : Math.floor(holdout);
  if (n < 2) throw new ModelError('unsupported', `Autotune needs at least 2 samples (tuning and held-out); the data gives ${n}.`);
  return Math.min(n - 1, Math.max(1, h));
}

/** Searches the cheapest precision plan of `modelPath` meeting the budget. */
export async function autotune(modelPath: string, opts: AutotuneOptions): Promise<AutotuneResult> {
  const t0 = performance.now();
  const signal = opts.signal;
  const budget = typeof opts.budget === 'string' ? parseBudget(opts.budget) : opts.budget;
  if (needsLabels(budget) && !opts.labels) throw new ModelError('unsupported', `The budget "${budget.text}" uses accuracy-drop, which needs labels (--labels).`);
  const costModel = opts.cost ?? 'size';
  const base = opts.recipe ?? { version: 1, mode: 'static' };
  if (base.mode !== 'static') throw new ModelError('unsupported', `Autotune plans static (QDQ) quantization; the recipe's mode is ${base.mode}.`);

  const float = await openOnnx(modelPath);
  const labelFile = opts.labels ? await readLabels(opts.labels) : undefined;
  const { samples, labels } = await readSamples(float, opts, signal, labelFile);
  const nHold = holdoutCount(samples.length, opts.holdout);
  const nTune = samples.length - nHold;
  const offset = Math.max(0, Math.floor(opts.offset ?? 0));
  const recipe: Recipe = {
    ...base,
    calibration: base.calibration ?? { data: path.resolve(opts.data), offset: offset || undefined, limit: nTune, scale: opts.scale, image: opts.image },
  };
  if (recipe.calibration && recipe.calibration.offset === undefined) delete recipe.calibration.offset;
  const withoutPlan: Recipe = { ...recipe };
  delete withoutPlan.plan;

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-autotune-'));
  try {
    // the ranking: leave-one-out recovery on (some of) the tuning samples
    const ts = performance.now();
    opts.onProgress?.({ phase: 'sensitivity', label: 'Ranking layers by sensitivity' });
    const sens = opts.sensitivity ?? await sensitivity(modelPath, {
      data: opts.data, offset, limit: Math.min(nTune, opts.sensitivityLimit ?? 8), scale: opts.scale, image: opts.image,
      recipe: withoutPlan, baseDir: opts.baseDir, metric: 'sqnr', cacheDir: opts.cacheDir, threads: opts.threads, signal,
      onProgress: (p) => opts.onProgress?.({ phase: 'sensitivity', label: `Ranking layers by sensitivity: ${p.label} (${p.done}/${p.total})` }),
    });
    const sensitivityMs = performance.now() - ts;
    const layerNames = sens.layers.map((l) => l.node);
    const costs = await costInfos(float, layerNames, samples[0]);

    const tune = await Reference.open(float, path.resolve(modelPath), samples.slice(0, nTune), labels?.slice(0, nTune), opts.threads);
    const hold = await Reference.open(float, path.resolve(modelPath), samples.slice(nTune), labels?.slice(nTune), opts.threads);
    let count = 0;
    const quantizeWith = async (plan: Plan): Promise<string> => {
      const out = path.join(tmp, `step-${++count}.onnx`);
      await quantizeModel(modelPath, out, { recipe: { ...withoutPlan, ...(Object.keys(plan).length ? { plan } : {}) }, baseDir: opts.baseDir, signal });
      return out;
    };
    const measureOn = async (ref: Reference, plan: Plan): Promise<BudgetValues> => {
      const file = await quantizeWith(plan);
      try {
        return await ref.compare(file, signal);
      } finally {
        fs.rmSync(file, { force: true });
      }
    };

    const tsearch = performance.now();
    const outcome = await searchPlan({
      ranking: sens.ranking, layers: costs, budget, cost: costModel, maxMeasurements: opts.maxMeasurements, signal,
      measure: (plan, label) => { opts.onProgress?.({ phase: 'search', label, step: count + 1 }); return measureOn(tune, plan); },
      onPoint: opts.onPoint,
    });
    const searchMs = performance.now() - tsearch;

    const th = performance.now();
    opts.onProgress?.({ phase: 'holdout', label: 'Measuring the chosen plan on the held-out samples' });
    const best = outcome.best;
    const heldValues = await measureOn(hold, best.plan);
    const heldInt8 = Object.keys(best.plan).length ? await measureOn(hold, {}) : heldValues;
    const holdoutMs = performance.now() - th;
    checkAbort(signal, 'The autotune run');

    const original = originalNames(float, layerNames);
    const named = (p: Plan): Plan => Object.fromEntries(Object.entries(p).map(([n, v]) => [original.get(n) ?? n, v]));
    const points = outcome.points.map((p) => ({ ...p, plan: named(p.plan) }));
    const plan = named(best.plan);
    const rank = new Map(sens.ranking.map((n, i) => [n, i + 1]));
    const recovery = new Map(sens.layers.map((l) => [l.node, l.recovery]));
    const warnings = [...sens.warnings];
    if (base.calibration) warnings.push("The recipe's own calibration was used; if it includes the held-out samples, the held-out check is not independent of it.");
    if (outcome.truncated) warnings.push(`The search stopped after ${outcome.points.length} measurements (the cap); the best plan so far is returned.`);
    if (!outcome.met) warnings.push(`No plan measured meets the budget "${budget.text}"; the closest one is returned: ${describeMisses(budget, best.values).join('; ')}.`);
    return {
      model: path.resolve(modelPath), data: path.resolve(opts.data), budget: budget.text, cost: costModel,
      tuning: { from: 0, to: nTune }, holdout: { from: nTune, to: samples.length },
      layers: costs.map((c) => ({ ...c, original: original.get(c.node) ?? c.node, rank: rank.get(c.node) ?? 0, recovery: recovery.get(c.node) ?? 0, precision: best.plan[c.node] ?? 'int8' })),
      plan, recipe: { ...withoutPlan, ...(Object.keys(plan).length ? { plan } : {}) },
      met: best.met, reached: best.values, misses: describeMisses(budget, best.values),
      keptAboveInt8: Object.keys(best.plan).length, quantizedOps: layerNames.length,
      costs: { int8: planCost(costs, {}, costModel), chosen: best.cost, float: planCost(costs, Object.fromEntries(layerNames.map((n) => [n, 'float'])), costModel) },
      points, primary: outcome.primary,
      heldOut: { samples: nHold, values: heldValues, met: budgetMet(budget, heldValues), misses: describeMisses(budget, heldValues), int8: heldInt8 },
      truncated: outcome.truncated, warnings,
      timing: { totalMs: performance.now() - t0, sensitivityMs, searchMs, holdoutMs, measurements: outcome.points.length },
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The model's own name of each layer: folding renames a fused node 'original/FusionName'; the
 * recipe's plan accepts the original name (the quantizer follows it into the fusion), and the
 * editor marks the graph it shows, which has the original names.
 */
function originalNames(float: Model, layers: string[]): Map<string, string> {
  const own = new Set(mainGraph(float).nodes.map((n) => n.name));
  const out = new Map<string, string>();
  for (const name of layers) {
    if (own.has(name)) { out.set(name, name); continue; }
    const parts = name.split('/');
    for (let i = parts.length - 1; i > 0; i--) {
      const prefix = parts.slice(0, i).join('/');
      if (own.has(prefix)) { out.set(name, prefix); break; }
    }
  }
  return out;
}

/** Cost facts of the layers, from the folded model (the names the plan uses) and its shapes. */
async function costInfos(float: Model, layers: string[], sample: Sample): Promise<LayerCostInfo[]> {
  const folded = (await foldWithOrt(float)).model;
  const g = mainGraph(folded);
  // the graph's value types first, then onnxruntime's shape inference for the rest
  const inferred = await inferredTensorInfo(folded, sample).catch(() => new Map<string, { shape: Dim[] | null }>());
  const shape = (t: string): Dim[] | null => {
    const v = g.values.get(t);
    if (v?.constant) return v.constant.shape;
    const declared = v?.type?.shape;
    if (declared && declared.every((d) => typeof d === 'number')) return declared;
    return inferred.get(t)?.shape ?? declared ?? null;
  };
  return layerCostInfos(g, layers, shape);
}

/**
 * The float model's outputs on a set of samples, computed once; `compare` runs a quantized model
 * on the same samples and gives the budget's values against them.
 */
class Reference {
  private constructor(
    private readonly feeds: ReturnType<typeof sampleFeeds>[],
    private readonly output: string,
    private readonly ref: Float32Array[],
    private readonly labels: number[] | undefined,
    private readonly so: OrtSessionOptions,
  ) {}

  static async open(float: Model, file: string, samples: Sample[], labels: number[][] | undefined, threads?: number): Promise<Reference> {
    const so = { ...SESSION, ...(threads ? { intraOpNumThreads: threads } : {}) };
    const output = mainGraph(float).outputs[0];
    const feeds = samples.map(sampleFeeds);
    const session = await createSession(file, so, 'the float model');
    try {
      return new Reference(feeds, output, await runAll(session, feeds, output), labels?.map((l) => l[0]), so);
    } finally {
      await session.release().catch(() => undefined);
    }
  }

  async compare(file: string, signal?: AbortSignal): Promise<BudgetValues> {
    const session = await createSession(file, this.so, 'a candidate quantized model');
    let out: Float32Array[];
    try {
      out = await runAll(session, this.feeds, this.output, signal);
    } finally {
      await session.release().catch(() => undefined);
    }
    return compareOutputs(this.ref, out, this.labels);
  }
}

/** The budget's values of `out` against the float outputs `ref` (and the labels when given). */
export function compareOutputs(ref: readonly Float32Array[], out: readonly Float32Array[], labels?: readonly number[]): BudgetValues {
  let sig = 0;
  let noise = 0;
  let agree = 0;
  let fRight = 0;
  let qRight = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = ref[i];
    const b = out[i];
    for (let k = 0; k < a.length; k++) { sig += a[k] * a[k]; const d = a[k] - b[k]; noise += d * d; }
    const fa = argmax(a);
    const qa = argmax(b);
    if (fa === qa) agree++;
    if (labels) { if (fa === labels[i]) fRight++; if (qa === labels[i]) qRight++; }
  }
  const n = ref.length;
  return { sqnr: sqnrDb(sig, noise), agreement: (100 * agree) / n, ...(labels ? { 'accuracy-drop': (100 * (fRight - qRight)) / n } : {}) };
}

async function runAll(session: OrtSession, feeds: ReturnType<typeof sampleFeeds>[], output: string, signal?: AbortSignal): Promise<Float32Array[]> {
  const outs: Float32Array[] = [];
  for (let i = 0; i < feeds.length; i++) {
    checkAbort(signal, 'The autotune run');
    const o = await runSession(session, feeds[i], [output], 'the model');
    outs.push(o[output].data as Float32Array);
    // the caller's event loop turns between runs
    await new Promise((r) => setImmediate(r));
  }
  return outs;
}

/**
 * Writes the chosen plan's recipe; its calibration path is made relative to the recipe's folder
 * (where `quantlens quantize --recipe` resolves it), so the recipe travels with its data.
 */
export function writeAutotuneRecipe(r: AutotuneResult, file: string): void {
  const recipe: Recipe = JSON.parse(JSON.stringify(r.recipe)) as Recipe;
  const data = recipe.calibration?.data;
  if (data && path.isAbsolute(data)) recipe.calibration!.data = path.relative(path.dirname(path.resolve(file)), data) || '.';
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, recipeToJson(recipe));
  fs.renameSync(tmp, file);
}
