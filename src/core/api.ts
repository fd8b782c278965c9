/** The core's public surface in one place, for the extension's features and for other tools. */
export { openModelBytes, openModelFile, detectFormat } from './open';
export { summarize, detectQuantization } from './summary';
export { describeError, isModelError, ModelError } from './errors';
export { readConstantValues, tensorStats } from './tensor';
export { buildGraphView } from './graphView';
export { quantizeModel, checkOutputPath } from './quant/quantize';
export type { QuantizeOptions, QuantizeResult, QuantizeProgress } from './quant/quantize';
export { buildPlan, PRECISIONS } from './quant/plan';
export type { Precision } from './quant/plan';
export { parseRecipe, validateRecipe, loadRecipe, recipeToJson, exportOrtConfig } from './quant/recipe';
export type { Recipe } from './quant/recipe';
