/**
 * Recipes (`*.quantlens.json`) as first-class files: hover on a node name in `plan` shows the node
 * (op type, shapes, parameters, planned precision and what has been measured of it), completion of
 * node names, a "Show in graph" link per entry and "Quantize with this recipe" at the top, and
 * Problems for names the model lacks and precisions an op cannot take, with quick fixes.
 * The JSON is read with jsonc-parser (VS Code's own), so positions are exact in any formatting.
 */
import { getLocation, parseTree, findNodeAtLocation, type Node as JsonNode } from 'jsonc-parser';
import * as vscode from 'vscode';
import type { GvNode } from '../core/graphView';
import { isPrecision } from '../core/quant/plan';
import { parameterCount, precisionProblem, RecipeModels, tensorText, type RecipeModel } from './recipeModels';

const SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.quantlens.json' }];

/** What has been measured of a node (sensitivity, SQNR, saturation), when an analysis has run. */
export interface NodeInsight {
  sensitivity?: string;
  sqnrDb?: number;
  saturation?: number;
  /** Output SQNR (dB) against the float model with only this layer quantized int8. */
  aloneSqnrDb?: number;
}

/** Below this output SQNR (setting quantlens.recipe.riskyInt8Db), int8 on one layer alone is flagged as risky. */
function riskyInt8Db(): number {
  return vscode.workspace.getConfiguration('quantlens.recipe').get<number>('riskyInt8Db', 20);
}
export type InsightSource = (model: vscode.Uri, node: string) => NodeInsight | undefined;

/** A plan entry of the recipe text: the key's range, the node name and its precision. */
interface PlanEntry {
  name: string;
  precision: unknown;
  keyRange: vscode.Range;
  valueRange: vscode.Range;
}

function planEntries(doc: vscode.TextDocument): PlanEntry[] {
  const root = parseTree(doc.getText());
  const plan = root && findNodeAtLocation(root, ['plan']);
  if (!plan || plan.type !== 'object') return [];
  const range = (n: JsonNode) => new vscode.Range(doc.positionAt(n.offset), doc.positionAt(n.offset + n.length));
  const out: PlanEntry[] = [];
  for (const prop of plan.children ?? []) {
    const [key, value] = prop.children ?? [];
    if (!key || typeof key.value !== 'string' || !value) continue;
    out.push({ name: key.value, precision: value.value, keyRange: range(key), valueRange: range(value) });
  }
  return out;
}

