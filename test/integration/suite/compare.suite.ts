/**
 * Compare Models… in a real VS Code: mnist-12 against a QDQ copy QuantLens quantizes here (the
 * per-layer analysis needs QDQ; onnxruntime's QOperator model is refused with a message). The two
 * editors are linked: a selection in one becomes the matched nodes' selection in the other, both
 * ways, as the webviews report it; the float model's per-layer SQNR reaches the quantized editor
 * under its op names and never on a Q/DQ node; closing an editor ends the link. The expected
 * nodes are read off the quantized graph's structure here (Convolution110 and the
 * DequantizeLinear nodes that give it its weight and bias), not taken from the matcher.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { buildGraphView, type GraphView } from '../../../src/core/graphView';
import { openModelFile } from '../../../src/core/open';
import { closeAllEditors, findCustomTab, getApi, MNIST, MNIST_IMAGES, openInQuantLens, waitFor, waitForDocument, workspaceFile } from './helpers';

interface Layers {
  layers: Array<{ node: string; metrics: Record<string, number> }>;
}

suite('Compare Models: linked float and quantized editors', () => {
  const model = workspaceFile(MNIST);
  const qdq = workspaceFile('compare-mnist.qdq.onnx');
  let layers: Layers['layers'];
  let qView: GraphView;

  suiteSetup(async function () {
    this.timeout(240_000);
    await closeAllEditors();
    const api = await getApi();
    await openInQuantLens(model);
    await waitForDocument(api, model);
    const q = await vscode.commands.executeCommand<{ output: string } | undefined>('quantlens.quantizeModel', model, {
      out: qdq.fsPath, recipe: { version: 1, mode: 'static', calibration: { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 40 } },
    });
    assert.equal(q?.output, qdq.fsPath);
    await openInQuantLens(model);
    const r = await vscode.commands.executeCommand<Layers | undefined>('quantlens.compareModels', model, {
      quantized: qdq.fsPath, data: workspaceFile(MNIST_IMAGES).fsPath, limit: 16,
    });
    assert.ok(r && r.layers.length >= 4, `${r?.layers.length} layers`);
    layers = r.layers;
    qView = buildGraphView(await openModelFile(qdq.fsPath));
  });

  suiteTeardown(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.delete(qdq).then(undefined, () => undefined);
  });

  test('both editors are linked, each naming the other', async () => {
    const api = await getApi();
    const f = await waitFor('the float editor linked', () => api.compareLinkOf(model.toString()));
    const q = await waitFor('the quantized editor linked', () => api.compareLinkOf(qdq.toString()));
    assert.deepEqual([f.side, f.peer], ['float', 'compare-mnist.qdq.onnx']);
    assert.deepEqual([q.side, q.peer], ['quantized', 'mnist-12.onnx']);
  });

  test('the float layers\' SQNR reached the quantized editor under its op names, none on Q/DQ', async () => {
    const api = await getApi();
    const overlay = await waitFor('the overlay sent to the quantized editor', () => api.compareLinkOf(qdq.toString())?.quantizedOverlay);
    const byName = new Map(qView.nodes.map((n) => [n.name, n]));
    const got = new Map(overlay.results.map((x) => [x.node, x.values.sqnrDb]));
    for (const l of layers) assert.equal(got.get(l.node), l.metrics.sqnrDb, `${l.node}: the float layer's SQNR on the quantized op of that name`);
    for (const x of overlay.results) {
      const n = byName.get(x.node);
      assert.ok(n && n.kind === 'op' && n.opType !== 'QuantizeLinear' && n.opType !== 'DequantizeLinear', `${x.node} is an op of the quantized graph, not a quantizer`);
    }
    assert.equal(overlay.results.length, layers.length);
  });

  test('selecting Convolution110 in the float editor selects its match in the quantized one, and back', async function () {
    this.timeout(60_000);
    const api = await getApi();
    // Convolution110 and the DequantizeLinear nodes feeding it its constants (weight and bias).
    const conv = qView.nodes.find((n) => n.name === 'Convolution110')!;
    const feeders = conv.inputs.map((t) => qView.tensors[t]?.producer ?? -1).filter((p) => p >= 0).map((p) => qView.nodes[p]!)
      .filter((p) => p.opType === 'DequantizeLinear' && qView.tensors[p.inputs[0]!]?.constant);
    assert.ok(feeders.length >= 1, 'the QDQ Conv reads a dequantized weight');
    const expected = [conv.name, ...feeders.map((n) => n.name)].sort();

    await vscode.commands.executeCommand('workbench.action.focusFirstEditorGroup');
    assert.equal(await vscode.commands.executeCommand('quantlens.revealNode', model, 'Convolution110'), true);
    await waitFor('the float editor to select Convolution110', () => api.selectionOf(model.toString())?.join() === 'Convolution110');
    await waitFor(`the quantized editor to select ${expected.join(', ')}`, () => api.selectionOf(qdq.toString())?.slice().sort().join() === expected.join() || undefined);
    assert.equal(findCustomTab(qdq)?.group.viewColumn, vscode.ViewColumn.Two, 'the quantized editor stays beside');

    // And back: a selection in the quantized editor (one of Convolution28's quantizers) selects the float op.
    const conv28 = qView.nodes.find((n) => n.name === 'Convolution28')!;
    const weightDq = conv28.inputs.map((t) => qView.tensors[t]?.producer ?? -1).filter((p) => p >= 0).map((p) => qView.nodes[p]!)
      .find((p) => p.opType === 'DequantizeLinear' && qView.tensors[p.inputs[0]!]?.constant)!;
    await vscode.commands.executeCommand('workbench.action.focusSecondEditorGroup');
    assert.equal(await vscode.commands.executeCommand('quantlens.revealNode', qdq, weightDq.name), true);
    await waitFor('the float editor to select Convolution28', () => api.selectionOf(model.toString())?.join() === 'Convolution28');
    // The float editor's answer did not bounce back: the quantized editor keeps what was clicked.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(api.selectionOf(qdq.toString()), [weightDq.name]);
  });

  test('closing the quantized editor ends the link', async () => {
    const api = await getApi();
    const tab = findCustomTab(qdq);
    assert.ok(tab);
    await vscode.window.tabGroups.close(tab);
    await waitFor('the link to end', () => api.compareLinkOf(model.toString()) === undefined || undefined);
  });
});
