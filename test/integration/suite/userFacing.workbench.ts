/**
 * What the workbench shows, read from the page by the harness (probe.ts): the command palette and
 * the explorer offer *Quantize Model…* only on models it can quantize, and a quantize result is an
 * information unless a note is a real risk.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, getApi, MNIST, MNIST_IMAGES, MNIST_INT8, openInQuantLens, TFLITE, waitFor, waitForDocument, workspaceFile } from './helpers';
import { askWorkbench, type NotificationSeen } from './probe';

const QUANTIZE = 'Quantize Model';
const SUMMARY = 'Show Model Summary';

/** The palette's QuantLens entries, read once the list holds `expect` (rows appear as context keys settle). */
async function paletteEntries(expect: (rows: string[]) => boolean): Promise<string[]> {
  let rows: string[] = [];
  try {
    await waitFor('the command palette to list the expected QuantLens entries', async () => {
      await vscode.commands.executeCommand('workbench.action.quickOpen', '>QuantLens: ');
      rows = await askWorkbench({ kind: 'quickInputRows' });
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      return expect(rows);
    }, 20_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last rows: ${JSON.stringify(rows)}`);
  }
  return rows;
}

async function openLoaded(name: string): Promise<void> {
  await openInQuantLens(workspaceFile(name));
  await waitForDocument(await getApi(), workspaceFile(name));
}

/** The notification mentioning `text`, read from the notification centre (toasts hide after a while). */
async function notificationAbout(text: string): Promise<NotificationSeen> {
  let seen: NotificationSeen[] = [];
  try {
    return await waitFor(`a notification mentioning ${text}`, async () => {
      await vscode.commands.executeCommand('notifications.showList');
      seen = await askWorkbench({ kind: 'notifications' });
      return seen.find((n) => n.message.includes(text));
    }, 30_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; notifications: ${JSON.stringify(seen)}`);
  } finally {
    await vscode.commands.executeCommand('notifications.hideList');
  }
}

suite('The workbench offers commands where they apply', () => {
  suiteSetup(async () => {
    await closeAllEditors();
    await vscode.commands.executeCommand('notifications.clearAll');
  });
  suiteTeardown(closeAllEditors);

  test('the command palette offers Quantize Model… for a float ONNX model only', async function () {
    this.timeout(120_000);
    const has = (rows: string[], what: string) => rows.some((r) => r.includes(what));
    await openLoaded(MNIST);
    await paletteEntries((rows) => has(rows, SUMMARY) && has(rows, QUANTIZE));
    // Show Model Summary stays listed: the palette reads QuantLens entries, just not Quantize
    await openLoaded(TFLITE);
    await paletteEntries((rows) => has(rows, SUMMARY) && !has(rows, QUANTIZE));
    await openLoaded(MNIST_INT8);
    await paletteEntries((rows) => has(rows, SUMMARY) && !has(rows, QUANTIZE));
    await closeAllEditors();
  });

  test('the explorer offers Quantize Model… on .onnx files, not on .tflite files nor models seen to be quantized', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('workbench.view.explorer');
    const float = await askWorkbench({ kind: 'explorerMenu', file: MNIST });
    assert.ok(float.some((e) => e.includes(QUANTIZE)), `mnist-12.onnx menu: ${JSON.stringify(float)}`);
    const tflite = await askWorkbench({ kind: 'explorerMenu', file: TFLITE });
    assert.ok(tflite.some((e) => e.includes('Open Model in QuantLens')), `QuantLens's own entry is there: ${JSON.stringify(tflite)}`);
    assert.ok(!tflite.some((e) => e.includes(QUANTIZE)), `.tflite menu: ${JSON.stringify(tflite)}`);
    // opened in the previous test, where QuantLens saw its QLinear ops
    const int8 = await askWorkbench({ kind: 'explorerMenu', file: MNIST_INT8 });
    assert.ok(!int8.some((e) => e.includes(QUANTIZE)), `quantized model's menu: ${JSON.stringify(int8)}`);
  });

  test('refusing a quantized model is an error notification that says why', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.equal(await vscode.commands.executeCommand('quantlens.quantizeModel', workspaceFile(MNIST_INT8)), undefined);
    const n = await notificationAbout(`'${MNIST_INT8}' is already quantized`);
    assert.equal(n.severity, 'error', n.message);
  });

  test('a quantize result is an information when its only note is the opset raise, a warning for synthetic data', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('notifications.clearAll');
    const run = async (out: string, calibration: object) => {
      const summary = await vscode.commands.executeCommand<{ warnings: string[] } | undefined>('quantlens.quantizeModel', workspaceFile(MNIST), {
        out: workspaceFile(out).fsPath, recipe: { version: 1, mode: 'static', perChannel: true, calibration },
      });
      assert.ok(summary, `the run to ${out} returned a summary`);
      return summary;
    };
    const real = await run('mnist-12.notes.onnx', { data: workspaceFile(MNIST_IMAGES).fsPath, limit: 20 });
    // mnist-12 is opset 12; per-channel weights need 13: the run carries that note and no other
    assert.deepEqual(real.warnings.map((w) => w.replace(/\d+/g, 'N')), ['The opset was raised from N to N for per-channel weights.']);
    const info = await notificationAbout('mnist-12.notes.onnx');
    assert.equal(info.severity, 'info', info.message);
    assert.match(info.message, /opset was raised/);

    const synthetic = await run('mnist-12.synthetic.onnx', { synthetic: { count: 4 } });
    assert.ok(synthetic.warnings.length > 1, `synthetic data is flagged: ${JSON.stringify(synthetic.warnings)}`);
    const warning = await notificationAbout('mnist-12.synthetic.onnx');
    assert.equal(warning.severity, 'warning', warning.message);
    for (const f of ['mnist-12.notes.onnx', 'mnist-12.synthetic.onnx']) await vscode.workspace.fs.delete(workspaceFile(f));
  });
});
