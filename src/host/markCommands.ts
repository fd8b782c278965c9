/**
 * Palette commands on the precision marks of the active QuantLens editor, and the status bar item
 * that summarises them. Every command turns one user intent into one undoable edit of the document.
 */
import * as vscode from 'vscode';
import { planSummary, PRECISIONS, type Precision } from '../core/marks/marks';
import type { ModelDocument } from './modelDocument';
import type { EditorRecord, ModelEditorProvider } from './modelEditorProvider';

/** Arguments for scripted use (tests, other extensions); the palette asks for what is missing. */
export interface MarkLayersArgs {
  nodes?: string[];
  /** null clears the marks. */
  precision?: Precision | null;
}

const PRECISION_HELP: Record<Precision, string> = {
  int8: '8-bit integer weights and activations (static QDQ)',
  int16: '16-bit integer activations: for layers that lose too much at int8',
  fp16: 'half-precision float',
  float: 'keep in float32 (not quantized)',
  skip: 'leave exactly as it is (no rewrite at all)',
};

export function registerMarkCommands(context: vscode.ExtensionContext, provider: ModelEditorProvider): void {
  const status = vscode.window.createStatusBarItem('quantlens.plan', vscode.StatusBarAlignment.Right, 100);
  status.name = 'QuantLens precision plan';
  status.command = 'quantlens.openRecipe';
  const refresh = (): void => {
    const doc = provider.activeEditor?.document;
    if (!doc || doc.state.kind !== 'loaded') {
      status.hide();
      return;
    }
    const summary = planSummary(doc.marks.counts());
    status.text = `$(layers) ${summary ?? 'no marks'}`;
    status.tooltip = summary
      ? `QuantLens precision marks of ${baseName(doc.uri)}${doc.hasUnsavedMarks ? ' (unsaved)' : ''}. Click to open the recipe.`
      : `No precision marks on ${baseName(doc.uri)}: every layer takes the run's default.`;
    status.accessibilityInformation = { label: `QuantLens plan: ${summary ?? 'no marks'}` };
    status.show();
  };

  context.subscriptions.push(
    status,
    provider.onDidChangeActive(refresh),
    vscode.commands.registerCommand('quantlens.markLayers', (args?: MarkLayersArgs) => markLayers(context, provider, args)),
    vscode.commands.registerCommand('quantlens.clearMarks', async () => {
      const editor = await loadedEditor(provider);
      if (!editor) return 0;
      return editor.document.replaceMarks({}, 'Clear all marks');
    }),
    vscode.commands.registerCommand('quantlens.openRecipe', async () => {
      const editor = await loadedEditor(provider);
      if (!editor) return undefined;
      return openRecipe(editor.document);
    }),
  );
  refresh();
}

/** The active QuantLens editor once its model has loaded, or undefined with a message saying why. */
async function loadedEditor(provider: ModelEditorProvider): Promise<EditorRecord | undefined> {
  const editor = provider.activeEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('QuantLens: open a .onnx or .tflite model first.');
    return undefined;
  }
  await editor.document.loaded;
  if (editor.document.state.kind !== 'loaded') {
    void vscode.window.showErrorMessage(`QuantLens: ${baseName(editor.document.uri)} could not be read, so it cannot be marked.`);
    return undefined;
  }
  return editor;
}

async function markLayers(context: vscode.ExtensionContext, provider: ModelEditorProvider, args: MarkLayersArgs = {}): Promise<number> {
  const editor = await loadedEditor(provider);
  if (!editor) return 0;
  const doc = editor.document;
  const nodes = args.nodes ?? (editor.selection.length ? editor.selection : await pickNodes(doc));
  if (!nodes || nodes.length === 0) return 0;
  let precision = args.precision;
  if (precision === undefined) {
    const remembered = context.workspaceState.get<string>(`quantlens.lastPrecision:${doc.uri.toString()}`);
    const items: Array<vscode.QuickPickItem & { value: Precision | null }> = [
      ...PRECISIONS.map((p) => ({ label: p, description: PRECISION_HELP[p], value: p as Precision | null })),
      { label: 'Clear mark', description: 'back to the run\'s default', value: null },
    ];
    const active = items.find((i) => i.label === remembered);
    const pick = await vscode.window.showQuickPick(items, {
      title: `Mark ${nodes.length === 1 ? nodes[0] : `${nodes.length} layers`} as…`,
      placeHolder: 'Precision for the selected layers',
      ...(active ? { activeItem: active } : {}),
    } as vscode.QuickPickOptions);
    if (!pick) return 0;
    precision = pick.value;
    await context.workspaceState.update(`quantlens.lastPrecision:${doc.uri.toString()}`, pick.label);
  }
  const unknown = nodes.filter((n) => !doc.nodeNames.has(n));
  if (unknown.length) {
    void vscode.window.showErrorMessage(`QuantLens: ${baseName(doc.uri)} has no node named ${unknown.slice(0, 3).map((n) => `"${n}"`).join(', ')}${unknown.length > 3 ? ` and ${unknown.length - 3} more` : ''}.`);
    return 0;
  }
  return doc.setMarks(nodes, precision ?? undefined);
}

/** With nothing selected: every node of an op type, or the nodes whose names match a pattern. */
async function pickNodes(doc: ModelDocument): Promise<string[] | undefined> {
  const graph = doc.state.kind === 'loaded' ? doc.state.graph : undefined;
  const ops = (graph?.nodes ?? []).filter((n) => n.kind === 'op');
  const how = await vscode.window.showQuickPick(
    [
      { label: 'Every node of an op type…', value: 'op' as const },
      { label: 'Nodes whose name matches…', value: 'regex' as const },
    ],
    { title: 'Nothing is selected in the graph: which layers?' },
  );
  if (!how) return undefined;
  if (how.value === 'op') {
    const counts = new Map<string, number>();
    for (const n of ops) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    const pick = await vscode.window.showQuickPick(
      [...counts].sort((a, b) => b[1] - a[1]).map(([op, n]) => ({ label: op, description: `${n} node${n === 1 ? '' : 's'}` })),
      { title: 'Mark every node of this op type' },
    );
    return pick ? ops.filter((n) => n.opType === pick.label).map((n) => n.name) : undefined;
  }
  const pattern = await vscode.window.showInputBox({
    title: 'Mark the nodes whose name matches this regular expression',
    placeHolder: '^/encoder/layer\\.[0-3]/',
    validateInput: (v) => {
      try {
        const re = new RegExp(v);
        const hits = ops.filter((n) => re.test(n.name)).length;
        return hits ? undefined : { message: 'No node name matches', severity: vscode.InputBoxValidationSeverity.Warning };
      } catch (e) {
        return `Not a regular expression: ${(e as Error).message}`;
      }
    },
  });
  if (pattern === undefined) return undefined;
  const re = new RegExp(pattern);
  return ops.filter((n) => re.test(n.name)).map((n) => n.name);
}

async function openRecipe(doc: ModelDocument): Promise<vscode.Uri | undefined> {
  if (!(await exists(doc.sidecarUri))) {
    const save = 'Save Marks';
    const pick = await vscode.window.showInformationMessage(
      `QuantLens: ${baseName(doc.sidecarUri)} does not exist yet. Saving the model's marks writes it.`, save);
    if (pick !== save) return undefined;
    // Through VS Code, so the editor's dirty state follows; a clean document is written directly.
    await vscode.workspace.save(doc.uri);
    if (!(await exists(doc.sidecarUri))) await doc.save();
  }
  await vscode.window.showTextDocument(doc.sidecarUri, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  return doc.sidecarUri;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

function baseName(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}
