/**
 * The results panel in a real VS Code: Run Sensitivity Analysis on mnist-12 opens the model's panel
 * beside the graph, its webview draws one bar per measured layer, a layer chosen in the panel is
 * selected in the graph editor (revealNode, answered by the graph's own selection message) and its
 * histograms reach the panel, and an evaluation adds float against quantized. The drawing itself is checked in Chromium by
 * test/webview/results-panel.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, getApi, MNIST, MNIST_IMAGES, MNIST_INT8, MNIST_LABELS, openInQuantLens, sleep, waitFor, waitForDocument, workspaceFile } from './helpers';

interface Report { layers: Array<{ node: string; recovery: number }>; ranking: string[] }

suite('Results panel', () => {
  const model = workspaceFile('results-mnist.onnx');

  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.copy(workspaceFile(MNIST), model, { overwrite: true });
  });

  suiteTeardown(async () => {
    // As the Auto Mixed Precision suite does: a model the search marked closes without a save prompt.
    await openInQuantLens(model);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await closeAllEditors();
    await vscode.workspace.fs.delete(model).then(undefined, () => undefined);
  });

  test('Run Sensitivity Analysis opens the panel beside the graph and its webview draws a bar per layer', async function () {
    this.timeout(180_000);
    const api = await getApi();
    await openInQuantLens(model);
    await waitForDocument(api, model);
    const report = await vscode.commands.executeCommand<Report | undefined>('quantlens.runSensitivity', model, { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 16 });
    assert.ok(report && report.layers.length >= 4, 'the analysis measured the layers');
    const info = await waitFor('the panel to draw the finished results', () => {
      const i = api.resultsPanelOf(model.toString());
      return i?.state?.layers && !i.state.layers.running && i.rendered?.revision === i.state.revision ? i : undefined;
    }, 60_000);
    assert.equal(info.visible, true);
    assert.equal(info.state!.layers!.layers.length, report.layers.length);
    assert.equal(info.state!.layers!.metric, 'sensitivity');
    assert.equal(info.rendered!.bars, report.layers.length, 'the webview drew one bar per layer');
    // The panel is a tab of its own, not in the graph editor's group: the graph stays visible beside it.
    const groups = vscode.window.tabGroups.all;
    const graphGroup = groups.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputCustom && t.input.uri.toString() === model.toString()));
    const panelGroup = groups.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Results: results-mnist.onnx'));
    assert.ok(graphGroup && panelGroup && graphGroup !== panelGroup, 'panel and graph side by side');
  });

  test('a layer chosen in the panel is selected in the graph editor and its histograms reach the panel; malformed messages are dropped', async function () {
    this.timeout(60_000);
    const api = await getApi();
    const layers = api.resultsPanelOf(model.toString())!.state!.layers!.layers;
    const top = [...layers].sort((a, b) => b.metrics.sensitivity! - a.metrics.sensitivity!)[0]!.node;
    const other = layers.find((l) => l.node !== top)!.node;
    for (const node of [top, other]) {
      assert.equal(api.resultsPanelMessage(model.toString(), { type: 'selectLayers', nodes: [node] }), true);
      await waitFor(`the graph to select ${node}`, () => api.selectionOf(model.toString())?.join() === node);
    }
    for (const bad of [{ type: 'selectLayers', nodes: 'x' }, { type: 'selectLayers', nodes: [] }, { type: 'selectLayers', nodes: [top], extra: 1 }, { type: 'eval', code: '1' }]) {
      api.resultsPanelMessage(model.toString(), bad);
    }
    await sleep(500);
    assert.deepEqual(api.selectionOf(model.toString()), [other], 'no malformed message moved the selection');
    // The selected layer's histograms, computed in a worker on the data the analysis used.
    const detail = await waitFor(`${other}'s histograms in the panel`, () => {
      const d = api.resultsPanelOf(model.toString())?.detail;
      return d?.node === other && !d.running ? d : undefined;
    }, 45_000);
    assert.equal(detail.error, undefined);
    assert.equal(detail.histograms?.node, other);
    assert.ok(detail.histograms!.activation.histogram.values > 0, 'activations were binned');
    // The graph's selection reaches the panel's state the next time it is sent.
    await vscode.commands.executeCommand('quantlens.showResultsPanel', model);
    await waitFor('the panel state to carry the selection', () => api.resultsPanelOf(model.toString())?.state?.selected.join() === other);
  });

  test('Evaluate Quantized Model… adds float against quantized with the interval to the same panel', async function () {
    this.timeout(120_000);
    const api = await getApi();
    await vscode.commands.executeCommand('quantlens.evaluateQuantized', model, {
      quantized: workspaceFile(MNIST_INT8).fsPath, data: workspaceFile(MNIST_IMAGES).fsPath, labels: workspaceFile(MNIST_LABELS).fsPath, limit: 100,
    });
    const info = await waitFor('the evaluation in the panel', () => {
      const i = api.resultsPanelOf(model.toString());
      return i?.state?.evaluation && i.rendered?.revision === i.state.revision ? i : undefined;
    }, 60_000);
    const e = info.state!.evaluation!;
    assert.equal(e.samples, 100);
    assert.deepEqual(e.models.map((m) => m.role), ['float', 'quantized']);
    const top1 = e.deltas.find((d) => d.metric === 'top1');
    assert.ok(top1?.ci && top1.ci.low <= top1.delta && top1.delta <= top1.ci.high, JSON.stringify(top1));
    assert.equal(info.state!.layers?.layers.length, info.rendered!.bars, 'the sensitivity bars are still there');
    const panels = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Results: results-mnist.onnx');
    assert.equal(panels.length, 1, 'one panel per model');
  });

  test('Check Robustness… adds each model\'s curve per kind of shift', async function () {
    this.timeout(180_000);
    const api = await getApi();
    const r = await vscode.commands.executeCommand<{ rows: Array<{ kind: string; level: number; float?: number; quantized?: number }> } | undefined>('quantlens.checkRobustness', model, {
      quantized: workspaceFile(MNIST_INT8).fsPath, data: workspaceFile(MNIST_IMAGES).fsPath, labels: workspaceFile(MNIST_LABELS).fsPath, limit: 40,
    });
    assert.ok(r && r.rows.length > 1);
    const info = await waitFor('the robustness curves in the panel', () => {
      const i = api.resultsPanelOf(model.toString());
      return i?.state?.robustness && i.rendered?.revision === i.state.revision ? i : undefined;
    }, 60_000);
    const rob = info.state!.robustness!;
    assert.equal(rob.metric, 'top-1 accuracy');
    // The text report opened in the panel's group first; the panel is shown on top of it.
    await waitFor('the panel on top of the text report', () => api.resultsPanelOf(model.toString())?.visible === true);
    assert.ok(vscode.workspace.textDocuments.some((d) => d.uri.path.endsWith('(robustness).md')), 'the text report opened too');
    // Every shifted row is a point of each model; the unshifted row is level 0 of every kind's curve.
    const kinds = new Set(r.rows.filter((x) => x.kind !== 'none').map((x) => x.kind));
    const shifted = r.rows.filter((x) => x.kind !== 'none').length;
    assert.equal(rob.points.length, 2 * (shifted + kinds.size));
    for (const row of r.rows.filter((x) => x.kind !== 'none')) {
      assert.equal(rob.points.find((p) => p.kind === row.kind && p.level === row.level && p.model === 'quantized')?.value, row.quantized);
    }
  });

  test('Auto Mixed Precision… draws its measured plans in the panel; a point selects its layers in the graph', async function () {
    this.timeout(180_000);
    const api = await getApi();
    const r = await vscode.commands.executeCommand<{ points: Array<{ cost: number; plan: Record<string, string> }> } | undefined>(
      'quantlens.autoMixedPrecision', model, { data: workspaceFile(MNIST_IMAGES).fsPath, budget: 'sqnr >= 45', limit: 40 });
    assert.ok(r && r.points.length > 1, 'the search measured plans');
    try {
      const info = await waitFor('the Pareto plans in the panel', () => {
        const i = api.resultsPanelOf(model.toString());
        return i?.state?.pareto && i.rendered?.revision === i.state.revision ? i : undefined;
      }, 60_000);
      const points = info.state!.pareto!.points;
      assert.deepEqual(points.map((p) => p.x), r.points.map((p) => p.cost));
      assert.equal(points.filter((p) => p.chosen).length >= 1, true, 'the chosen plan is marked');
      const withLayers = points.find((p) => p.nodes.length > 0)!;
      api.resultsPanelMessage(model.toString(), { type: 'selectLayers', nodes: withLayers.nodes });
      await waitFor('the graph to select the plan\'s first layer', () => api.selectionOf(model.toString())?.join() === withLayers.nodes[0]);
    } finally {
      // The chosen plan became the marks (one edit): undo it so the editor closes clean.
      await openInQuantLens(model);
      await vscode.commands.executeCommand('undo');
      await waitFor('the marks undone', () => Object.keys(api.marksOf(model.toString())?.plan ?? { x: 1 }).length === 0);
    }
  });
});

