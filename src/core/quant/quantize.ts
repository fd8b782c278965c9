/**
 * The quantization orchestrator: open -> pre-process -> run-time shapes -> calibrate -> rewrite ->
 * write (temp file, check it loads in onnxruntime, rename). The source file is only ever read, the
 * output is never the source, and a cancelled or failed run leaves no file behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { writeOnnx } from '../formats/onnx';
import { allGraphs, mainGraph, type Graph, type Model } from '../model';
import { openModelFile } from '../open';
import { detectQuantization, type QuantScheme } from '../summary';
import { describeImagePreprocess, inputSpecsFromModel, openCalibrationData, prefetch, type CalibrationData, type LoadOptions, type Sample } from '../data';
import { createSession, type OrtSession } from '../runtime/ort';
import { createCalibrator, saveRanges, type CalibrationResult } from './calibrators';
import { calibrateModel, throwIfAborted } from './calibrate';
import { buildGraphPlan, buildPlan, type NodeDecision, type PlanOptions, type QuantPlan } from './plan';
import { cloneModel, foldWithOrt, inferredTensorInfo, type TensorInfo } from './preprocess';
import { rewriteQdq, tensorsToCalibrate, tensorsToCalibrateIn, type NestedQdq, type QdqResult, type WeightType } from './rewrite/qdq';
import { nestedGraphs, nestedTensorInfo, withOuterConstants, type NestedGraph } from './subgraphs';
import { checkOutputs, expectedSqnrDb, type OutputCheck } from './check';
import { constantBytesTotal } from './size';
import { upgradeBlocker, upgradeOpset } from './opsetUpgrade';
import { FP16_PROBE_SAMPLES, fp16OutOfRange } from './fp16Range';
import { defaultOpset } from './rewrite/graph';
import { recipeToJson, type Recipe } from './recipe';
import { convertFp16 } from './fp16';
import { quantizeDynamic } from './dynamic';
import { poolEngine, WorkerPool, type StatsEngine } from './workers';

export interface QuantizeProgress {
  /** 1-based step number and the number of steps. */
  step: number;
  steps: number;
  label: string;
  /** Within-step fraction, when known (calibration). */
  fraction?: number;
}

export interface QuantizeOptions {
  /** What to do (the file form of everything below the line). */
  recipe: Recipe;
  /** Folder relative calibration paths in the recipe resolve against (the recipe's folder). */
  baseDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: QuantizeProgress) => void;
  /** Also write the calibrated ranges as JSON here. */
  rangesPath?: string;
  /** Run calibration statistics in worker threads (default true for histogram methods). */
  workers?: boolean;
  /** Timing of the stages, filled in (for the benchmark). */
  timing?: QuantizeTiming;
}

export interface QuantizeTiming {
  totalMs: number;
  forwardMs: number;
  calibrationRuns: number;
  stages: Record<string, number>;
}

export interface QuantizeSummary {
  mode: Recipe['mode'];
  source: string;
  output: string;
  sizeBefore: number;
  sizeAfter: number;
  nodesBefore: number;
  nodesAfter: number;
  /** Quantized (or converted) nodes per op type, nodes inside If / Loop bodies included. */
  quantizedByOp: Record<string, number>;
  quantizedCount: number;
  /** Nodes left float, with why; `graph` names the body (node/attribute) a nested node sits in. */
  leftFloat: { node: string; opType: string; reason: string; graph?: string }[];
  plan?: NodeDecision[];
  /** `batch`: samples per onnxruntime run (more than 1 when the model was checked to take batches). */
  calibration?: { samples: number; method: string; tensors: number; synthetic: boolean; batch: number };
  /** The measured check: float and written model run on the same samples (check.ts). */
  check: OutputCheck;
  warnings: string[];
  opset: number;
}

export interface QuantizeResult {
  summary: QuantizeSummary;
  ranges?: CalibrationResult;
  qdq?: QdqResult;
}

