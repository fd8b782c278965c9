/**
 * Where a layer's histograms get their grids: the QDQ model the quantizer writes for a recipe (the
 * scales and zero points it picked, and the ranges its calibrator found), kept in the cache folder
 * so selecting one layer after another quantizes once; and the node the user selected, found in the
 * model as the quantizer pre-processed it (fused ops keep their name or their output's name).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../errors';
import { mainGraph, type Model, type Node } from '../model';
import { loadRanges, type CalibrationResult } from '../quant/calibrators';
import { quantizeModel } from '../quant/quantize';
import { recipeToJson, type Recipe } from '../quant/recipe';
import { cacheKey, hashFile, hashPath } from './cache';

export interface QuantizedSource {
  /** The QDQ model file. */
  path: string;
  /** The calibrated ranges of its activations (absent for a model the caller gave). */
  ranges?: CalibrationResult;
  /** Removes what only this request needed (a temporary model); cached files stay. */
  dispose: () => void;
  quantizeMs: number;
}

/** The recipe's calibration data path, resolved against its folder. */
export function recipeDataPath(recipe: Recipe, baseDir?: string): string | undefined {
  const d = recipe.calibration?.data;
  return d && (baseDir && !path.isAbsolute(d) ? path.resolve(baseDir, d) : d);
}

/**
 * The model quantized as the recipe says, and its calibrated ranges. With a cache folder, one
 * model per float model is kept (the last recipe's), keyed by the bytes of the model and the
 * calibration data and the recipe.
 */
export async function quantizedForRecipe(modelPath: string, recipe: Recipe, o: { baseDir?: string; cacheDir?: string; signal?: AbortSignal }): Promise<QuantizedSource> {
  if (recipe.mode !== 'static') throw new ModelError('unsupported', `Layer histograms show a static (QDQ) quantization's grids: the recipe's mode must be static (it is ${recipe.mode}).`);
  const t0 = performance.now();
  const quantize = async (out: string, ranges: string): Promise<void> => {
    await quantizeModel(modelPath, out, { recipe, baseDir: o.baseDir, signal: o.signal, rangesPath: ranges });
  };
  if (!o.cacheDir) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-histograms-'));
    const dispose = (): void => fs.rmSync(tmp, { recursive: true, force: true });
    try {
      const out = path.join(tmp, 'quantized.onnx');
      await quantize(out, path.join(tmp, 'ranges.json'));
      return { path: out, ranges: await loadRanges(path.join(tmp, 'ranges.json')), dispose, quantizeMs: performance.now() - t0 };
    } catch (e) {
      dispose();
      throw e;
    }
  }
  const modelHash = await hashFile(modelPath);
  const cal = recipeDataPath(recipe, o.baseDir);
  const key = cacheKey({ v: 1, model: modelHash, recipe: recipeToJson(recipe), calibration: cal && fs.existsSync(cal) ? await hashPath(cal) : null });
  const dir = path.join(o.cacheDir, 'histogram-models');
  // one entry per key (concurrent requests with other recipes never mix files); `.ok` is written
  // last, so a run stopped half-way leaves nothing that looks complete
  const base = path.join(dir, `${modelHash.slice(0, 32)}.${key.slice(0, 16)}`);
  const out = `${base}.onnx`;
  const rangesFile = `${base}.ranges.json`;
  const keep = { path: out, dispose: () => undefined };
  if (fs.existsSync(`${base}.ok`) && fs.existsSync(out)) {
    try {
      return { ...keep, ranges: await loadRanges(rangesFile), quantizeMs: 0 };
    } catch { /* an unreadable entry: quantize again */ }
  }
  fs.mkdirSync(dir, { recursive: true });
  await quantize(out, rangesFile);
  fs.writeFileSync(`${base}.ok`, '');
  // the float model's entries for other recipes go: the cache keeps the last grid per model
  for (const f of fs.readdirSync(dir)) if (f.startsWith(`${modelHash.slice(0, 32)}.`) && !f.startsWith(path.basename(base))) fs.rmSync(path.join(dir, f), { force: true });
  return { ...keep, ranges: await loadRanges(rangesFile), quantizeMs: performance.now() - t0 };
}

/**
 * The node of the pre-processed model that stands for `name` in the model the user sees: the node
 * itself, the fused op named after it ('Times212/MatMulAddFusion' for 'Times212'), or the op an Add
 * was folded into (it writes the Add's output). A node folded into constants has no tensors to show.
 */
export function analysedNode(original: Model, reference: Model, name: string): { node: Node; note?: string } {
  const ref = mainGraph(reference);
  const exact = ref.nodes.find((n) => n.name === name);
  if (exact) return { node: exact };
  const fused = ref.nodes.find((n) => n.name.startsWith(`${name}/`));
  if (fused) return { node: fused, note: `'${name}' runs fused as '${fused.name}' (${fused.opType}) after pre-processing: these are the fused op's tensors.` };
  const own = mainGraph(original).nodes.find((n) => n.name === name);
  if (!own) throw new ModelError('unsupported', `The model has no node named '${name}'.`);
  const into = ref.nodes.find((n) => own.outputs.some((o) => o && n.outputs.includes(o)));
  if (into) return { node: into, note: `'${name}' (${own.opType}) is folded into '${into.name}' (${into.opType}) by pre-processing: these are that op's tensors.` };
  throw new ModelError('unsupported', `'${name}' (${own.opType}) is folded into constants by pre-processing (it computes nothing at run time), so it has no weights or activations of its own to show.`);
}
