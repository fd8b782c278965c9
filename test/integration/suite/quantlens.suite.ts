/**
 * Integration tests inside a real VS Code extension host (code-server here, desktop VS Code through
 * @vscode/test-cli elsewhere). Mocha TDD UI; only the `vscode` API and Node built-ins.
 *
 * Reference values, independent of QuantLens's own parsers:
 * - mnist-12.onnx, from python3-onnx 1.12 (`onnx.load` → graph.node / graph.input / graph.output):
 *   12 nodes {Add 3, Conv 2, Relu 2, MaxPool 2, Reshape 2, MatMul 1}; input Input3 float [1,1,28,28];
 *   output Plus214_Output_0 float [1,10].
 * - hello_world_float.tflite, from `flatc --json` with TFLite's schema and ../shared/models/MANIFEST.md:
 *   3 operators, all FULLY_CONNECTED; input serving_default_dense_input:0 FLOAT32 shape [1,1]
 *   (shape_signature [-1,1]: dynamic batch); output StatefulPartitionedCall:0 FLOAT32 [1,1] ([-1,1]).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  closeAllEditors,
  findCustomTab,
  getApi,
  getExtension,
  MNIST,
  MNIST_IMAGES,
  openInQuantLens,
  TFLITE,
  VIEW_TYPE,
  waitFor,
  waitForDocument,
  workspaceFile,
  onnxRuntimeTraces,
} from './helpers';

/**
 * Runs quantlens.showModelSummary until it answers. The tab turns active in the workbench a moment
 * before the extension host hears that its panel became active, so one call right after a tab
 * switch can still see the previous editor.
 */
async function summaryOfActiveEditor(): Promise<{ nodeCount: number }> {
  return waitFor('quantlens.showModelSummary to return a summary', () =>
    vscode.commands.executeCommand<{ nodeCount: number } | undefined>('quantlens.showModelSummary'),
  );
}