/** Refuses an output that is (or would replace) the source model. */
export function checkOutputPath(source: string, out: string): void {
  const src = path.resolve(source);
  const dst = path.resolve(out);
  if (src === dst) throw new ModelError('unsupported', `The output '${dst}' is the source model; choose another file (the source is never overwritten).`);
  try {
    if (fs.existsSync(dst) && fs.realpathSync(dst) === fs.realpathSync(src)) throw new ModelError('unsupported', `The output '${dst}' is the source model (same file); choose another file.`);
    const a = fs.statSync(src);
    const b = fs.existsSync(dst) ? fs.statSync(dst) : undefined;
    if (b && a.ino === b.ino && a.dev === b.dev) throw new ModelError('unsupported', `The output '${dst}' is a link to the source model; choose another file.`);
  } catch (e) {
    if (e instanceof ModelError) throw e;
  }
  const dir = path.dirname(dst);
  if (!fs.existsSync(dir)) throw new ModelError('io', `The output folder '${dir}' does not exist.`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new ModelError('io', `The output folder '${dir}' is not writable.`);
  }
}

const STEPS = {
  static: ['Reading the model', 'Pre-processing (folding)', 'Choosing tensors to calibrate', 'Calibrating', 'Inserting Q/DQ', 'Writing the model', 'Checking the output'],
  dynamic: ['Reading the model', 'Pre-processing (folding)', 'Quantizing weights', 'Writing the model', 'Checking the output'],
  fp16: ['Reading the model', 'Pre-processing (folding)', 'Converting to float16', 'Writing the model', 'Checking the output'],
};
/** Samples the output check runs (held back from calibration when the data has more). */
const CHECK_SAMPLES = 4;