export function registerRecipeLanguage(context: vscode.ExtensionContext, models: RecipeModels, insight: InsightSource = () => undefined): void {
  const diagnostics = vscode.languages.createDiagnosticCollection('quantlens-recipe');
  const check = async (doc: vscode.TextDocument): Promise<void> => {
    if (!/\.quantlens\.json$/.test(doc.uri.path)) return;
    const model = await models.forRecipe(doc.uri);
    diagnostics.set(doc.uri, model ? recipeDiagnostics(doc, model, (n) => insight(model.uri, n)) : []);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  context.subscriptions.push(
    diagnostics,
    vscode.workspace.onDidOpenTextDocument((d) => void check(d)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      clearTimeout(timer);
      timer = setTimeout(() => void check(e.document), 300);
    }),
    vscode.workspace.onDidCloseTextDocument((d) => diagnostics.delete(d.uri)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('quantlens.recipe')) for (const d of vscode.workspace.textDocuments) void check(d);
    }),
    vscode.languages.registerHoverProvider(SELECTOR, {
      async provideHover(doc, pos) {
        const entry = planEntries(doc).find((e) => e.keyRange.contains(pos));
        if (!entry) return undefined;
        const model = await models.forRecipe(doc.uri);
        if (!model) return new vscode.Hover(`No model beside this recipe: ${entry.name} cannot be looked up.`, entry.keyRange);
        const node = model.byName.get(entry.name);
        if (!node) return new vscode.Hover(new vscode.MarkdownString().appendText(`${entry.name}: no such node in ${baseName(model.uri)}.`), entry.keyRange);
        return new vscode.Hover(nodeHover(model, node, entry.precision, insight(model.uri, node.name)), entry.keyRange);
      },
    }),
    vscode.languages.registerCompletionItemProvider(SELECTOR, {
      async provideCompletionItems(doc, pos) {
        const loc = getLocation(doc.getText(), doc.offsetAt(pos));
        if (loc.path[0] !== 'plan' || loc.path.length !== 2 || !loc.isAtPropertyKey) return undefined;
        const model = await models.forRecipe(doc.uri);
        if (!model) return undefined;
        const taken = new Set(planEntries(doc).map((e) => e.name));
        const items: vscode.CompletionItem[] = [];
        for (const node of model.byName.values()) {
          if (taken.has(node.name)) continue;
          const item = new vscode.CompletionItem(node.name, vscode.CompletionItemKind.Field);
          item.detail = node.opType;
          item.filterText = `"${node.name}`;
          items.push(item);
        }
        return items;
      },
    }, '"'),
    vscode.languages.registerCodeLensProvider(SELECTOR, {
      async provideCodeLenses(doc) {
        const model = await models.forRecipe(doc.uri);
        if (!model) return [];
        const top = new vscode.Range(0, 0, 0, 0);
        const lenses = [
          new vscode.CodeLens(top, {
            title: `$(play) Quantize ${baseName(model.uri)} with this recipe`,
            command: 'quantlens.quantizeModel',
            arguments: [model.uri, { recipePath: doc.uri.fsPath }],
          }),
          new vscode.CodeLens(top, { title: '$(pulse) Run sensitivity', command: 'quantlens.runSensitivity', arguments: [model.uri] }),
          new vscode.CodeLens(top, { title: '$(type-hierarchy) Open model', command: 'vscode.openWith', arguments: [model.uri, 'quantlens.modelEditor'] }),
        ];
        for (const e of planEntries(doc)) {
          if (!model.byName.has(e.name)) continue;
          lenses.push(new vscode.CodeLens(e.keyRange, { title: 'Show in graph', command: 'quantlens.revealNode', arguments: [model.uri, e.name] }));
        }
        return lenses;
      },
    }),
    vscode.languages.registerCodeActionsProvider(SELECTOR, { provideCodeActions: (doc, _range, ctx) => quickFixes(doc, ctx) }, {
      providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
    }),
  );
  for (const d of vscode.workspace.textDocuments) void check(d);
}

/** Problems of a recipe's plan against its model. */
export function recipeDiagnostics(doc: vscode.TextDocument, model: RecipeModel, insight: (node: string) => NodeInsight | undefined = () => undefined): vscode.Diagnostic[] {
  const out: vscode.Diagnostic[] = [];
  for (const e of planEntries(doc)) {
    const node = model.byName.get(e.name);
    if (!node) {
      const d = new vscode.Diagnostic(e.keyRange, `${baseName(model.uri)} has no node "${e.name}" (the model changed, or a typo): this mark does nothing.`, vscode.DiagnosticSeverity.Warning);
      d.code = 'unknown-node';
      d.source = 'QuantLens';
      out.push(d);
      continue;
    }
    if (!isPrecision(e.precision)) continue; // the JSON schema reports values that are not precisions
    const problem = precisionProblem(node, e.precision);
    if (problem) {
      const d = new vscode.Diagnostic(e.valueRange, problem, vscode.DiagnosticSeverity.Warning);
      d.code = 'precision-unsupported';
      d.source = 'QuantLens';
      out.push(d);
      continue;
    }
    const alone = e.precision === 'int8' ? insight(node.name)?.aloneSqnrDb : undefined;
    const risky = riskyInt8Db();
    if (alone !== undefined && alone < risky) {
      const d = new vscode.Diagnostic(e.valueRange, `int8 here alone drops the output SQNR to ${alone.toFixed(1)} dB (measured by the last sensitivity analysis; below ${risky} dB is a risky choice).`, vscode.DiagnosticSeverity.Warning);
      d.code = 'risky-int8';
      d.source = 'QuantLens';
      out.push(d);
    }
  }
  return out;
}

