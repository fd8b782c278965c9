/**
 * `QuantLens: Quantize Model…`: checks what it can first (trust, format, whether the model is
 * already quantized), then asks what to do (or takes it as arguments), runs the core's quantizer in
 * a worker thread with progress and cancel, and offers to open the result beside the source.
 * The precision marks of the model's open editor are the run's per-node plan, unsaved ones included
 * (and said so). Defaults come from the `quantlens.quantize.*` settings; the last answers are
 * remembered per model. Quantizing runs the model, so it needs a trusted workspace.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { QuantizeSummary } from '../core/quant/quantize';
import { loadRecipe, type Recipe } from '../core/quant/recipe';
import type { Precision } from '../core/quant/plan';
import type { OutputCheck } from '../core/quant/check';
import type { ModelSummary } from '../core/summary';
import { splitNotes } from '../core/resultNotes';
import { quantizeRefusal } from './commandsChecks';
import type { QuantizeJobFromHost, QuantizeJobToHost } from './worker/quantizeJobProtocol';
import { runWorkerJob } from './workerJob';

export interface QuantizeCommandArgs {
  /** Output file; asked for when missing. */
  out?: string;
  /** The whole run; asked for (mode, data) when missing. */
  recipe?: Recipe;
  /** A recipe file to run instead (its relative data paths resolve against its folder). */
  recipePath?: string;
  /** Folder relative data paths in the recipe resolve against. */
  baseDir?: string;
}

/** What the command needs from the rest of the host. */
export interface QuantizeCommandHost {
  /** The model's summary (from its open editor, or read for the check); rejects when it cannot be read. */
  summaryOf(uri: vscode.Uri): Promise<ModelSummary>;
  /** Told about a model found not to be quantizable. */
  notQuantizable(uri: vscode.Uri): void;
  /** The precision marks of the model's open editor, if it has one. */
  marksOf?(uri: vscode.Uri): { plan: Record<string, Precision>; unsaved: boolean } | undefined;
}

/** The user's defaults (Settings, `quantlens.quantize.*`). */
function settings(): { mode: string; method: string; samples: number } {
  const c = vscode.workspace.getConfiguration('quantlens.quantize');
  return { mode: c.get<string>('defaultMode', 'Static int8'), method: c.get<string>('calibrationMethod', 'minmax'), samples: c.get<number>('calibrationSamples', 200) };
}

interface ModeChoice extends vscode.QuickPickItem {
  recipe: Recipe;
  suffix: string;
  needsData: boolean;
}

const MODES: ModeChoice[] = [
  { label: 'Static int8', description: 'QDQ, per-channel weights, calibrated on your data', recipe: { version: 1, mode: 'static', perChannel: true }, suffix: 'int8', needsData: true },
  { label: 'Static int16 activations', description: 'int16 activations, int8 weights: for models int8 breaks', recipe: { version: 1, mode: 'static', perChannel: true, activationType: 'int16', weightType: 'int8' }, suffix: 'a16w8', needsData: true },
  { label: 'Dynamic int8', description: 'int8 weights, activations quantized at run time; no data needed', recipe: { version: 1, mode: 'dynamic' }, suffix: 'dynamic', needsData: false },
  { label: 'Float16', description: 'fp16 weights and compute, fp32 at the boundary', recipe: { version: 1, mode: 'fp16' }, suffix: 'fp16', needsData: false },
];

const FROM_RECIPE = { label: 'From a recipe file…', description: 'a *.quantlens.json saved by QuantLens or the CLI: mode, data and per-node plan' };