/** Quantizes the model at `source` into `out` as the recipe says. */
export async function quantizeModel(source: string, out: string, opts: QuantizeOptions): Promise<QuantizeResult> {
  const t0 = performance.now();
  const r = opts.recipe;
  const signal = opts.signal;
  const steps = STEPS[r.mode];
  let step = 0;
  const stageTimes: Record<string, number> = {};
  let stageStart = performance.now();
  const next = (): void => {
    throwIfAborted(signal);
    if (step > 0) stageTimes[steps[step - 1]] = performance.now() - stageStart;
    stageStart = performance.now();
    step++;
    opts.onProgress?.({ step, steps: steps.length, label: steps[step - 1] });
  };
  checkOutputPath(source, out);

  next();
  const original = await openModelFile(source);
  if (original.format !== 'onnx') throw new ModelError('unsupported', `Quantization works on ONNX models; '${path.basename(source)}' is ${original.format}.`);
  checkRunnable(original);
  checkNotQuantized(original, source);
  const sizeBefore = fs.statSync(source).size;
  const nodesBefore = mainGraph(original).nodes.length;

  // the calibration data is opened, and its first sample read, while onnxruntime folds the model
  const early = r.mode === 'static' ? openData(original, r, opts.baseDir).then((d) => prefetch(d, 1)) : undefined;
  early?.catch(() => undefined); // awaited (or closed) below
  try {
    next();
    const warnings: string[] = [];
    let model: Model = r.preprocess?.fold === false ? await cloneModel(original) : (await foldWithOrt(original)).model;
    // folding may copy constants into If / Loop bodies (one copy per branch): a model whose bodies
    // grew is not used, whatever folding gained elsewhere (main-graph constants it makes, from
    // ConstantOfShape say, are what the model computes anyway)
    const grown = constantBytesTotal(model, true) - constantBytesTotal(original, true);
    if (r.preprocess?.fold !== false && grown > 0) {
      model = await cloneModel(original);
      warnings.push(`Folding was not applied: it copied ${grown} bytes of constants into If / Loop bodies.`);
    }
    const nested = nestedGraphs(model);
    const planOpts = (defaultPrecision?: 'int8' | 'int16'): PlanOptions => ({ defaultPrecision, overrides: r.plan, exclude: r.exclude, originalNames });
    const known = new Set<string>();
    for (const g of allGraphs(model)) for (const n of g.nodes) known.add(n.name);
    /** Plans of the bodies (Scan bodies stay float). */
    const nestedPlan = (ng: NestedGraph, def?: 'int8' | 'int16', why?: string): QuantPlan => {
      const p = buildGraphPlan(ng.graph, planOpts(def), known, false);
      const reason = why ?? (ng.owner.opType === 'Scan' ? 'Scan bodies are not quantized' : undefined);
      if (reason) p.decisions = p.decisions.map((d) => ({ ...d, precision: 'float', source: 'default', reason }));
      return p;
    };
    const from = defaultOpset(model);
    // QuantizeLinear / DequantizeLinear exist from opset 10, DynamicQuantizeLinear from 11; raising
    // the label is safe when no op in the model changed form on the way
    const need = r.mode === 'dynamic' ? { opset: 11, ops: 'DynamicQuantizeLinear' } : { opset: 10, ops: 'QuantizeLinear / DequantizeLinear' };
    // dynamic mode only touches these ops: without them there is nothing to raise the opset for
    const dynamicOps = new Set(['MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Gather']);
    const writesQuantOps = r.mode === 'static' || (r.mode === 'dynamic' && [...allGraphs(model)].some((g) => g.nodes.some((n) => dynamicOps.has(n.opType))));
    if (writesQuantOps && from < need.opset) {
      const why = upgradeBlocker(model, need.opset);
      if (why) throw new ModelError('unsupported', `The model uses opset ${from}; ${r.mode} quantization writes ${need.ops}, which need opset ${need.opset}, and raising it is not possible: ${why}. Convert the model to a newer opset first (for example with onnx.version_converter), or use fp16 mode.`);
      const u = upgradeOpset(model, need.opset);
      warnings.push(`The opset was raised from ${from} to ${need.opset} for ${need.ops}${u.changes.length ? `; ops carried over: ${u.changes.join(', ')}` : ' (no op in the model changed form)'}.`);
    }
    // per-channel weights need opset 13: raised before the bodies are planned (the raise may add nodes)
    let perChannelOk = !!r.perChannel;
    if (r.perChannel && r.mode !== 'fp16' && defaultOpset(model) < 13) {
      // a Softmax changes meaning at 13 only over real trailing dims: onnxruntime's shapes tell
      const softmax = mainGraph(model).nodes.some((n) => ['Softmax', 'LogSoftmax', 'Hardmax'].includes(n.opType));
      perChannelOk = raiseForPerChannel(model, defaultOpset(original), softmax ? await inferredTensorInfo(model, {}).catch(() => undefined) : undefined, warnings);
    }
    const originalNames = new Set<string>();
    for (const g of allGraphs(original)) for (const n of g.nodes) originalNames.add(n.name);
    let summaryPart: Pick<QuantizeSummary, 'quantizedByOp' | 'leftFloat' | 'plan' | 'calibration'>;
    let ranges: CalibrationResult | undefined;
    let qdq: QdqResult | undefined;
    let forwardMs = 0;
    let runs = 0;
    let heldBack: Sample[] = [];

    if (r.mode === 'static') {
      next();
      // folding keeps the inputs; should they differ, the data is read for the folded model
      const opened = await early!;
      let data: CalibrationData = opened;
      if (!sameInputs(original, model)) {
        await opened.close();
        data = await openData(model, r, opts.baseDir);
      }
      if (data.warning) warnings.push(data.warning);
      if (data.image && !r.calibration?.image) {
        warnings.push(`Images were fed with the default pre-processing (${describeImagePreprocess(data.image)}). A model trained with other normalisation (ImageNet mean/std, 0-255, BGR) gets wrong ranges: set calibration.image in the recipe.`);
      }
      const method = r.calibration?.method ?? 'minmax';
      const useWorkers = opts.workers ?? method !== 'minmax';
      const pool = useWorkers ? new WorkerPool() : undefined;
      const engine: StatsEngine | undefined = pool ? poolEngine(pool) : undefined;
      const actType = r.activationType ?? 'int8';
      const perChannel = perChannelOk;
      let plan: QuantPlan | undefined;
      let run: Awaited<ReturnType<typeof calibrateModel>>;
      const limit = r.calibration?.limit ?? 200;
      const timing = { forwardMs: 0, runs: 0 };
      const def16 = actType === 'int16' || actType === 'uint16' ? 'int16' : 'int8';
      // bodies: their tensor types (onnxruntime on each body alone), plans and tensors to calibrate
      const bodies: NestedQdq[] = [];
      const wanted = new Map<Graph, string[]>();
      if (nested.length) {
        const infos = await nestedInfos(model, nested);
        for (const ng of nested) {
          const info = infos.get(ng.graph);
          const plan = nestedPlan(ng, def16, info ? undefined : 'the types inside this body could not be inferred');
          const nInfo = info ?? new Map<string, TensorInfo>();
          bodies.push({ nested: ng, plan, info: nInfo });
          wanted.set(ng.graph, await withOuterConstants(ng.graph, ng.scopes, () => tensorsToCalibrateIn(ng.graph, plan, nInfo)));
        }
      }
      try {
        const calibrator = createCalibrator({
          method, engine, movingAverage: r.calibration?.movingAverage, percentile: r.calibration?.percentile,
          symmetric: method === 'mse' ? !!r.symmetricActivations : undefined,
          ...(method === 'mse' ? { quantType: actType } : {}),
        });
        // every tensor's type and shape (declared, or inferred by onnxruntime) lets the plan pick what to calibrate
        const select = (info: Map<string, TensorInfo>): string[] => {
          plan = buildPlan(model, planOpts(r.defaultPrecision ?? def16));
          warnings.push(...plan.warnings);
          next();
          return tensorsToCalibrate(model, plan, info);
        };
        run = await calibrateModel(model, data, select, calibrator, {
          signal, timing, limit, statsInWorker: !!pool, nested: wanted.size ? wanted : undefined, holdBack: CHECK_SAMPLES,
          onSample: (n) => opts.onProgress?.({ step, steps: steps.length, label: steps[step - 1], fraction: Math.min(1, n / limit) }),
        });
      } finally {
        await pool?.close();
      }
      forwardMs = timing.forwardMs; runs = timing.runs;
      ranges = run.result;
      heldBack = run.heldBack;
      // a body none of whose tensors any sample reached (a branch never taken) stays float, named
      const never = new Set(run.nested.neverRan);
      for (const b of bodies) {
        // the body's own tensors (outer ones it reads may have run elsewhere)
        const made = new Set(b.nested.graph.nodes.flatMap((n) => n.outputs));
        const own = (wanted.get(b.nested.graph) ?? []).filter((t) => made.has(t));
        if (own.length && own.every((t) => never.has(t))) {
          b.plan = nestedPlan(b.nested, def16, 'its body never ran on the calibration data');
          warnings.push(`${b.nested.label} never ran on the calibration data: its nodes stay float.`);
        }
      }
      if (method !== 'minmax' && run.nested.calibrated.length) warnings.push(`${run.nested.calibrated.length} tensors inside If / Loop bodies were calibrated with MinMax (only their extremes leave the body).`);

      next();
      const wt: WeightType = r.weightType ?? (actType === 'int16' || actType === 'uint16' ? 'int16' : 'int8');
      if (wt === 'int4' && defaultOpset(model) < 21) warnings.push('int4 weights under an opset below 21 use com.microsoft DequantizeLinear (onnxruntime only).');
      // weights are quantized in worker threads (big tensors), keeping the caller's thread responsive
      const wpool = new WorkerPool();
      try {
        qdq = await rewriteQdq(model, plan!, run.info, ranges.tensors, {
          activationType: actType, weightType: wt, perChannel, engine: opts.workers === false ? undefined : poolEngine(wpool),
          symmetricActivations: r.symmetricActivations, symmetricWeights: r.symmetricWeights, reduceRange: r.reduceRange,
        }, bodies);
      } finally {
        await wpool.close();
      }
      // nodes the plan marks fp16 run in float16 between Casts
      const fp16Nodes = new Set(plan!.decisions.filter((d) => d.precision === 'fp16').map((d) => d.node));
      if (fp16Nodes.size) {
        const f = await convertFp16(model, plan!, run.info, { only: fp16Nodes });
        const converted = new Set(Object.keys(f.convertedByOp).length ? [...fp16Nodes].filter((n) => !f.leftFloat.some((l) => l.node === n)) : []);
        for (const lf of qdq.leftFloat) if (converted.has(lf.node)) lf.reason = 'marked fp16: runs in float16';
        for (const lf of f.leftFloat) { const q = qdq.leftFloat.find((x) => x.node === lf.node); if (q) q.reason = `marked fp16, kept float32: ${lf.reason}`; }
      }
      if (wt === 'int4' || qdq.weights.some((w) => w.type === 'int4')) model.formatVersion = Math.max(model.formatVersion, 10);
      if (defaultOpset(model) >= 21) model.formatVersion = Math.max(model.formatVersion, 10);
      warnings.push(...qdq.warnings);
      summaryPart = {
        calibration: { samples: run.samples, method, tensors: run.tensors.length + run.nested.calibrated.length, synthetic: data.synthetic, batch: run.batch },
        quantizedByOp: qdq.quantizedByOp, leftFloat: qdq.leftFloat, plan: plan!.decisions,
      };
    } else if (r.mode === 'dynamic') {
      next();
      const plan = buildPlan(model, planOpts());
      warnings.push(...plan.warnings);
      const d = await quantizeDynamic(model, plan, { perChannel: perChannelOk, weightType: r.weightType === 'uint8' ? 'uint8' : 'int8' }, nested.map((ng) => ({ nested: ng, plan: nestedPlan(ng) })));
      warnings.push(...d.warnings);
      summaryPart = { quantizedByOp: d.quantizedByOp, leftFloat: d.leftFloat, plan: plan.decisions };
    } else {
      next();
      const plan = buildPlan(model, planOpts());
      warnings.push(...plan.warnings);
      const types = await typesForFp16(model, warnings);
      const infos = nested.length && types ? await nestedInfos(model, nested, types) : new Map<Graph, Map<string, TensorInfo>>();
      // with data, the tensors that leave float16's range are found first (their nodes stay float32)
      let outOfRange: Map<string, number> | undefined;
      if (r.calibration?.data || r.calibration?.synthetic) {
        const data = await openData(model, { ...r, calibration: { ...r.calibration, limit: FP16_PROBE_SAMPLES } }, opts.baseDir);
        if (types && !infos.has(mainGraph(model))) infos.set(mainGraph(model), types);
        outOfRange = await fp16OutOfRange(model, data, nested, infos, signal);
      } else {
        warnings.push('No data was given: tensors that leave float16\'s range (beyond 65504) cannot be found before converting; the output check measures the result.');
      }
      const f = await convertFp16(model, plan, types, { outOfRange }, nested.map((ng) => ({ nested: ng, info: infos.get(ng.graph), plan: nestedPlan(ng) })));
      warnings.push(...f.warnings);
      summaryPart = { quantizedByOp: f.convertedByOp, leftFloat: f.leftFloat, plan: plan.decisions };
    }

    const quantizedCount = Object.values(summaryPart.quantizedByOp).reduce((a, b) => a + b, 0);
    if (quantizedCount === 0) throw nothingQuantized(source, r.mode, summaryPart.leftFloat);
    next();
    model.metadata = { ...model.metadata, 'quantlens.recipe': recipeToJson(r).trim(), 'quantlens.source': path.basename(source) };
    model.producer = model.producer || 'quantlens';
    // the load check's session has onnxruntime's default optimisations: the output check runs it
    const written = await writeChecked(model, out, signal);
    // the ranges file is written only once the model is: a cancelled run leaves neither
    if (opts.rangesPath && ranges) await saveRanges(opts.rangesPath, ranges);

    try { next(); } catch (e) { await written.release().catch(() => undefined); throw e; }
    const wide = r.mode === 'static' && (r.activationType === 'int16' || r.activationType === 'uint16');
    const check = await measuredCheck(source, written, original, r, opts.baseDir, heldBack, expectedSqnrDb(r.mode, wide));
    if (check.skipped) warnings.push(`The output check did not run: ${check.skipped}.`);
    else if (check.poor) {
      const worst = check.outputs.reduce((a, b) => (b.sqnrDb < a.sqnrDb ? b : a));
      warnings.push(`Poor result: output '${worst.output}' is ${worst.sqnrDb.toFixed(1)} dB SQNR from the float model on ${check.samples} ${check.source} samples, below the ${check.thresholdDb} dB expected of ${r.mode}${wide ? ' int16' : ''} quantization${check.top1Agreement !== undefined ? ` (top-1 agreement ${(100 * check.top1Agreement).toFixed(0)} %)` : ''}. Check the calibration data, or keep the worst layers float.`);
    }
    stageTimes[steps[step - 1]] = performance.now() - stageStart;

    const summary: QuantizeSummary = {
      mode: r.mode, source: path.resolve(source), output: path.resolve(out),
      sizeBefore, sizeAfter: fs.statSync(out).size, nodesBefore, nodesAfter: mainGraph(model).nodes.length,
      quantizedByOp: summaryPart.quantizedByOp, quantizedCount, leftFloat: summaryPart.leftFloat,
      ...(summaryPart.plan ? { plan: summaryPart.plan } : {}),
      ...(summaryPart.calibration ? { calibration: summaryPart.calibration } : {}),
      check, warnings, opset: defaultOpset(model),
    };
    if (opts.timing) Object.assign(opts.timing, { totalMs: performance.now() - t0, forwardMs, calibrationRuns: runs, stages: stageTimes });
    return { summary, ranges, qdq };
  } finally {
    // closes the data when an error came before calibration (which closes it itself)
    early?.then((d) => d.close(), () => undefined);
  }
}