function quickFixes(doc: vscode.TextDocument, ctx: vscode.CodeActionContext): vscode.CodeAction[] {
  const actions: vscode.CodeAction[] = [];
  const entries = planEntries(doc);
  for (const d of ctx.diagnostics) {
    if (d.source !== 'QuantLens') continue;
    const entry = entries.find((e) => e.keyRange.isEqual(d.range) || e.valueRange.isEqual(d.range));
    if (!entry) continue;
    if (d.code === 'unknown-node') {
      const a = new vscode.CodeAction(`Remove the mark on "${entry.name}"`, vscode.CodeActionKind.QuickFix);
      a.diagnostics = [d];
      a.edit = new vscode.WorkspaceEdit();
      a.edit.delete(doc.uri, entryDeletionRange(doc, entry));
      actions.push(a);
    } else {
      const alternatives = d.code === 'risky-int8' ? (['float', 'int16'] as const) : (['float', 'fp16'] as const);
      for (const p of alternatives) {
        const a = new vscode.CodeAction(p === 'float' ? 'Keep in float' : `Use ${p}`, vscode.CodeActionKind.QuickFix);
        a.diagnostics = [d];
        a.isPreferred = p === 'float';
        a.edit = new vscode.WorkspaceEdit();
        a.edit.replace(doc.uri, entry.valueRange, JSON.stringify(p));
        actions.push(a);
      }
    }
  }
  return actions;
}

/** The entry with its separating comma, so removing it leaves valid JSON. */
function entryDeletionRange(doc: vscode.TextDocument, entry: PlanEntry): vscode.Range {
  const text = doc.getText();
  let start = doc.offsetAt(entry.keyRange.start);
  let end = doc.offsetAt(entry.valueRange.end);
  const after = /^\s*,/.exec(text.slice(end));
  if (after) end += after[0].length;
  else {
    const before = /,\s*$/.exec(text.slice(0, start));
    if (before) start -= before[0].length;
  }
  return new vscode.Range(doc.positionAt(start), doc.positionAt(end));
}

function nodeHover(model: RecipeModel, node: GvNode, precision: unknown, measured: NodeInsight | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(node.name).appendMarkdown('** · ').appendText(node.opType).appendMarkdown('\n\n');
  const rows: Array<[string, string]> = [
    ['planned precision', isPrecision(precision) ? precision : 'not a precision'],
    ['inputs', node.inputs.filter((i) => i >= 0 && !model.graph.tensors[i]?.constant).map((i) => tensorText(model.graph, i)).join(', ') || '—'],
    ['outputs', node.outputs.filter((i) => i >= 0).map((i) => tensorText(model.graph, i)).join(', ') || '—'],
    ['parameters', parameterCount(model.graph, node).toLocaleString('en-US')],
  ];
  const problem = isPrecision(precision) ? precisionProblem(node, precision) : undefined;
  if (problem) rows.push(['note', problem]);
  if (measured?.sensitivity !== undefined) rows.push(['sensitivity', measured.sensitivity]);
  if (measured?.aloneSqnrDb !== undefined) rows.push(['output SQNR with only this layer int8', `${measured.aloneSqnrDb.toFixed(1)} dB`]);
  if (measured?.sqnrDb !== undefined) rows.push(['per-layer SQNR', `${measured.sqnrDb.toFixed(1)} dB`]);
  if (measured?.saturation !== undefined) rows.push(['saturation', `${(measured.saturation * 100).toFixed(2)} %`]);
  if (!measured) rows.push(['sensitivity', 'not measured yet']);
  for (const [k, v] of rows) md.appendMarkdown(`${k}: `).appendText(v).appendMarkdown('  \n');
  return md;
}

function baseName(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}
