/**
 * The recipe: one JSON file that reproduces a quantization run (mode, calibration, types,
 * pre-processing and the per-node precision plan). schemas/recipe.schema.json describes it for
 * editors; parseRecipe() is the authority and gives one clear message per problem.
 * Also exports an equivalent onnxruntime-Python configuration.
 */
import * as fs from 'node:fs';
import { ModelError } from '../errors';
import { CALIBRATION_METHODS, type CalibrationMethod } from './calibrators';
import { PRECISIONS, type Precision } from './plan';
import type { ImagePreprocess } from '../data';

export const RECIPE_VERSION = 1;
export type QuantMode = 'static' | 'dynamic' | 'fp16';
export const QUANT_MODES: readonly QuantMode[] = ['static', 'dynamic', 'fp16'];
export const ACTIVATION_TYPES = ['int8', 'uint8', 'int16', 'uint16'] as const;
export const WEIGHT_TYPES = ['int8', 'uint8', 'int4', 'int16'] as const;
export type RecipeActivationType = (typeof ACTIVATION_TYPES)[number];
export type RecipeWeightType = (typeof WEIGHT_TYPES)[number];

export interface RecipeCalibration {
  /** File or folder of calibration samples (relative paths resolve against the recipe's folder). */
  data?: string;
  method?: CalibrationMethod;
  percentile?: number;
  movingAverage?: boolean;
  /** Samples to use (default 200) and to skip first. */
  limit?: number;
  offset?: number;
  /** 8-bit data scaling (IDX / npy / raw). */
  scale?: '0-1' | '0-255';
  image?: ImagePreprocess;
  /** Seeded random data; only when asked for, and flagged in the result. */
  synthetic?: { count: number; seed?: number };
}

export interface Recipe {
  version: 1;
  mode: QuantMode;
  calibration?: RecipeCalibration;
  activationType?: RecipeActivationType;
  weightType?: RecipeWeightType;
  perChannel?: boolean;
  symmetricActivations?: boolean;
  symmetricWeights?: boolean;
  reduceRange?: boolean;
  preprocess?: { fold?: boolean };
  /** Default precision of quantizable nodes (static mode). */
  defaultPrecision?: 'int8' | 'int16';
  /** Node name -> precision: int8 | int16 | fp16 | float | skip. */
  plan?: Record<string, Precision>;
  /** Node names or op types kept float. */
  exclude?: string[];
}

type Obj = Record<string, unknown>;