/** Types of every body's tensors, outer bodies first (each from its enclosing graph's). */
async function nestedInfos(model: Model, nested: NestedGraph[], mainInfo?: Map<string, TensorInfo>): Promise<Map<Graph, Map<string, TensorInfo>>> {
  const infos = new Map<Graph, Map<string, TensorInfo>>();
  infos.set(mainGraph(model), mainInfo ?? await inferredTensorInfo(model, {}));
  for (const ng of nested) {
    const outer = infos.get(ng.scopes[ng.scopes.length - 1]);
    const info = outer && await nestedTensorInfo(model, ng, outer);
    if (info) infos.set(ng.graph, info);
  }
  return infos;
}

/** The refusal of a run that would change nothing: what stays float and why, bodies named. */
function nothingQuantized(source: string, mode: string, leftFloat: QuantizeSummary['leftFloat']): ModelError {
  const byReason = new Map<string, string[]>();
  for (const f of leftFloat) {
    const key = `${f.graph ? `in ${f.graph}: ` : ''}${f.reason}`;
    const l = byReason.get(key) ?? [];
    l.push(`${f.node} (${f.opType})`);
    byReason.set(key, l);
  }
  const parts = [...byReason].slice(0, 6).map(([why, nodes]) => `${nodes.slice(0, 4).join(', ')}${nodes.length > 4 ? ` and ${nodes.length - 4} more` : ''}: ${why}`);
  return new ModelError('unsupported', `Nothing in '${path.basename(source)}' can be quantized in ${mode} mode, so no model was written. What stays float: ${parts.join('; ')}${byReason.size > 6 ? '; ...' : ''}.`);
}

