/**
 * The webview in real Chromium receives the graph the way the host sends it, as UTF-8 JSON bytes
 * beside the state (SnapshotMessage.graphJson), and shows the same graph as from the view itself.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildGraphView } from '../../src/core/graphView';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import type { SnapshotMessage, ViewState } from '../../src/protocol';
import { packState } from '../../src/host/worker/viewJson';
import { SAMPLE_MODEL } from '../helpers/paths';
import { sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
before(async () => {
  harness = await startHarness();
});
after(async () => harness?.close());

async function shown(page: Page): Promise<{ nodes: string[]; status: string }> {
  await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
  const nodes = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"]', (els) => els.map((e) => e.textContent ?? ''));
  const status = await page.$eval('[data-testid="graph-view"]', (e) => e.querySelector('h1')?.getAttribute('title') ?? '');
  return { nodes, status };
}

test('a snapshot whose graph travels as bytes shows the same graph as one carrying the view', async () => {
  const model = await openModelFile(SAMPLE_MODEL);
  const state: ViewState = { kind: 'loaded', summary: summarize(model), openTimeMs: 1, graph: buildGraphView(model) };
  const packed = packState(state);
  assert.ok(packed.graphJson && packed.graphJson.length > 1000);

  const asObjects = await harness.browser.newPage();
  await asObjects.goto(harness.url);
  await sendToWebview(asObjects, { type: 'snapshot', revision: 1, fileName: 'mnist-12.onnx', state });
  const expected = await shown(asObjects);

  const asBytes = await harness.browser.newPage();
  await asBytes.goto(harness.url);
  const msg: Omit<SnapshotMessage, 'graphJson'> = { type: 'snapshot', revision: 1, fileName: 'mnist-12.onnx', state: packed.state };
  // Posted with a real Uint8Array, as VS Code delivers the host's buffer.
  await asBytes.evaluate(({ m, bytes }) => window.postMessage({ ...m, graphJson: new Uint8Array(bytes) }, '*'), { m: msg, bytes: [...packed.graphJson] });
  const got = await shown(asBytes);
  assert.ok(expected.nodes.length > 0);
  assert.deepEqual(got, expected);
  await asObjects.close();
  await asBytes.close();
});
