/**
 * The editor's marks are the quantize run's plan, in a real VS Code: an unsaved int16 mark on
 * Convolution110 reaches the quantizer (the written model's plan has it at int16 from the editor),
 * the result reports its measured output check, and the sample command copies the bundled model
 * and data into a folder of their own.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, findCustomTab, getApi, MNIST, MNIST_IMAGES, openInQuantLens, waitFor, waitForDocument, workspaceFile } from './helpers';

interface Summary {
  output: string;
  plan?: Array<{ node: string; precision: string; source: string }>;
  check: { samples: number; sqnrDb: number; poor: boolean; skipped?: string };
}

suite('Quantize with the editor\'s plan', () => {
  const model = workspaceFile('plan-mnist.onnx');
  const out = workspaceFile('plan-mnist.int8.onnx');

  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.copy(workspaceFile(MNIST), model, { overwrite: true });
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await closeAllEditors();
    for (const f of [model, out]) await vscode.workspace.fs.delete(f).then(undefined, () => undefined);
  });

  test('an unsaved int16 mark is the run\'s plan; the result carries the output check', async function () {
    this.timeout(120_000);
    await openInQuantLens(model);
    await waitForDocument(await getApi(), model);
    assert.equal(await vscode.commands.executeCommand('quantlens.markLayers', { nodes: ['Convolution110'], precision: 'int16' }), 1);
    const summary = await vscode.commands.executeCommand<Summary | undefined>('quantlens.quantizeModel', model, {
      out: out.fsPath,
      recipe: { version: 1, mode: 'static', calibration: { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 40 } },
    });
    assert.ok(summary, 'the run returned a summary');
    const conv110 = summary.plan?.find((d) => d.node === 'Convolution110');
    assert.equal(conv110?.precision, 'int16', JSON.stringify(conv110));
    const conv28 = summary.plan?.find((d) => d.node === 'Convolution28');
    assert.equal(conv28?.precision, 'int8', 'unmarked layers take the default');
    assert.equal(summary.check.skipped, undefined);
    assert.ok(summary.check.samples > 0 && Number.isFinite(summary.check.sqnrDb), JSON.stringify(summary.check));
    assert.equal((await getApi()).marksOf(model.toString())?.unsaved, true, 'quantizing does not save the marks');
    // Leave no unsaved document behind (closing it would ask).
    await openInQuantLens(model);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('the marks reverted', async () => (await getApi()).marksOf(model.toString())?.unsaved === false);
  });

  test('Open the Sample Model copies the bundled sample into the workspace and opens it in QuantLens', async () => {
    const opened = await vscode.commands.executeCommand<vscode.Uri>('quantlens.openSample');
    assert.equal(opened?.toString(), workspaceFile('quantlens-sample/mnist-12.onnx').toString());
    for (const f of ['mnist-200-images-idx3-ubyte.gz', 'mnist-200-labels-idx1-ubyte.gz']) {
      const st = await vscode.workspace.fs.stat(workspaceFile(`quantlens-sample/${f}`));
      assert.ok(st.size > 0, f);
    }
    const doc = await waitForDocument(await getApi(), opened!);
    assert.equal(doc.summary?.nodeCount, 12);
    await waitFor('its tab', () => vscode.window.tabGroups.activeTabGroup.activeTab?.label === 'mnist-12.onnx');
    await closeAllEditors();
    await vscode.workspace.fs.delete(workspaceFile('quantlens-sample'), { recursive: true });
  });
});

suite('Auto Mixed Precision', () => {
  const model = workspaceFile('auto-mnist.onnx');

  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.copy(workspaceFile(MNIST), model, { overwrite: true });
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await closeAllEditors();
    await vscode.workspace.fs.delete(model).then(undefined, () => undefined);
  });

  test('the chosen plan opens as the editor\'s marks, one undoable edit', async function () {
    this.timeout(180_000);
    await openInQuantLens(model);
    await waitForDocument(await getApi(), model);
    const r = await vscode.commands.executeCommand<{ plan: Record<string, string>; met: boolean; keptAboveInt8: number; points: unknown[] } | undefined>(
      'quantlens.autoMixedPrecision', model, { data: workspaceFile(MNIST_IMAGES).fsPath, budget: 'sqnr >= 45', limit: 40 });
    assert.ok(r, 'a result');
    assert.ok(r.points.length > 1, 'every measured step is a point');
    assert.equal(Object.keys(r.plan).length, r.keptAboveInt8);
    assert.deepEqual((await getApi()).marksOf(model.toString())?.plan, r.plan, 'the plan is the marks');
    if (Object.keys(r.plan).length) {
      await waitFor('the tab to be dirty', () => findCustomTab(model)?.isDirty === true);
      await vscode.commands.executeCommand('undo');
      await waitFor('one undo to clear the plan', async () => Object.keys((await getApi()).marksOf(model.toString())?.plan ?? { x: 1 }).length === 0);
    }
  });
});