/**
 * The output check's samples: calibration data the run did not use (held back), else the first
 * samples of the data, else (no data) seeded random inputs; then both models run on them.
 */
async function measuredCheck(source: string, quantized: OrtSession, original: Model, r: Recipe, baseDir: string | undefined, heldBack: Sample[], thresholdDb: number): Promise<OutputCheck> {
  const c = r.calibration ?? {};
  const inputs = inputSpecsFromModel(original);
  const take = async (d: CalibrationData): Promise<Sample[]> => {
    const got: Sample[] = [];
    // leaving the loop returns the iterator, which closes the files
    for await (const s of d) { got.push(s); if (got.length >= CHECK_SAMPLES) break; }
    return got;
  };
  const fail = (why: string): OutputCheck => ({ source: 'synthetic', samples: 0, outputs: [], sqnrDb: NaN, thresholdDb, poor: false, ms: 0, skipped: why });
  let samples: Sample[] = heldBack;
  let kind: OutputCheck['source'] = 'held-back';
  try {
    if (samples.length) {
      // read by calibration, past its limit
    } else if (c.data) {
      const p = baseDir && !path.isAbsolute(c.data) ? path.resolve(baseDir, c.data) : c.data;
      const lo: LoadOptions = { inputs, scale: c.scale, image: c.image };
      // static runs read their held-back samples while calibrating; none means the data ran out
      samples = await take(await openCalibrationData(p, { ...lo, offset: c.offset, limit: CHECK_SAMPLES }));
      kind = r.mode === 'static' ? 'calibration' : 'data';
    } else {
      samples = await take(await openCalibrationData(null, { inputs, limit: CHECK_SAMPLES, synthetic: { count: CHECK_SAMPLES, seed: (c.synthetic?.seed ?? 0) + 7919 } }));
      kind = 'synthetic';
    }
  } catch (e) {
    await quantized.release().catch(() => undefined);
    return fail(`no samples could be made for it (${(e as Error).message})`);
  }
  try {
    return await checkOutputs(source, quantized, samples, kind, thresholdDb);
  } catch (e) {
    return { ...fail(`onnxruntime could not run both models on the same samples: ${(e as Error).message}`), source: kind };
  }
}