/** ONNX protobuf that cannot parse: 0xff bytes make wire type 7, which does not exist. */
function corruptBytes(): Uint8Array {
  const bytes = new Uint8Array(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 3 === 0 ? 0xff : (i * 131) & 0xff;
  return bytes;
}

suite('QuantLens in a real VS Code', () => {
  suiteSetup(async () => {
    await closeAllEditors();
    for (const name of [MNIST, TFLITE]) {
      await vscode.workspace.fs.stat(workspaceFile(name)).then(
        () => undefined,
        () => assert.fail(`fixture ${name} is missing from the workspace ${workspaceFile('').fsPath}`),
      );
    }
  });

  suiteTeardown(async () => {
    await closeAllEditors();
  });

  test('vscode.openWith opens mnist-12.onnx in a quantlens.modelEditor tab', async () => {
    const uri = workspaceFile(MNIST);
    const tab = await openInQuantLens(uri);
    assert.ok(tab.input instanceof vscode.TabInputCustom);
    assert.equal(tab.input.viewType, VIEW_TYPE);
    assert.equal(tab.input.uri.toString(), uri.toString());
    assert.equal(tab.label, MNIST);
  });

  test('the API reports the summary of mnist-12.onnx and its webview becomes ready', async () => {
    const api = await getApi();
    const uri = workspaceFile(MNIST);
    const doc = await waitForDocument(api, uri);
    assert.equal(doc.error, undefined);
    const s = doc.summary;
    assert.ok(s);
    assert.equal(s.format, 'onnx');
    assert.deepEqual(s.inputs, [{ name: 'Input3', dtype: 'float32', shape: [1, 1, 28, 28] }]);
    assert.deepEqual(s.outputs, [{ name: 'Plus214_Output_0', dtype: 'float32', shape: [1, 10] }]);
    assert.equal(s.nodeCount, 12);
    assert.deepEqual(s.opHistogram, { Add: 3, Conv: 2, Relu: 2, MaxPool: 2, Reshape: 2, MatMul: 1 });
    await waitFor('the mnist-12.onnx webview to report ready', () =>
      api.openDocuments().some((d) => d.uri === uri.toString() && d.webviewReady),
    );
  });

  test('quantlens.showModelSummary returns the active model\'s summary', async () => {
    const api = await getApi();
    const uri = workspaceFile(MNIST);
    await openInQuantLens(uri);
    const expected = (await waitForDocument(api, uri)).summary;
    assert.ok(expected);
    const summary = await summaryOfActiveEditor();
    assert.deepEqual(summary, expected);
    assert.equal(summary.nodeCount, 12);
  });

  test('a corrupt .onnx gives an error entry, not a crash, and the extension host carries on', async () => {
    const api = await getApi();
    const corrupt = workspaceFile('corrupt.onnx');
    await vscode.workspace.fs.writeFile(corrupt, corruptBytes());
    const tab = await openInQuantLens(corrupt);
    assert.equal((tab.input as vscode.TabInputCustom).viewType, VIEW_TYPE);
    const doc = await waitForDocument(api, corrupt);
    assert.equal(doc.summary, undefined);
    assert.equal(typeof doc.error, 'string');
    assert.ok(doc.error!.length > 0, 'the error entry has a message');
    // The summary command on a broken model answers (no summary) instead of throwing. Polled, as
    // the extension may still see mnist-12.onnx as active for a moment.
    await waitFor('quantlens.showModelSummary to answer "no summary" for the corrupt model', async () =>
      (await vscode.commands.executeCommand('quantlens.showModelSummary')) === undefined,
    );

    // Still alive and still working: the extension answers and a good model opens again.
    assert.equal(getExtension().isActive, true);
    const mnist = workspaceFile(MNIST);
    await openInQuantLens(mnist);
    assert.equal((await summaryOfActiveEditor()).nodeCount, 12);
  });

  test('quantlens.openModel opens a TFLite model: hello_world_float.tflite', async () => {
    const api = await getApi();
    const uri = workspaceFile(TFLITE);
    await vscode.commands.executeCommand('quantlens.openModel', uri);
    const tab = await waitFor('an active QuantLens tab for the TFLite model', () => {
      const t = findCustomTab(uri);
      return t?.isActive ? t : undefined;
    });
    assert.equal((tab.input as vscode.TabInputCustom).viewType, VIEW_TYPE);
    const doc = await waitForDocument(api, uri);
    assert.equal(doc.error, undefined);
    const s = doc.summary;
    assert.ok(s);
    assert.equal(s.format, 'tflite');
    assert.equal(s.nodeCount, 3);
    assert.deepEqual(s.opHistogram, { FULLY_CONNECTED: 3 });
    // The batch dimension is dynamic (shape_signature -1): reported as 1 (shape) or null (unknown).
    const io = (list: typeof s.inputs) => list.map((v) => ({ ...v, shape: v.shape?.map((d, i) => (i === 0 && d === null ? 1 : d)) }));
    assert.deepEqual(io(s.inputs), [{ name: 'serving_default_dense_input:0', dtype: 'float32', shape: [1, 1] }]);
    assert.deepEqual(io(s.outputs), [{ name: 'StatefulPartitionedCall:0', dtype: 'float32', shape: [1, 1] }]);
    await waitFor('the TFLite webview to report ready', () =>
      api.openDocuments().some((d) => d.uri === uri.toString() && d.webviewReady),
    );
  });

  test('a model file shown by the text editor (the startup race) is reopened in QuantLens', async () => {
    await closeAllEditors();
    const uri = workspaceFile(MNIST);
    const isText = (t: vscode.Tab) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString();
    const isOurs = (t: vscode.Tab) => t.input instanceof vscode.TabInputCustom && t.input.uri.toString() === uri.toString() && t.input.viewType === VIEW_TYPE;
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    await vscode.commands.executeCommand('vscode.openWith', uri, 'default');
    await waitFor('the text editor tab (or an immediate fix-up)', () => tabs().some((t) => isText(t) || isOurs(t)));
    await vscode.commands.executeCommand('quantlens.reopenModelTabs');
    await waitFor('the model to show in the QuantLens editor', () => tabs().some(isOurs));
    assert.equal(tabs().filter(isText).length, 0, 'the binary-file placeholder tab is closed');
    await closeAllEditors();
  });

  test('QuantLens: Quantize Model… writes a calibrated int8 QDQ model beside the source, which opens in QuantLens', async function () {
    this.timeout(120_000);
    const src = workspaceFile(MNIST);
    const before = Buffer.from(await vscode.workspace.fs.readFile(src));
    const out = workspaceFile('mnist-12.int8.onnx');
    const summary = (await vscode.commands.executeCommand('quantlens.quantizeModel', src, {
      out: out.fsPath,
      recipe: { version: 1, mode: 'static', perChannel: true, calibration: { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 50 } },
    })) as { output: string; quantizedCount: number; sizeAfter: number; sizeBefore: number; calibration?: { samples: number } } | undefined;
    assert.ok(summary, 'the command returned a summary (no error)');
    assert.equal(summary.output, out.fsPath);
    assert.ok(summary.quantizedCount > 0);
    assert.equal(summary.calibration?.samples, 50);
    assert.ok(summary.sizeAfter < 0.5 * summary.sizeBefore, `${summary.sizeAfter} vs ${summary.sizeBefore}`);
    assert.deepEqual(Buffer.from(await vscode.workspace.fs.readFile(src)), before, 'the source model is untouched');
    // The output is a real model: QuantLens opens it and sees QDQ quantization.
    const api = await getApi();
    await vscode.commands.executeCommand('vscode.openWith', out, VIEW_TYPE);
    const doc = await waitForDocument(api, out);
    assert.equal(doc.error, undefined);
    assert.equal(doc.summary?.quantization.scheme, 'qdq');
    // Bad input: an output over the source is refused, and nothing is written.
    const refused = await vscode.commands.executeCommand('quantlens.quantizeModel', src, { out: src.fsPath, recipe: { version: 1, mode: 'dynamic' } });
    assert.equal(refused, undefined);
    assert.deepEqual(Buffer.from(await vscode.workspace.fs.readFile(src)), before, 'the source model is still untouched');
    await closeAllEditors();
  });

  test('Quantize Model… runs a recipe file: its relative data path resolves beside it, a broken one is refused', async function () {
    this.timeout(120_000);
    const src = workspaceFile(MNIST);
    const recipe = workspaceFile('mnist.quantlens.json');
    await vscode.workspace.fs.writeFile(recipe, Buffer.from(JSON.stringify({ version: 1, mode: 'static', calibration: { data: MNIST_IMAGES, limit: 30, method: 'percentile' } })));
    const out = workspaceFile('mnist-12.recipe.onnx');
    const summary = (await vscode.commands.executeCommand('quantlens.quantizeModel', src, { out: out.fsPath, recipePath: recipe.fsPath })) as
      { output: string; quantizedCount: number; calibration?: { samples: number; method: string } } | undefined;
    assert.ok(summary, 'the command returned a summary (no error)');
    assert.equal(summary.output, out.fsPath);
    assert.equal(summary.calibration?.samples, 30);
    assert.equal(summary.calibration?.method, 'percentile');
    // a recipe that does not parse: refused, nothing written
    const bad = workspaceFile('bad.quantlens.json');
    await vscode.workspace.fs.writeFile(bad, Buffer.from('{ "version": 1, "mode": "sideways" }'));
    const out2 = workspaceFile('mnist-12.bad.onnx');
    assert.equal(await vscode.commands.executeCommand('quantlens.quantizeModel', src, { out: out2.fsPath, recipePath: bad.fsPath }), undefined);
    await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(out2)), 'no output for a broken recipe');
    for (const f of [recipe, bad, out]) await vscode.workspace.fs.delete(f);
  });

  test('a *.quantlens.json recipe is validated against the contributed JSON schema', async () => {
    const uri = workspaceFile('bad.quantlens.json');
    await vscode.workspace.fs.writeFile(uri, Buffer.from('{\n  "version": 1,\n  "mode": "turbo",\n  "perChannel": "yes"\n}\n'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diags = await waitFor('schema diagnostics on the recipe', () => {
      const d = vscode.languages.getDiagnostics(uri);
      return d.length >= 2 ? d : undefined;
    }, 30_000);
    const lines = diags.map((d) => d.range.start.line).sort();
    assert.deepEqual(lines, [2, 3], JSON.stringify(diags.map((d) => d.message)));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  // Last, because it loads onnxruntime-node into this extension host on purpose: proves the check in
  // the first test can see the library when it is there, so its "not loaded" is meaningful.
  test('QuantLens: Show Output reveals the QuantLens log channel', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('quantlens.showOutput'));
    await vscode.commands.executeCommand('quantlens.showOutput');
  });

  test('the onnxruntime check sees onnxruntime-node once it is loaded', () => {
    const modulePath = path.join(getExtension().extensionPath, 'node_modules', 'onnxruntime-node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require(modulePath) as { InferenceSession?: unknown };
    assert.equal(typeof ort.InferenceSession, 'function');
    const traces = onnxRuntimeTraces();
    assert.ok(traces.some((t) => t.includes('onnxruntime-node')), `no trace found: ${JSON.stringify(traces)}`);
  });
});