async function askRecipe(context: vscode.ExtensionContext, model: vscode.Uri): Promise<{ recipe?: Recipe; recipePath?: string; suffix: string } | undefined> {
  const key = `quantlens.lastMode:${model.toString()}`;
  const preferred = context.workspaceState.get<string>(key) ?? settings().mode;
  const items: Array<ModeChoice | typeof FROM_RECIPE> = [...MODES, FROM_RECIPE];
  const mode = await vscode.window.showQuickPick(items, {
    title: 'QuantLens: quantize',
    placeHolder: 'How to quantize',
    activeItem: items.find((i) => i.label === preferred),
  } as vscode.QuickPickOptions) as ModeChoice | typeof FROM_RECIPE | undefined;
  if (!mode) return undefined;
  await context.workspaceState.update(key, mode.label);
  if (!('recipe' in mode)) {
    const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectMany: false, filters: { 'QuantLens recipe': ['json'] }, openLabel: 'Quantize with this recipe' });
    return picked?.[0] ? { recipePath: picked[0].fsPath, suffix: 'quantized' } : undefined;
  }
  if (!mode.needsData) return { recipe: mode.recipe, suffix: mode.suffix };
  const source = await vscode.window.showQuickPick(
    [
      { label: 'Choose calibration data…', description: 'a file or folder: npy, npz, pb, IDX, JSON, CSV, JPEG/PNG', synthetic: false },
      { label: 'Synthetic random data', description: 'a trial run only: ranges from noise make a poor model', synthetic: true },
    ],
    { title: 'QuantLens: calibration data' },
  );
  if (!source) return undefined;
  if (source.synthetic) return { recipe: { ...mode.recipe, calibration: { synthetic: { count: 32, seed: 1 } } }, suffix: mode.suffix };
  const dataKey = `quantlens.lastData:${model.toString()}`;
  const last = context.workspaceState.get<string>(dataKey);
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: 'Calibrate on this',
    ...(last ? { defaultUri: vscode.Uri.file(last) } : {}),
  });
  if (!picked?.[0]) return undefined;
  await context.workspaceState.update(dataKey, picked[0].fsPath);
  const { method, samples } = settings();
  return { recipe: { ...mode.recipe, calibration: { data: picked[0].fsPath, limit: samples, method: method as NonNullable<Recipe['calibration']>['method'] } }, suffix: mode.suffix };
}

/** "output SQNR 35.6 dB, top-1 agreement 100 % on 8 held-back samples" */
function describeCheck(c: OutputCheck | undefined): string {
  if (!c || c.skipped) return '';
  const top1 = c.top1Agreement !== undefined ? `, top-1 agreement ${(100 * c.top1Agreement).toFixed(0)} %` : '';
  return ` Output SQNR ${c.sqnrDb.toFixed(1)} dB${top1} against the float model on ${c.samples} ${c.source} samples.`;
}

function describe(s: QuantizeSummary): string {
  const pct = s.sizeBefore ? ((100 * s.sizeAfter) / s.sizeBefore).toFixed(1) : '?';
  const left = s.leftFloat.length ? `, ${s.leftFloat.length} left float` : '';
  return `${path.basename(s.output)}: ${s.quantizedCount} nodes quantized${left}; ${s.sizeBefore} → ${s.sizeAfter} bytes (${pct} %).`;
}

/** Runs one job in a worker; resolves with the summary, rejects with the job's message. */
function runJob(extensionPath: string, start: QuantizeJobFromHost & { type: 'start' }, progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken): Promise<QuantizeSummary> {
  let reported = 0;
  return runWorkerJob<QuantizeJobToHost, QuantizeSummary>(path.join(extensionPath, 'dist', 'quantizeWorker.js'), start, token, (m) => {
    if (m.type === 'progress') {
      const done = ((m.step - 1 + (m.fraction ?? 0)) / m.steps) * 100;
      progress.report({ message: `${m.label} (${m.step}/${m.steps})`, increment: Math.max(0, done - reported) });
      reported = Math.max(reported, done);
      return undefined;
    }
    return m.type === 'done' ? { done: m.summary } : { failed: m.message, cancelled: m.cancelled };
  }, 'quantizer');
}

