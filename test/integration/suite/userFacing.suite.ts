/**
 * What a user meets around the commands, observable through the `vscode` API: refusals come before
 * any question, and *Show Model Summary* shows readable text. (Menus and notification severity are
 * read from the workbench in userFacing.workbench.ts.)
 *
 * Reference values for mnist-12.onnx from python3-onnx 1.12 (see quantlens.suite.ts): 12 nodes,
 * Add 3, Conv 2, Relu 2, MaxPool 2, Reshape 2, MatMul 1; input Input3 float [1,1,28,28].
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { closeAllEditors, getApi, getExtension, MNIST, MNIST_INT8, openInQuantLens, TFLITE, VIEW_TYPE, waitFor, waitForDocument, workspaceFile } from './helpers';

/** Long enough for the check (it reads the model), far shorter than a user answering a prompt. */
const NO_PROMPT_MS = 15_000;

/**
 * Runs the quantize command with no arguments beyond the model, as the explorer menu does. A
 * prompt (quick pick, dialog) would keep the command from returning until a user answered it.
 */
async function quantizeWithoutAnswers(uri?: vscode.Uri): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'asked'>((r) => { timer = setTimeout(() => r('asked'), NO_PROMPT_MS); });
  const result = await Promise.race([Promise.resolve(vscode.commands.executeCommand('quantlens.quantizeModel', ...(uri ? [uri] : []))), timeout]);
  clearTimeout(timer);
  if (result === 'asked') {
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.fail(`Quantize Model… on ${uri?.path ?? 'the active editor'} waited for an answer instead of refusing first`);
  }
  return result;
}

suite('Commands check before they ask, and say things readably', () => {
  suiteSetup(closeAllEditors);
  suiteTeardown(closeAllEditors);

  test('Quantize Model… refuses an already quantized model and a TFLite model before asking anything', async function () {
    this.timeout(60_000);
    const before = (await vscode.workspace.fs.readDirectory(workspaceFile(''))).map(([n]) => n).sort();
    // from the explorer: a URI, no editor open
    assert.equal(await quantizeWithoutAnswers(workspaceFile(MNIST_INT8)), undefined);
    assert.equal(await quantizeWithoutAnswers(workspaceFile(TFLITE)), undefined);
    // from the palette: the active QuantLens editor
    const api = await getApi();
    await openInQuantLens(workspaceFile(MNIST_INT8));
    await waitForDocument(api, workspaceFile(MNIST_INT8));
    assert.equal(await quantizeWithoutAnswers(), undefined);
    const after = (await vscode.workspace.fs.readDirectory(workspaceFile(''))).map(([n]) => n).sort();
    assert.deepEqual(after, before, 'nothing was written');
    await closeAllEditors();
  });

  test('the refusal check can see a float model: Quantize Model… on mnist-12.onnx goes on to ask', async function () {
    this.timeout(60_000);
    // The control for the test above: a quantizable model does reach the first question.
    const pending = vscode.commands.executeCommand('quantlens.quantizeModel', workspaceFile(MNIST));
    const asked = await Promise.race([Promise.resolve(pending).then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), NO_PROMPT_MS))]);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(asked, true, 'the command returned without asking how to quantize');
    assert.equal(await pending, undefined, 'dismissing the question cancels the run');
  });

  test('Show Model Summary shows readable text beside the model, the same as quantlens inspect', async function () {
    this.timeout(60_000);
    const api = await getApi();
    const uri = workspaceFile(MNIST);
    await openInQuantLens(uri);
    await waitForDocument(api, uri);
    await waitFor('the summary command to answer', () => vscode.commands.executeCommand('quantlens.showModelSummary'));
    const editor = await waitFor('a visible summary document', () =>
      vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'quantlens-summary' && e.document.uri.path.includes(MNIST)));
    const text = editor.document.getText();
    assert.throws(() => JSON.parse(text), 'the summary is not JSON');
    for (const line of ['nodes: 12', 'Input3: float32[1,1,28,28]', 'Plus214_Output_0: float32[1,10]', 'Add 3', 'Conv 2', 'Relu 2', 'MaxPool 2', 'Reshape 2', 'MatMul 1', 'quantization: none']) {
      assert.ok(text.includes(line), `'${line}' in:\n${text}`);
    }
    // the same text the command line prints (Electron's binary runs as Node with ELECTRON_RUN_AS_NODE)
    const cli = spawnSync(process.execPath, [path.join(getExtension().extensionPath, 'dist', 'cli.js'), 'inspect', uri.fsPath], {
      encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(text, cli.stdout);
    // the model keeps the focus
    const active = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(active instanceof vscode.TabInputCustom && active.viewType === VIEW_TYPE && active.uri.toString() === uri.toString(), 'the model editor is still active');
    await closeAllEditors();
  });
});