function fail(where: string, msg: string): never {
  throw new ModelError('unsupported', `Recipe ${where}: ${msg}`);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], where: string): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(where, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

function bool(v: unknown, where: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(where, `must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

function num(v: unknown, where: string, lo: number, hi: number, int = false): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
    fail(where, `must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}] (got ${JSON.stringify(v)})`);
  }
  return v;
}

function noExtra(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k) && k !== '$schema') fail(where, `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a parsed JSON value as a recipe. */
export function validateRecipe(v: unknown, source = 'recipe'): Recipe {
  if (!isObj(v)) fail(source, 'must be a JSON object');
  noExtra(v, ['version', 'mode', 'calibration', 'activationType', 'weightType', 'perChannel', 'symmetricActivations',
    'symmetricWeights', 'reduceRange', 'preprocess', 'defaultPrecision', 'plan', 'exclude'], source);
  if (v.version !== RECIPE_VERSION) fail(`${source} "version"`, `must be ${RECIPE_VERSION} (got ${JSON.stringify(v.version)})`);
  const r: Recipe = { version: 1, mode: oneOf(v.mode, QUANT_MODES, `${source} "mode"`) ?? fail(`${source} "mode"`, 'is required') };
  if (v.calibration !== undefined) {
    const c = v.calibration;
    const w = `${source} "calibration"`;
    if (!isObj(c)) fail(w, 'must be an object');
    noExtra(c, ['data', 'method', 'percentile', 'movingAverage', 'limit', 'offset', 'scale', 'image', 'synthetic'], w);
    if (c.data !== undefined && (typeof c.data !== 'string' || !c.data)) fail(`${w}.data`, 'must be a non-empty path');
    const cal: RecipeCalibration = {};
    if (c.data !== undefined) cal.data = c.data as string;
    const method = oneOf(c.method, CALIBRATION_METHODS, `${w}.method`); if (method) cal.method = method;
    const p = num(c.percentile, `${w}.percentile`, 1e-9, 100); if (p !== undefined) cal.percentile = p;
    const ma = bool(c.movingAverage, `${w}.movingAverage`); if (ma !== undefined) cal.movingAverage = ma;
    const lim = num(c.limit, `${w}.limit`, 1, 1e9, true); if (lim !== undefined) cal.limit = lim;
    const off = num(c.offset, `${w}.offset`, 0, 1e12, true); if (off !== undefined) cal.offset = off;
    const sc = oneOf(c.scale, ['0-1', '0-255'] as const, `${w}.scale`); if (sc) cal.scale = sc;
    if (c.image !== undefined) { if (!isObj(c.image)) fail(`${w}.image`, 'must be an object'); cal.image = c.image as ImagePreprocess; }
    if (c.synthetic !== undefined) {
      const s = c.synthetic;
      if (!isObj(s)) fail(`${w}.synthetic`, 'must be an object');
      noExtra(s, ['count', 'seed'], `${w}.synthetic`);
      cal.synthetic = { count: num(s.count, `${w}.synthetic.count`, 1, 1e6, true) ?? fail(`${w}.synthetic.count`, 'is required') };
      const seed = num(s.seed, `${w}.synthetic.seed`, 0, 2 ** 32, true); if (seed !== undefined) cal.synthetic.seed = seed;
      if (cal.data) fail(w, '"data" and "synthetic" cannot both be set');
    }
    r.calibration = cal;
  }
  const at = oneOf(v.activationType, ACTIVATION_TYPES, `${source} "activationType"`); if (at) r.activationType = at;
  const wt = oneOf(v.weightType, WEIGHT_TYPES, `${source} "weightType"`); if (wt) r.weightType = wt;
  for (const k of ['perChannel', 'symmetricActivations', 'symmetricWeights', 'reduceRange'] as const) {
    const b = bool(v[k], `${source} "${k}"`); if (b !== undefined) r[k] = b;
  }
  if (v.preprocess !== undefined) {
    if (!isObj(v.preprocess)) fail(`${source} "preprocess"`, 'must be an object');
    noExtra(v.preprocess, ['fold'], `${source} "preprocess"`);
    r.preprocess = {};
    const f = bool(v.preprocess.fold, `${source} "preprocess.fold"`); if (f !== undefined) r.preprocess.fold = f;
  }
  const dp = oneOf(v.defaultPrecision, ['int8', 'int16'] as const, `${source} "defaultPrecision"`); if (dp) r.defaultPrecision = dp;
  if (v.plan !== undefined) {
    if (!isObj(v.plan)) fail(`${source} "plan"`, 'must be an object of node name -> precision');
    r.plan = {};
    for (const [n, p] of Object.entries(v.plan)) r.plan[n] = oneOf(p, PRECISIONS, `${source} "plan"["${n}"]`)!;
  }
  if (v.exclude !== undefined) {
    if (!Array.isArray(v.exclude) || v.exclude.some((x) => typeof x !== 'string')) fail(`${source} "exclude"`, 'must be an array of node names or op types');
    r.exclude = v.exclude as string[];
  }
  return r;
}

export function parseRecipe(text: string, source = 'recipe'): Recipe {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ModelError('corrupt', `Recipe ${source} is not valid JSON: ${(e as Error).message}`);
  }
  return validateRecipe(v, source);
}

export function loadRecipe(file: string): Recipe {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelError('io', `Cannot read recipe '${file}' (${(e as NodeJS.ErrnoException).code ?? String(e)}).`);
  }
  return parseRecipe(text, `'${file}'`);
}

