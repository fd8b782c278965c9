/** Imports of what other tools measured: the format told or recognised from the content. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Model } from '../../model';
import { ResultsFileError } from '../build';
import type { ResultsReport } from '../model';
import { nodeIndex, parsePythonJson, type NodeIndex } from './match';
import { importModelExplorer, looksLikeModelExplorer } from './modelExplorer';
import { importOrtQdqLoss, looksLikeOrtQdqLoss } from './ortQdqLoss';
import { importTfliteDebuggerCsv, looksLikeTfliteDebuggerCsv } from './tfliteDebugger';

export { nodeIndex, matchName, type NodeIndex } from './match';
export { importOrtQdqLoss, ORT_TOOL } from './ortQdqLoss';
export { importTfliteDebuggerCsv, TFLITE_TOOL } from './tfliteDebugger';
export { importModelExplorer, MODEL_EXPLORER_TOOL } from './modelExplorer';

export type ImportFormat = 'ort-qdq-loss' | 'tflite-debugger' | 'model-explorer';
export const IMPORT_FORMATS: ImportFormat[] = ['ort-qdq-loss', 'tflite-debugger', 'model-explorer'];

export interface ImportOptions {
  format?: ImportFormat;
  /** Model Explorer: the metric key the values stand for (default: the data's name). */
  metric?: string;
  date?: string;
}

export function detectImportFormat(text: string, file: string): ImportFormat {
  if (looksLikeTfliteDebuggerCsv(text)) return 'tflite-debugger';
  let v: unknown;
  try {
    v = parsePythonJson(text);
  } catch {
    throw new ResultsFileError(file, 'neither JSON nor the CSV of TFLite\'s QuantizationDebugger (its header starts op_name,tensor_idx and has tensor_name).');
  }
  if (looksLikeModelExplorer(v)) return 'model-explorer';
  if (looksLikeOrtQdqLoss(v)) return 'ort-qdq-loss';
  throw new ResultsFileError(file, 'not a format QuantLens imports: onnxruntime qdq_loss_debug errors ({tensor: {"qdq_err", "xmodel_err"}} or {weight: SQNR}), Model Explorer node data, or the TFLite debugger CSV.');
}

/** Matches another tool's results (`text`, read from `file`) to the nodes of a model. */
export function importResultsText(text: string, file: string, model: Model | NodeIndex, o: ImportOptions = {}): ResultsReport {
  const idx = 'nodes' in model && model.nodes instanceof Map ? (model as NodeIndex) : nodeIndex(model as Model);
  const name = path.basename(file);
  switch (o.format ?? detectImportFormat(text, name)) {
    case 'ort-qdq-loss': return importOrtQdqLoss(text, name, idx, o.date);
    case 'tflite-debugger': return importTfliteDebuggerCsv(text, name, idx, o.date);
    case 'model-explorer': return importModelExplorer(text, name, idx, { metric: o.metric, date: o.date });
  }
}

export function importResultsFile(file: string, model: Model | NodeIndex, o: ImportOptions = {}): ResultsReport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ResultsFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  return importResultsText(text, file, model, o);
}
