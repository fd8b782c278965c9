/**
 * Run Sensitivity Analysis in a real VS Code: every quantized layer of mnist-12 is measured in a
 * worker thread, the results are kept for the model (a reopened editor gets them at once), and the
 * recipe hover shows a layer's sensitivity. The numbers themselves are checked against the naive
 * method and for causality in test/corpus/sensitivity-causal.test.ts; here the editor's path is.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, getApi, MNIST, MNIST_IMAGES, openInQuantLens, waitFor, waitForDocument, workspaceFile } from './helpers';

/** mnist-12.onnx's node names (python3-onnx). */
const MNIST_NODES = new Set(['Convolution28', 'Plus30', 'ReLU32', 'Pooling66', 'Convolution110', 'Plus112', 'ReLU114', 'Pooling160', 'Times212_reshape0', 'Times212_reshape1', 'Times212', 'Plus214']);

interface Report { layers: Array<{ node: string; recovery: number }>; ranking: string[]; samples: number }

function hoverText(hovers: vscode.Hover[]): string {
  const md = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
  return md.replace(/&nbsp;/g, ' ').replace(/\\([\\`*_{}[\]()#+\-.!])/g, '$1');
}

suite('Run Sensitivity Analysis', () => {
  const model = workspaceFile('sens-mnist.onnx');
  const recipe = workspaceFile('sens-mnist.quantlens.json');

  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.copy(workspaceFile(MNIST), model, { overwrite: true });
  });

  suiteTeardown(async () => {
    await closeAllEditors();
    for (const f of [model, recipe]) await vscode.workspace.fs.delete(f).then(undefined, () => undefined);
  });

  test('measures every quantized layer, keeps the results for the model, and the recipe hover shows them', async function () {
    this.timeout(180_000);
    await openInQuantLens(model);
    await waitForDocument(await getApi(), model);
    const report = await vscode.commands.executeCommand<Report | undefined>('quantlens.runSensitivity', model, { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 16 });
    assert.ok(report, 'the analysis returned its report');
    assert.equal(report.samples, 16);
    assert.ok(report.layers.length >= 4, `${report.layers.length} layers`);
    assert.deepEqual([...report.ranking].sort(), report.layers.map((l) => l.node).sort(), 'every layer is ranked');
    const stored = await (await getApi()).layerResultsOf(model.toString());
    assert.ok(stored?.done);
    assert.equal(stored.results.length, report.layers.length);
    // Results carry the graph's node names: a fused layer 'Times212/MatMulAddFusion' is 'Times212'.
    const graphName = (n: string): string => (MNIST_NODES.has(n) ? n : n.slice(0, n.lastIndexOf('/')));
    for (const l of report.layers) {
      assert.ok(MNIST_NODES.has(graphName(l.node)), `${l.node} maps to a node of the graph`);
      assert.equal(stored.results.find((r) => r.node === graphName(l.node))?.values.sensitivity, l.recovery);
    }
    // The recipe hover names the layer's sensitivity and its rank.
    const top = graphName(report.ranking[0]!);
    await vscode.workspace.fs.writeFile(recipe, new TextEncoder().encode(JSON.stringify({ version: 1, mode: 'static', plan: { [top]: 'int16' } }, null, 2)));
    const doc = await vscode.workspace.openTextDocument(recipe);
    const pos = doc.positionAt(doc.getText().indexOf(`"${top}"`) + 2);
    const text = await waitFor('a hover with the sensitivity', async () => {
      const t = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', recipe, pos));
      return /sensitivity: keeping it float recovers/.test(t) ? t : undefined;
    });
    assert.match(text, /rank 1 of \d+/);
    assert.match(text, /output SQNR with only this layer int8: [\d.]+ dB/);
  });

  test('an int8 mark on a layer measured below the risk threshold is a Problem, with Keep in float and Use int16', async () => {
    const stored = await (await getApi()).layerResultsOf(model.toString());
    const node = stored!.results[0]!.node;
    await vscode.workspace.fs.writeFile(recipe, new TextEncoder().encode(JSON.stringify({ version: 1, mode: 'static', plan: { [node]: 'int8' } }, null, 2)));
    const doc = await vscode.workspace.openTextDocument(recipe);
    await vscode.window.showTextDocument(doc);
    const risky = () => vscode.languages.getDiagnostics(recipe).filter((d) => d.code === 'risky-int8');
    // At the default threshold (20 dB) mnist's layers are not risky; at 200 dB every measured one is.
    assert.equal(risky().length, 0);
    const config = vscode.workspace.getConfiguration('quantlens.recipe');
    await config.update('riskyInt8Db', 200, vscode.ConfigurationTarget.Global);
    try {
      const [d] = await waitFor('a risky-int8 Problem', () => (risky().length ? risky() : undefined));
      assert.match(d!.message, /int8 here alone drops the output SQNR to [\d.]+ dB/);
      const fixes = (await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', recipe, d!.range))
        .filter((a) => a.kind && vscode.CodeActionKind.QuickFix.contains(a.kind)).map((a) => a.title).sort();
      assert.deepEqual(fixes, ['Keep in float', 'Use int16']);
    } finally {
      await config.update('riskyInt8Db', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the Problem to clear at the default threshold', () => risky().length === 0);
  });
});
