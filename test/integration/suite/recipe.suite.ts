/**
 * Recipes as first-class files in a real VS Code: hover on a plan entry shows the node (op type,
 * shapes, parameters, planned precision), completion offers the model's node names, CodeLens runs
 * the recipe and links entries to the graph, and the Problems panel names unknown nodes and
 * precisions an op cannot take, with quick fixes.
 * Reference values from python3-onnx on mnist-12.onnx: Convolution110 is a Conv with W [16,8,5,5]
 * and no bias (3,200 parameters; its input Pooling66_Output_0 is float [1,8,14,14]); Pooling160 is a
 * MaxPool; Times212 a MatMul; Times212_reshape1 a Reshape of a constant. The ONNX spec's test_tanh
 * model (libonnx-testdata) has one unnamed Tanh node, which QuantLens names Tanh_0; Tanh has no QDQ form.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, MNIST, waitFor, workspaceFile } from './helpers';

const MODEL = 'recipe-mnist.onnx';
const RECIPE = 'recipe-mnist.quantlens.json';
const TEXT = `{
  "version": 1,
  "mode": "static",
  "plan": {
    "Convolution110": "int16",
    "NoSuchNode": "int8",
    "Times212_reshape1": "int16"
  }
}
`;
const TANH_SOURCE = vscode.Uri.file('/usr/share/libonnx-testdata/data/node/test_tanh/model.onnx');
const TANH = 'recipe-tanh.onnx';
const TANH_RECIPE = 'recipe-tanh.quantlens.json';

/** The hovers' text as a reader sees it (Markdown escapes removed). */
function hoverText(hovers: vscode.Hover[]): string {
  const md = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
  return md.replace(/&nbsp;/g, ' ').replace(/\\([\\`*_{}[\]()#+\-.!])/g, '$1');
}

/** Quick fixes among the code actions (not the JSON language's source actions such as Sort JSON). */
function quantLensFixes(actions: vscode.CodeAction[]): vscode.CodeAction[] {
  return actions.filter((a) => a.kind && vscode.CodeActionKind.QuickFix.contains(a.kind));
}

suite('Recipes: hover, completion, CodeLens and Problems', () => {
  const model = workspaceFile(MODEL);
  const recipe = workspaceFile(RECIPE);
  let doc: vscode.TextDocument;

  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.copy(workspaceFile(MNIST), model, { overwrite: true });
    await vscode.workspace.fs.writeFile(recipe, new TextEncoder().encode(TEXT));
    doc = await vscode.workspace.openTextDocument(recipe);
    await vscode.window.showTextDocument(doc);
  });

  suiteTeardown(async () => {
    await closeAllEditors();
    for (const f of [model, recipe, workspaceFile(TANH), workspaceFile(TANH_RECIPE)]) await vscode.workspace.fs.delete(f).then(undefined, () => undefined);
  });

  const at = (needle: string, delta = 2): vscode.Position => doc.positionAt(doc.getText().indexOf(needle) + delta);

  test('hovering a node name shows its op type, shapes, parameters and planned precision', async () => {
    const hovers = await waitFor('a hover on Convolution110', async () => {
      const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', recipe, at('"Convolution110"'));
      return hoverText(h).includes('Conv') ? h : undefined;
    });
    const text = hoverText(hovers);
    assert.match(text, /Convolution110/);
    assert.match(text, /Conv\b/);
    assert.match(text, /planned precision: int16/);
    assert.match(text, /float32 \[1,8,14,14\]/);
    assert.match(text, /parameters: 3,200/);
    const unknown = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', recipe, at('"NoSuchNode"')));
    assert.match(unknown, /no such node/);
  });

  test('completion in plan keys offers the model\'s node names not yet planned', async () => {
    const pos = doc.positionAt(doc.getText().indexOf('"Convolution110"') + 1);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', recipe, pos);
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    assert.ok(labels.includes('Pooling160'), `Pooling160 offered among ${labels.length}`);
    assert.ok(labels.includes('Times212'));
    assert.equal(list.items.find((i) => i.label === 'Pooling160')?.detail, 'MaxPool');
  });

  test('CodeLens: quantize with this recipe at the top, Show in graph on known entries', async () => {
    const lenses = await waitFor('code lenses', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', recipe, 100);
      return l.length ? l : undefined;
    });
    const quantize = lenses.find((l) => l.command?.command === 'quantlens.quantizeModel');
    assert.ok(quantize, 'a Quantize lens');
    assert.equal((quantize.command!.arguments![0] as vscode.Uri).toString(), model.toString());
    assert.deepEqual(quantize.command!.arguments![1], { recipePath: recipe.fsPath });
    const shows = lenses.filter((l) => l.command?.command === 'quantlens.revealNode').map((l) => l.command!.arguments![1]);
    assert.deepEqual(shows.sort(), ['Convolution110', 'Times212_reshape1']);
  });

  test('Problems: a precision the op cannot take, with quick fixes Keep in float and Use fp16', async () => {
    await vscode.workspace.fs.copy(TANH_SOURCE, workspaceFile(TANH), { overwrite: true });
    const tanhRecipe = workspaceFile(TANH_RECIPE);
    await vscode.workspace.fs.writeFile(tanhRecipe, new TextEncoder().encode('{ "version": 1, "mode": "static", "plan": { "Tanh_0": "int16" } }\n'));
    const tanhDoc = await vscode.workspace.openTextDocument(tanhRecipe);
    await vscode.window.showTextDocument(tanhDoc);
    const [unsupported] = await waitFor('a diagnostic on Tanh_0', () => {
      const d = vscode.languages.getDiagnostics(tanhRecipe).filter((x) => x.source === 'QuantLens');
      return d.length ? d : undefined;
    });
    assert.equal(unsupported!.code, 'precision-unsupported');
    assert.match(unsupported!.message, /Tanh has no int16 form/);
    const fixes = quantLensFixes(await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', tanhRecipe, unsupported!.range));
    assert.deepEqual(fixes.map((f) => f.title).sort(), ['Keep in float', 'Use fp16']);
    await vscode.workspace.applyEdit(fixes.find((f) => f.title === 'Keep in float')!.edit!);
    await tanhDoc.save(); // a dirty editor would make closing ask, and block the next suite
    assert.deepEqual(JSON.parse(tanhDoc.getText()).plan, { Tanh_0: 'float' });
    await waitFor('the Problems to clear after the fix', () => vscode.languages.getDiagnostics(tanhRecipe).filter((x) => x.source === 'QuantLens').length === 0);
  });

  test('Problems: a node the model lacks, with a quick fix that removes the entry and keeps valid JSON', async () => {
    await vscode.window.showTextDocument(doc);
    const [unknown] = await waitFor('one QuantLens diagnostic on the mnist recipe', () => {
      const d = vscode.languages.getDiagnostics(recipe).filter((x) => x.source === 'QuantLens');
      return d.length ? d : undefined;
    });
    assert.equal(unknown!.code, 'unknown-node');
    assert.match(unknown!.message, /no node "NoSuchNode"/);
    assert.equal(vscode.languages.getDiagnostics(recipe).filter((x) => x.source === 'QuantLens').length, 1, 'a folded constant node (Times212_reshape1) is not unknown');
    const remove = quantLensFixes(await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', recipe, unknown!.range))
      .find((f) => f.title.startsWith('Remove the mark'));
    assert.ok(remove?.edit);
    await vscode.workspace.applyEdit(remove.edit);
    await doc.save();
    assert.deepEqual(JSON.parse(doc.getText()).plan, { Convolution110: 'int16', Times212_reshape1: 'int16' }, 'still valid JSON without the entry');
    await waitFor('the Problems to clear after the fix', () => vscode.languages.getDiagnostics(recipe).filter((x) => x.source === 'QuantLens').length === 0);
  });
});
