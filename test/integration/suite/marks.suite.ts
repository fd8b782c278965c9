/**
 * Precision marks as a real editable document, in a real VS Code: mark through the palette command,
 * undo and redo through VS Code's own commands, save to the sidecar recipe (the model's bytes never
 * change), revert, a recipe changed on disk, the status bar and the Open Recipe command.
 * Node names are mnist-12.onnx's (python3-onnx: Convolution28, Convolution110, Times212, ...).
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { closeAllEditors, findCustomTab, getApi, MNIST, openInQuantLens, waitFor, waitForDocument, workspaceFile } from './helpers';

const MODEL = 'marks-mnist.onnx';
const RECIPE = 'marks-mnist.quantlens.json';

async function sha256(uri: vscode.Uri): Promise<string> {
  return createHash('sha256').update(await vscode.workspace.fs.readFile(uri)).digest('hex');
}

async function readJson(uri: vscode.Uri): Promise<{ plan?: Record<string, string>; [k: string]: unknown }> {
  return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as { plan?: Record<string, string> };
}

async function marksOf(uri: vscode.Uri): Promise<Record<string, string> | undefined> {
  return (await getApi()).marksOf(uri.toString())?.plan;
}

function isDirty(uri: vscode.Uri): boolean {
  return findCustomTab(uri)?.isDirty === true;
}

suite('Precision marks: an undoable document saved as a sidecar recipe', () => {
  const model = workspaceFile(MODEL);
  const recipe = workspaceFile(RECIPE);
  let modelHash = '';

  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.copy(workspaceFile(MNIST), model, { overwrite: true });
    await vscode.workspace.fs.delete(recipe).then(undefined, () => undefined);
    modelHash = await sha256(model);
    await openInQuantLens(model);
    const doc = await waitForDocument(await getApi(), model);
    assert.equal(doc.error, undefined);
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await closeAllEditors();
    for (const f of [model, recipe]) await vscode.workspace.fs.delete(f).then(undefined, () => undefined);
  });

  test('marking through the command is one edit that makes the editor dirty; undo and redo follow VS Code', async () => {
    assert.deepEqual(await marksOf(model), {});
    assert.equal(isDirty(model), false);
    const changed = await vscode.commands.executeCommand('quantlens.markLayers', { nodes: ['Convolution110', 'Convolution28'], precision: 'int16' });
    assert.equal(changed, 2);
    assert.deepEqual(await marksOf(model), { Convolution110: 'int16', Convolution28: 'int16' });
    await waitFor('the tab to show unsaved changes', () => isDirty(model));
    await vscode.commands.executeCommand('undo');
    await waitFor('undo to clear both marks', async () => JSON.stringify(await marksOf(model)) === '{}');
    await vscode.commands.executeCommand('redo');
    await waitFor('redo to restore both marks', async () => (await marksOf(model))?.Convolution28 === 'int16');
    // A mark that changes nothing is no edit.
    assert.equal(await vscode.commands.executeCommand('quantlens.markLayers', { nodes: ['Convolution28'], precision: 'int16' }), 0);
    // A name the model does not have is refused, not marked.
    assert.equal(await vscode.commands.executeCommand('quantlens.markLayers', { nodes: ['NoSuchNode'], precision: 'int8' }), 0);
    assert.equal((await marksOf(model))?.NoSuchNode, undefined);
  });

  test('save writes only the sidecar recipe; the model file is byte-identical', async () => {
    await vscode.workspace.save(model);
    await waitFor('the tab to be clean after save', () => !isDirty(model));
    const saved = await readJson(recipe);
    assert.equal(saved.version, 1);
    assert.deepEqual(saved.plan, { Convolution110: 'int16', Convolution28: 'int16' });
    assert.equal(await sha256(model), modelHash, 'the model file is untouched');
  });

  test('revert returns to the saved recipe', async () => {
    await vscode.commands.executeCommand('quantlens.markLayers', { nodes: ['Times212'], precision: 'float' });
    await waitFor('dirty after a new mark', () => isDirty(model));
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('revert to drop the unsaved mark', async () => (await marksOf(model))?.Times212 === undefined);
    assert.deepEqual(await marksOf(model), { Convolution110: 'int16', Convolution28: 'int16' });
    await waitFor('clean after revert', () => !isDirty(model));
  });

  test('a recipe changed on disk (no unsaved marks) is picked up, other fields kept; unknown names are reported', async () => {
    const text = JSON.stringify({ version: 1, mode: 'static', perChannel: true, plan: { Times212: 'fp16', GoneNode: 'int8' } }, null, 2);
    await vscode.workspace.fs.writeFile(recipe, new TextEncoder().encode(text));
    await waitFor('the editor to take the recipe from disk', async () => (await marksOf(model))?.Times212 === 'fp16', 20_000);
    const state = (await getApi()).marksOf(model.toString());
    assert.deepEqual(state?.plan, { GoneNode: 'int8', Times212: 'fp16' });
    assert.deepEqual(state?.unknown, ['GoneNode'], 'a mark on a node the model lacks is reported, not dropped');
    assert.equal(isDirty(model), false);
    // Saving a new mark keeps the fields the user wrote.
    await vscode.commands.executeCommand('quantlens.markLayers', { nodes: ['Convolution28'], precision: 'int8' });
    await vscode.workspace.save(model);
    const saved = await readJson(recipe);
    assert.equal(saved.perChannel, true);
    assert.deepEqual(saved.plan, { Convolution28: 'int8', GoneNode: 'int8', Times212: 'fp16' });
  });

  test('Clear Marks is one undoable edit; Open Recipe opens the sidecar beside the graph', async () => {
    assert.equal(await vscode.commands.executeCommand('quantlens.clearMarks'), 3);
    assert.deepEqual(await marksOf(model), {});
    await waitFor('the tab to show the unsaved clear', () => isDirty(model));
    await vscode.commands.executeCommand('undo');
    let seen = '';
    await waitFor('undo of Clear Marks', async () => {
      const m = await marksOf(model);
      seen = `${JSON.stringify(m)}; active tab ${vscode.window.tabGroups.activeTabGroup.activeTab?.label}`;
      return Object.keys(m ?? {}).length === 3;
    }).catch((e: Error) => assert.fail(`${e.message}: ${seen}`));
    await vscode.workspace.save(model);
    const opened = await vscode.commands.executeCommand<vscode.Uri>('quantlens.openRecipe');
    assert.equal(opened?.toString(), recipe.toString());
    await waitFor('the recipe in a text editor', () => vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === recipe.toString()));
  });
});
