/**
 * Evaluate Quantized Model…, Check Robustness… and Export Report… in a real VS Code, on mnist-12
 * against onnxruntime's own int8 model: the evaluation runs in a worker, its readable report opens
 * beside the model, and the report exports as self-contained HTML. The numbers are checked against
 * independent counts in test/corpus/evaluate-mnist.test.ts and robustness-mnist.test.ts; here the
 * editor's path is.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { buildGraphView } from '../../../src/core/graphView';
import { openModelFile } from '../../../src/core/open';
import { closeAllEditors, getApi, MNIST, MNIST_IMAGES, MNIST_INT8, MNIST_LABELS, openInQuantLens, waitFor, waitForDocument, workspaceFile } from './helpers';

interface Eval {
  samples: number;
  models: Array<{ role: string; classification?: { top1: number } }>;
  deltas?: Array<{ metric: string; delta: number; ci: { low: number; high: number } }>;
}

suite('Evaluate, check robustness and export a report', () => {
  const model = workspaceFile(MNIST);
  const html = workspaceFile('mnist-12.report.html');

  suiteSetup(async () => {
    await closeAllEditors();
    await openInQuantLens(model);
    await waitForDocument(await getApi(), model);
  });

  suiteTeardown(async () => {
    await closeAllEditors();
    await vscode.workspace.fs.delete(html).then(undefined, () => undefined);
  });

  test('Export Report… before any result says what to run first', async () => {
    // A model no other suite measured (results are kept per model for the whole window).
    const fresh = workspaceFile('unmeasured-mnist-12.onnx');
    await vscode.workspace.fs.copy(model, fresh, { overwrite: true });
    try {
      assert.equal(await vscode.commands.executeCommand('quantlens.exportReport', fresh, { format: 'html', file: html.fsPath }), undefined);
      assert.equal(fs.existsSync(html.fsPath), false);
    } finally {
      await vscode.workspace.fs.delete(fresh).then(undefined, () => undefined);
    }
  });

  test('Evaluate Quantized Model… reports both accuracies and the delta\'s interval, and opens the report beside', async function () {
    this.timeout(120_000);
    const r = await vscode.commands.executeCommand<Eval | undefined>('quantlens.evaluateQuantized', model, {
      quantized: workspaceFile(MNIST_INT8).fsPath, data: workspaceFile(MNIST_IMAGES).fsPath, labels: workspaceFile(MNIST_LABELS).fsPath, limit: 300,
    });
    assert.ok(r, 'a report');
    assert.equal(r.samples, 300);
    const f = r.models.find((m) => m.role === 'float')?.classification?.top1;
    const q = r.models.find((m) => m.role === 'quantized')?.classification?.top1;
    assert.ok(f !== undefined && q !== undefined && f > 0.9 && q > 0.9, `${f} ${q}`);
    const top1 = r.deltas?.find((d) => d.metric === 'top1');
    assert.ok(top1 && Math.abs(top1.delta - (f - q)) < 1e-12 && top1.ci.low <= top1.delta && top1.delta <= top1.ci.high, JSON.stringify(top1));
    const doc = await waitFor('the evaluation report beside the model', () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'quantlens-results' && d.uri.path.endsWith('(evaluation).md')));
    assert.match(doc.getText(), /top-1/i);
  });

  test('Check Robustness… lists every shift it ran', async function () {
    this.timeout(180_000);
    const r = await vscode.commands.executeCommand<{ rows: Array<{ kind: string; level: number }> } | undefined>('quantlens.checkRobustness', model, {
      quantized: workspaceFile(MNIST_INT8).fsPath, data: workspaceFile(MNIST_IMAGES).fsPath, labels: workspaceFile(MNIST_LABELS).fsPath, limit: 40,
    });
    assert.ok(r && r.rows.length > 1);
    assert.ok(r.rows.some((x) => x.kind === 'noise') && r.rows.some((x) => x.kind === 'none'));
    const doc = await waitFor('the robustness report', () => vscode.workspace.textDocuments.find((d) => d.uri.path.endsWith('(robustness).md')));
    for (const row of r.rows) assert.ok(doc.getText().includes(`| ${row.kind} | ${row.level} |`), `${row.kind} ${row.level} in the table`);
  });

  test('Compare Models… measures every layer of a QDQ model against the float one and opens it beside', async function () {
    this.timeout(180_000);
    const qdq = workspaceFile('report-mnist.qdq.onnx');
    const q = await vscode.commands.executeCommand<{ output: string } | undefined>('quantlens.quantizeModel', model, {
      out: qdq.fsPath, recipe: { version: 1, mode: 'static', calibration: { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 40 } },
    });
    assert.equal(q?.output, qdq.fsPath);
    const r = await vscode.commands.executeCommand<{ layers: Array<{ node: string; metrics: Record<string, number> }> } | undefined>('quantlens.compareModels', model, {
      quantized: qdq.fsPath, data: workspaceFile(MNIST_IMAGES).fsPath, limit: 16,
    });
    assert.ok(r && r.layers.length >= 4, `${r?.layers.length} layers`);
    for (const l of r.layers) assert.ok(Number.isFinite(l.metrics.sqnrDb) && l.metrics.sqnrDb > 0, `${l.node}: ${l.metrics.sqnrDb}`);
    await waitFor('the quantized model beside', () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputCustom && t.input.uri.fsPath === qdq.fsPath)));
    await vscode.workspace.fs.delete(qdq);
  });

  test('Import Results… puts another tool\'s per-layer numbers on the model and names what matched nothing', async () => {
    const file = workspaceFile('mnist-qdq-loss.json');
    // onnxruntime qdq_loss_debug's compute_activation_error, as a user json.dumps it (tensor -> errors)
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(JSON.stringify({
      Convolution28_Output_0: { qdq_err: 31.5, xmodel_err: 30.25 },
      No_Such_Tensor: { qdq_err: 12, xmodel_err: 11 },
    })));
    try {
      await openInQuantLens(model);
      const r = await vscode.commands.executeCommand<{ layers: Array<{ node: string; metrics: Record<string, number> }>; unmatched: Array<{ name: string }> } | undefined>('quantlens.importResults', model, file.fsPath);
      assert.ok(r);
      assert.deepEqual(r.layers.map((l) => [l.node, l.metrics.sqnrDb]), [['Convolution28', 30.25]]);
      assert.deepEqual(r.unmatched.map((u) => u.name), ['No_Such_Tensor']);
    } finally {
      await vscode.workspace.fs.delete(file);
    }
  });

  test('Export Report… writes self-contained HTML with the charts inlined', async function () {
    this.timeout(60_000);
    const file = await vscode.commands.executeCommand<string>('quantlens.exportReport', model, { format: 'html', file: html.fsPath });
    assert.equal(file, html.fsPath);
    const text = fs.readFileSync(html.fsPath, 'utf8');
    assert.match(text, /<svg/);
    assert.doesNotMatch(text, /<script|src="http/i, 'no script, nothing fetched');
  });

  test('Export Report… from an open editor with sensitivity results embeds the graph with its overlay as an image', async function () {
    this.timeout(180_000);
    await openInQuantLens(model);
    const report = await vscode.commands.executeCommand<{ ranking: unknown[] } | undefined>('quantlens.runSensitivity', model, { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 16 });
    assert.ok(report && report.ranking.length > 0, 'sensitivity results');
    await openInQuantLens(model);
    await waitFor('the editor ready', () => getApi().then((a) => a.openDocuments().some((d) => d.uri === model.toString() && d.webviewReady) || undefined));
    const file = await vscode.commands.executeCommand<string>('quantlens.exportReport', model, { format: 'html', file: html.fsPath });
    assert.equal(file, html.fsPath);
    const text = fs.readFileSync(html.fsPath, 'utf8');
    const img = /<img alt="Graph with the ([^"]+) overlay" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)">/.exec(text);
    assert.ok(img, `a graph image in the report (${/<h2>Graph<\/h2>/.test(text) ? 'a Graph section without the expected img' : 'no Graph section'})`);
    const svg = Buffer.from(img[2], 'base64').toString('utf8');
    // MNIST has no groups: the graph shows every node of its view, and the image draws each as a box.
    const view = buildGraphView(await openModelFile(model.fsPath));
    assert.equal((svg.match(/<g class="node"/g) ?? []).length, view.nodes.length, 'one node box per node the graph shows');
    assert.match(svg, /<g class="legend" data-metric="sensitivity"/, 'the overlay legend');
    const results = await (await getApi()).layerResultsOf(model.toString());
    assert.ok(results && results.results.length > 0);
    for (const r of results.results) assert.ok(svg.includes(`data-name="${r.node}"`), `${r.node} in the image`);
  });

  test('Export Report… with the model not open writes the HTML without the graph, without waiting for an answer', async function () {
    this.timeout(60_000);
    await closeAllEditors();
    const t0 = Date.now();
    const file = await vscode.commands.executeCommand<string>('quantlens.exportReport', model, { format: 'html', file: html.fsPath });
    assert.equal(file, html.fsPath);
    const text = fs.readFileSync(html.fsPath, 'utf8');
    assert.match(text, /<svg/, 'the charts');
    assert.doesNotMatch(text, /<img|<h2>Graph<\/h2>/, 'no graph image');
    assert.ok(Date.now() - t0 < 9_000, `${Date.now() - t0} ms: no wait for the capture timeout`);
  });
});
