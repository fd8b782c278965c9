/**
 * The sidecar recipe beside a model: `mnist-12.onnx` -> `mnist-12.quantlens.json`. Saving marks
 * writes only its `plan` and keeps everything else the user put in it (mode, calibration, types);
 * the model file is never touched. A backup (hot exit) holds the unsaved plan plus the model's
 * hash, so a restore onto a changed model is noticed.
 */
import { parseRecipe, RECIPE_VERSION } from '../quant/recipe';
import { isPrecision, type Precision } from '../quant/plan';
import { ModelError } from '../errors';

/** `dir/model.onnx` -> `dir/model.quantlens.json` (works on paths and URI paths alike). */
export function sidecarPath(modelPath: string): string {
  const slash = modelPath.lastIndexOf('/');
  const dot = modelPath.lastIndexOf('.');
  const stem = dot > slash + 1 ? modelPath.slice(0, dot) : modelPath;
  return `${stem}.quantlens.json`;
}

/** The plan of a sidecar's text (validated as a whole recipe, so errors name the problem). */
export function readSidecarPlan(text: string, source: string): Record<string, Precision> {
  return parseRecipe(text, source).plan ?? {};
}

/**
 * The sidecar's new text with `plan` replaced. With an existing recipe every other field and its
 * order are kept; without one, a minimal static recipe is written. An empty plan is kept as {} so
 * the file still says "no marks" rather than losing the key.
 */
export function writeSidecarPlan(existing: string | undefined, plan: Readonly<Record<string, Precision>>, source: string): string {
  let base: Record<string, unknown>;
  if (existing !== undefined && existing.trim() !== '') {
    parseRecipe(existing, source); // refuse to rewrite a recipe we could not read back
    base = JSON.parse(existing) as Record<string, unknown>;
  } else {
    base = { version: RECIPE_VERSION, mode: 'static' };
  }
  const sorted: Record<string, Precision> = {};
  for (const n of Object.keys(plan).sort()) sorted[n] = plan[n]!;
  base.plan = sorted;
  return `${JSON.stringify(base, null, 2)}\n`;
}

export interface MarksBackup {
  version: 1;
  /** sha256 of the model file the marks were made on. */
  modelSha256: string;
  plan: Record<string, Precision>;
}

export function serializeBackup(b: MarksBackup): string {
  return JSON.stringify(b);
}

/** Reads a backup; throws a ModelError naming the problem for anything malformed. */
export function parseBackup(text: string): MarksBackup {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ModelError('corrupt', `QuantLens backup is not JSON: ${(e as Error).message}`);
  }
  const o = v as Partial<MarksBackup> | null;
  if (!o || o.version !== 1 || typeof o.modelSha256 !== 'string' || typeof o.plan !== 'object' || o.plan === null) {
    throw new ModelError('corrupt', 'QuantLens backup is malformed (needs version 1, modelSha256 and plan)');
  }
  for (const [n, p] of Object.entries(o.plan)) {
    if (!isPrecision(p)) throw new ModelError('corrupt', `QuantLens backup: "${n}" has an unknown precision ${JSON.stringify(p)}`);
  }
  return { version: 1, modelSha256: o.modelSha256, plan: o.plan };
}