export async function quantizeCommand(
  context: vscode.ExtensionContext, log: vscode.LogOutputChannel, model: vscode.Uri | undefined, host: QuantizeCommandHost, args: QuantizeCommandArgs = {},
): Promise<QuantizeSummary | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage('QuantLens: quantizing runs the model, which needs a trusted workspace. Trust this workspace first.');
    return undefined;
  }
  if (!model || model.scheme !== 'file') {
    void vscode.window.showErrorMessage('QuantLens: open a local .onnx model (or pick one in the explorer) to quantize it.');
    return undefined;
  }
  const name = path.basename(model.fsPath);
  if (!model.path.toLowerCase().endsWith('.onnx')) {
    host.notQuantizable(model);
    void vscode.window.showErrorMessage(`QuantLens: '${name}' is not an ONNX model; QuantLens quantizes ONNX models only.`);
    return undefined;
  }
  // Everything the model itself can refuse is checked before the first question.
  let refusal: string | undefined;
  try {
    refusal = quantizeRefusal(name, await host.summaryOf(model));
  } catch (e) {
    refusal = `'${name}' cannot be quantized: ${(e as Error).message}`;
  }
  if (refusal) {
    host.notQuantizable(model);
    void vscode.window.showErrorMessage(`QuantLens: ${refusal}`);
    log.warn(`Not quantizing ${model.fsPath}: ${refusal}`);
    return undefined;
  }
  let recipe = args.recipe;
  let recipePath = args.recipePath;
  let suffix = recipe ? (recipe.mode === 'static' ? recipe.activationType ?? 'int8' : recipe.mode) : 'quantized';
  if (!recipe && !recipePath) {
    const asked = await askRecipe(context, model);
    if (!asked) return undefined;
    ({ recipe, recipePath, suffix } = asked);
  }
  // The open editor's marks are the plan (they are what its sidecar recipe saves).
  let baseDir = args.baseDir;
  const marks = host.marksOf?.(model);
  let planNote = '';
  if (marks && Object.keys(marks.plan).length) {
    if (!recipe && recipePath) {
      try {
        recipe = loadRecipe(recipePath);
      } catch (e) {
        void vscode.window.showErrorMessage(`QuantLens: ${(e as Error).message}`);
        return undefined;
      }
      baseDir ??= path.dirname(recipePath);
      recipePath = undefined;
    }
    recipe = { ...recipe!, plan: marks.plan };
    const n = Object.keys(marks.plan).length;
    planNote = ` Used the editor's ${n} precision mark${n === 1 ? '' : 's'}${marks.unsaved ? ' (including unsaved ones)' : ''}.`;
  }
  let out = args.out;
  if (!out) {
    const src = model.fsPath;
    const def = vscode.Uri.file(path.join(path.dirname(src), `${path.basename(src, '.onnx')}.${suffix}.onnx`));
    const picked = await vscode.window.showSaveDialog({ defaultUri: def, filters: { 'ONNX model': ['onnx'] }, saveLabel: 'Quantize to' });
    if (!picked) return undefined;
    out = picked.fsPath;
  }
  const start: QuantizeJobFromHost & { type: 'start' } = { type: 'start', source: model.fsPath, out, recipe, recipePath, baseDir };
  try {
    const summary = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `QuantLens: quantizing ${path.basename(model.fsPath)}${marks?.unsaved ? ' with unsaved marks' : ''}`, cancellable: true },
      (progress, token) => runJob(context.extensionPath, start, progress, token),
    );
    log.info(`Quantized ${model.fsPath} -> ${summary.output}\n${JSON.stringify(summary, null, 2)}`);
    host.notQuantizable(vscode.Uri.file(summary.output));
    // Warnings (synthetic data, default image pre-processing, per-tensor fallbacks) change what the
    // result is worth, so they are shown as warnings; notes that only inform keep the message an
    // information.
    const { info, warnings: w } = splitNotes(summary.warnings);
    for (const n of info) log.info(n);
    for (const n of w) log.warn(n);
    const notes = w.length === 1 ? ` ${w[0]}` : w.length ? ` ${w.length} warnings: see the QuantLens output.` : info.length ? ` ${info.join(' ')}` : '';
    const text = `QuantLens: ${describe(summary)}${describeCheck(summary.check)}${planNote}${notes}`;
    const openResult = () => vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(summary.output), 'quantlens.modelEditor', vscode.ViewColumn.Beside);
    // A run the user started from the palette or a menu (they chose where to write) opens its
    // result beside the source; callers that name the output (recipes' CodeLens, the API) decide.
    if (!args.out && vscode.workspace.getConfiguration('quantlens.quantize').get<boolean>('openResult', true)) void openResult();
    const shown = w.length ? vscode.window.showWarningMessage(text, 'Open', 'Show Warnings') : vscode.window.showInformationMessage(text, 'Open');
    void shown.then((choice) => {
      if (choice === 'Open') void openResult();
      if (choice === 'Show Warnings') log.show(true);
    });
    return summary;
  } catch (e) {
    const err = e as Error & { cancelled?: boolean };
    if (err.cancelled) void vscode.window.showInformationMessage(`QuantLens: ${err.message}`);
    else void vscode.window.showErrorMessage(`QuantLens: ${err.message}`);
    log.error(`Quantizing ${model.fsPath} failed: ${err.message}`);
    return undefined;
  }
}