function sameInputs(a: Model, b: Model): boolean {
  return JSON.stringify(inputSpecsFromModel(a)) === JSON.stringify(inputSpecsFromModel(b));
}

async function openData(model: Model, r: Recipe, baseDir?: string): Promise<CalibrationData> {
  const c = r.calibration ?? {};
  const inputs = inputSpecsFromModel(model);
  // a few samples past the limit are held back for the output check (never calibrated on)
  const lo: LoadOptions = { inputs, offset: c.offset, limit: (c.limit ?? 200) + CHECK_SAMPLES, scale: c.scale, image: c.image };
  if (c.synthetic) return openCalibrationData(null, { ...lo, synthetic: { count: c.synthetic.count, seed: c.synthetic.seed } });
  if (!c.data) throw new ModelError('unsupported', 'Static quantization needs calibration data: give a data file or folder (--calibration), or ask for synthetic data explicitly in the recipe.');
  const p = baseDir && !path.isAbsolute(c.data) ? path.resolve(baseDir, c.data) : c.data;
  return openCalibrationData(p, lo);
}

/**
 * Element types of every tensor for the fp16 rewrite, as onnxruntime infers them (nothing runs).
 * Falls back to the declared types when onnxruntime cannot load the model.
 */
async function typesForFp16(model: Model, warnings: string[]): Promise<Map<string, TensorInfo> | undefined> {
  try {
    return await inferredTensorInfo(model, {});
  } catch (e) {
    warnings.push(`Tensor types come from the model's declarations (onnxruntime's type inference failed: ${(e as Error).message}).`);
    return undefined;
  }
}