export function recipeToJson(r: Recipe): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const ORT_TYPE: Record<string, string> = {
  int8: 'QuantType.QInt8', uint8: 'QuantType.QUInt8', int16: 'QuantType.QInt16', uint16: 'QuantType.QUInt16', int4: 'QuantType.QInt4',
};
const ORT_METHOD: Record<string, string> = {
  minmax: 'CalibrationMethod.MinMax', percentile: 'CalibrationMethod.Percentile', entropy: 'CalibrationMethod.Entropy', mse: 'CalibrationMethod.Distribution',
};

/** The onnxruntime-Python equivalent of a recipe: its config as JSON, and a script using it. */
export function exportOrtConfig(r: Recipe): { config: Record<string, unknown>; python: string } {
  const plan = r.plan ?? {};
  const nodesToExclude = Object.entries(plan).filter(([, p]) => p === 'float' || p === 'skip' || p === 'fp16').map(([n]) => n);
  const wide = r.activationType === 'uint8' ? 'uint16' : 'int16';
  const overrides: Record<string, unknown[]> = {};
  for (const [n, p] of Object.entries(plan)) {
    // onnxruntime overrides are per tensor; a node's int16 choice maps onto the node's name as a
    // placeholder the user resolves to its input/output tensors (listed in the summary)
    if (p === 'int16') overrides[n] = [{ quant_type: ORT_TYPE[wide] }];
  }
  const config = {
    quant_format: 'QuantFormat.QDQ',
    mode: r.mode,
    activation_type: ORT_TYPE[r.activationType ?? 'int8'],
    weight_type: ORT_TYPE[r.weightType ?? 'int8'],
    per_channel: !!r.perChannel,
    reduce_range: !!r.reduceRange,
    calibrate_method: ORT_METHOD[r.calibration?.method ?? 'minmax'],
    nodes_to_exclude: [...nodesToExclude, ...(r.exclude ?? [])],
    extra_options: {
      ActivationSymmetric: !!r.symmetricActivations,
      WeightSymmetric: r.symmetricWeights ?? true,
      ...(r.calibration?.percentile !== undefined ? { CalibPercentile: r.calibration.percentile } : {}),
      ...(r.calibration?.movingAverage ? { CalibMovingAverage: true } : {}),
      ...(Object.keys(overrides).length ? { TensorQuantOverrides: overrides } : {}),
    },
  };
  const py = r.mode === 'dynamic'
    ? `from onnxruntime.quantization import quantize_dynamic, QuantType\n\nquantize_dynamic("model.onnx", "model.quant.onnx",\n    weight_type=${config.weight_type},\n    per_channel=${config.per_channel ? 'True' : 'False'},\n    nodes_to_exclude=${JSON.stringify(config.nodes_to_exclude)})\n`
    : r.mode === 'fp16'
      ? `# fp16: onnxconverter_common.float16.convert_float_to_float16(model, keep_io_types=True,\n#   node_block_list=${JSON.stringify(config.nodes_to_exclude)})\n`
      : `from onnxruntime.quantization import (quantize_static, QuantFormat, QuantType, CalibrationMethod,\n    CalibrationDataReader)\n\n# Provide a CalibrationDataReader over the same data as the recipe: ${JSON.stringify(r.calibration?.data ?? null)}\nquantize_static("model.onnx", "model.quant.onnx", calibration_data_reader=reader,\n    quant_format=QuantFormat.QDQ,\n    activation_type=${config.activation_type}, weight_type=${config.weight_type},\n    per_channel=${config.per_channel ? 'True' : 'False'}, reduce_range=${config.reduce_range ? 'True' : 'False'},\n    calibrate_method=${config.calibrate_method},\n    nodes_to_exclude=${JSON.stringify(config.nodes_to_exclude)},\n    extra_options=${JSON.stringify(config.extra_options, null, 4).replace(/true/g, 'True').replace(/false/g, 'False')})\n`;
  return { config, python: py };
}
