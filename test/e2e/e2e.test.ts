/**
 * End to end in a real VS Code: code-server's workbench in Chromium, driven like a user would.
 *   node --import tsx --test test/e2e/e2e.test.ts
 * On failure: a screenshot and code-server's log in test-results/.
 *
 * Expected values for mnist-12.onnx come from python3-onnx 1.12 (see test/integration/suite/quantlens.suite.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import {
  installExtensionUnderTest,
  prepareWorkspace,
  stepWithArtifacts,
  waitUntil,
  SAMPLE_MNIST,
  startSession,
  waitInFrames,
  type Session,
} from '../integration/harness';

/** Bytes no ONNX or TFLite reader accepts (0xff starts a protobuf field with wire type 7). */
const CORRUPT = new Uint8Array(2048).map((_, i) => (i % 3 === 0 ? 0xff : (i * 131) & 0xff));

let session: Session | undefined;
let workspace: string | undefined;

function step(name: string, body: (page: Page) => Promise<void>): void {
  stepWithArtifacts('e2e', () => session, name, body);
}


/** The command palette's entries for `query`. */
async function paletteEntries(page: Page, query: string): Promise<string[]> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${query}`);
  await page.waitForTimeout(300);
  const labels = await page
    .locator('.quick-input-list .monaco-list-row')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? r.textContent ?? ''));
  await page.keyboard.press('Escape');
  return labels;
}

async function doubleClickInExplorer(page: Page, fileName: string): Promise<void> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: fileName });
  await row.first().waitFor({ state: 'visible', timeout: 20_000 });
  await row.first().dblclick();
}

/**
 * The frame of the active QuantLens webview showing `selector`. Fails fast, with a clear message, if
 * VS Code showed its "binary file" placeholder instead of the custom editor.
 */
async function quantLensFrame(page: Page, selector: string): Promise<Frame> {
  const binaryPlaceholder = page.getByText('The file is not displayed in the text editor', { exact: false });
  const deadline = Date.now() + 45_000;
  for (;;) {
    const hit = await waitInFrames(page, selector, 500).catch(() => undefined);
    if (hit) return hit.frame;
    if (await binaryPlaceholder.isVisible().catch(() => false)) {
      throw new Error('VS Code opened the model as a binary file, not in the QuantLens editor');
    }
    if (Date.now() > deadline) throw new Error(`no QuantLens webview showed ${selector} within 45 s`);
  }
}

async function text(frame: Frame, selector: string): Promise<string> {
  return (await frame.locator(selector).first().textContent())?.trim() ?? '';
}

async function ioRows(frame: Frame, list: 'inputs' | 'outputs'): Promise<Array<Record<string, string | null>>> {
  return frame
    .locator(`[data-testid="${list}"] [data-testid="io-row"]`)
    .evaluateAll((rows) =>
      rows.map((r) => ({ name: r.getAttribute('data-name'), dtype: r.getAttribute('data-dtype'), shape: r.getAttribute('data-shape') })),
    );
}

describe('QuantLens in code-server, driven through the workbench', () => {
  before(async () => {
    workspace = prepareWorkspace({ 'mnist-12.onnx': SAMPLE_MNIST }, { 'corrupt.onnx': CORRUPT });
    session = await startSession({ workspace, install: installExtensionUnderTest });
  });

  after(async () => {
    await session?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  // The real signal that the extension's contributions are registered: before that, a model opened
  // from the explorer gets VS Code's binary-file placeholder (real-vscode.md step 7).
  step('the command palette lists QuantLens commands once the extension is registered', async (page) => {
    const entries = await waitUntil('QuantLens commands in the command palette', page, async () => {
      const labels = await paletteEntries(page, 'QuantLens');
      return labels.some((l) => l.startsWith('QuantLens: Open Model in QuantLens')) ? labels : undefined;
    });
    assert.ok(entries.length > 0);
  });

  let mnist: Frame | undefined;

  step('double-clicking mnist-12.onnx in the explorer opens it in the QuantLens editor', async (page) => {
    await doubleClickInExplorer(page, 'mnist-12.onnx');
    mnist = await quantLensFrame(page, '[data-testid="model-view"]');
    await waitUntil('the tab of mnist-12.onnx', page, () =>
      page.locator('.tabs-container .tab.active', { hasText: 'mnist-12.onnx' }).count(),
    );
  });

  step('shows the format and the node count', async () => {
    assert.ok(mnist, 'the model view did not open');
    assert.equal(await text(mnist, '[data-testid="model-format"]'), 'ONNX');
    assert.equal(await text(mnist, '[data-testid="node-count"]'), '12');
    assert.ok(await mnist.locator('[data-testid="node-count"]').first().isVisible(), 'the node count is not visible');
  });

  step('shows the input Input3 float32 [1,1,28,28] and the output Plus214_Output_0', async () => {
    assert.ok(mnist, 'the model view did not open');
    assert.deepEqual(await ioRows(mnist, 'inputs'), [{ name: 'Input3', dtype: 'float32', shape: '[1,1,28,28]' }]);
    assert.deepEqual(await ioRows(mnist, 'outputs'), [{ name: 'Plus214_Output_0', dtype: 'float32', shape: '[1,10]' }]);
  });

  step('shows the op histogram (Conv 2, ...)', async () => {
    assert.ok(mnist, 'the model view did not open');
    const rows = await mnist
      .locator('[data-testid="op-histogram"] [data-testid="op-row"]')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-op'), Number(e.getAttribute('data-count'))] as const));
    const histogram = Object.fromEntries(rows);
    assert.equal(histogram.Conv, 2);
    assert.deepEqual(histogram, { Add: 3, Conv: 2, Relu: 2, MaxPool: 2, Reshape: 2, MatMul: 1 });
  });

  // Webview console errors reach the page's console. A CSP violation means part of the view was
  // silently dropped (e.g. inline style attributes under a nonce-only style-src).
  step('the QuantLens webview raises no Content Security Policy violations', async () => {
    assert.ok(session);
    const violations = session.consoleErrors.filter((m) => /Content Security Policy/i.test(m));
    assert.deepEqual(violations.slice(0, 3), [], `${violations.length} CSP violations in the workbench console`);
  });

  step('a corrupt model opens to the error view with a message', async (page) => {
    await doubleClickInExplorer(page, 'corrupt.onnx');
    const frame = await quantLensFrame(page, '[data-testid="error-view"]');
    const message = await text(frame, '[data-testid="error-view"]');
    assert.ok(message.length > 0, 'the error view shows no message');
    assert.equal(await frame.locator('[data-testid="model-view"]').count(), 0, 'the error view also shows a model');
  });
});