const SCHEME_NAMES: Partial<Record<QuantScheme, string>> = {
  qdq: 'QuantizeLinear / DequantizeLinear pairs', qoperator: 'quantized operators', dynamic: 'dynamic quantization', fp16: 'float16 weights', mixed: 'several quantization schemes',
};

/** Quantizing an already quantized model stacks a second, lossy pass on the first: refused, saying what it holds. */
function checkNotQuantized(model: Model, source: string): void {
  const q = detectQuantization(model);
  if (q.scheme === 'none') return;
  const ops = Object.entries(q.quantOps).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([op, n]) => `${op} x${n}`).join(', ');
  throw new ModelError('unsupported', `'${path.basename(source)}' is already quantized (${SCHEME_NAMES[q.scheme] ?? q.scheme}${ops ? `: ${ops}` : ''}); quantize the float model it was made from instead.`);
}

const RUNNABLE_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);

/** Quantization runs the model: ops from domains onnxruntime does not implement are refused up front. */
function checkRunnable(model: Model): void {
  const fns = new Set(model.functions.map((f) => `${f.domain}|${f.name}`));
  for (const n of mainGraph(model).nodes) {
    if (!RUNNABLE_DOMAINS.has(n.domain) && !fns.has(`${n.domain}|${n.opType}`)) {
      throw new ModelError('unsupported', `Node '${n.name}' uses the custom op ${n.domain}.${n.opType}, which onnxruntime does not implement; quantization needs to run the model. Register the op or replace it first.`);
    }
  }
}

/**
 * Raises the model to opset 13, where DequantizeLinear takes an axis, carrying over the ops that
 * changed form (opsetUpgrade.ts). False, with a warning naming the op, when weights must stay
 * per-tensor.
 */
function raiseForPerChannel(model: Model, originalOpset: number, info: Map<string, TensorInfo> | undefined, warnings: string[]): boolean {
  if (defaultOpset(model) >= 13) return true;
  const why = upgradeBlocker(model, 13, info);
  if (why) {
    warnings.push(`Per-channel weights need opset 13 and the model has ${defaultOpset(model)}; ${why}, so weights are per-tensor.`);
    return false;
  }
  const u = upgradeOpset(model, 13, info);
  warnings.push(`The opset was raised from ${originalOpset} to 13 for per-channel weights${u.changes.length ? `; ops carried over: ${u.changes.join(', ')}` : ''}.`);
  return true;
}

const SYNC_WRITE_BYTES = 4 << 20;

/**
 * Checks onnxruntime loads the model, then writes it to a temporary file in the output folder and
 * renames it: the output appears whole or not at all.
 */
async function writeChecked(model: Model, out: string, signal?: AbortSignal): Promise<OrtSession> {
  const abs = path.resolve(out);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.${Date.now().toString(36)}.part`);
  let check: OrtSession | undefined;
  try {
    const bytes = writeOnnx(model);
    // loading is the check (graph resolution, type inference, a kernel for every node), with the
    // default optimisations a user's session applies (patterns onnxruntime mis-optimises show
    // here); the output check then runs this session
    check = await createSession(bytes, { intraOpNumThreads: 1 }, 'the quantized model (this is a bug in QuantLens)');
    throwIfAborted(signal);
    // a small file is written in one blocking call: an async write waits on the thread pool and
    // the event loop at each of its steps (MNIST: 1.6 of 35 ms)
    if (bytes.length <= SYNC_WRITE_BYTES) fs.writeFileSync(tmp, bytes, { flag: 'wx' });
    else await fs.promises.writeFile(tmp, bytes, { flag: 'wx' });
    throwIfAborted(signal);
    fs.renameSync(tmp, abs);
    return check;
  } catch (e) {
    await check?.release().catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    if ((e as Error).name === 'AbortError') throw e;
    const code = e instanceof ModelError ? (e.cause as NodeJS.ErrnoException | undefined)?.code : (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'the folder is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOSPC' ? 'the disk is full' : undefined;
    if (why) throw new ModelError('io', `Cannot write '${abs}': ${why}.`, { cause: e });
    if (e instanceof ModelError) throw e;
    throw new ModelError('io', `Cannot write '${abs}' (${code ?? (e as Error).message}).`, { cause: e });
  }
}
