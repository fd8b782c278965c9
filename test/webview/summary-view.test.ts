/** The model summary view in real Chromium, fed by real summaries from the core. */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openModelFile } from '../../src/core/open';
import { summarize, type ModelSummary } from '../../src/core/summary';
import { PROTOCOL_VERSION } from '../../src/protocol';
import { SAMPLE_MODEL, sharedModel } from '../helpers/paths';
import { cspViolations, posted, sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let mnist: ModelSummary;

before(async () => {
  harness = await startHarness();
  mnist = summarize(await openModelFile(SAMPLE_MODEL));
});
after(async () => harness?.close());

describe('webview summary view', () => {
  test('sends ready with the protocol version, and nothing model-related is in the HTML', async () => {
    const page = await harness.open();
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    const msgs = await posted(page);
    assert.deepEqual(msgs[0], { type: 'ready', protocolVersion: PROTOCOL_VERSION });
    assert.equal(await page.locator('[data-testid="model-view"]').count(), 0);
    await page.close();
  });

  test('renders the mnist-12 summary: format, node count, inputs, outputs, op histogram', async () => {
    const page = await harness.open();
    await sendToWebview(page, { type: 'snapshot', revision: 1, fileName: 'mnist-12.onnx', state: { kind: 'loaded', summary: mnist, openTimeMs: 1 } });
    await page.waitForSelector('[data-testid="model-view"]');
    assert.equal(await page.textContent('[data-testid="model-format"]'), 'ONNX');
    assert.equal(await page.textContent('[data-testid="node-count"]'), String(mnist.nodeCount));
    const input = page.locator('[data-testid="inputs"] [data-testid="io-row"]');
    assert.equal(await input.count(), 1);
    assert.equal(await input.getAttribute('data-name'), 'Input3');
    assert.equal(await input.getAttribute('data-dtype'), 'float32');
    assert.equal(await input.getAttribute('data-shape'), '[1,1,28,28]');
    assert.equal(await page.locator('[data-testid="outputs"] [data-testid="io-row"]').getAttribute('data-name'), 'Plus214_Output_0');
    const rows = page.locator('[data-testid="op-row"]');
    const shown: Record<string, number> = {};
    for (let i = 0; i < (await rows.count()); i++) {
      shown[(await rows.nth(i).getAttribute('data-op'))!] = Number(await rows.nth(i).getAttribute('data-count'));
    }
    assert.deepEqual(shown, mnist.opHistogram);
    // The first row is the most frequent op.
    const max = Math.max(...Object.values(mnist.opHistogram));
    assert.equal(Number(await rows.first().getAttribute('data-count')), max);
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'rendered'));
    const rendered = (await posted(page)).find((m) => m.type === 'rendered');
    assert.deepEqual(rendered, { type: 'rendered', revision: 1, stateKind: 'loaded' });
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('renders a TFLite summary from the corpus', async () => {
    const s = summarize(await openModelFile(sharedModel('tflite', 'tflite-micro', 'hello_world', 'models', 'hello_world_int8.tflite')));
    const page = await harness.open();
    await sendToWebview(page, { type: 'snapshot', revision: 1, fileName: 'hello_world_int8.tflite', state: { kind: 'loaded', summary: s, openTimeMs: 1 } });
    await page.waitForSelector('[data-testid="model-view"]');
    assert.equal(await page.textContent('[data-testid="model-format"]'), 'TFLite');
    assert.equal(await page.textContent('[data-testid="node-count"]'), String(s.nodeCount));
    assert.equal(await page.textContent('[data-testid="quant-scheme"]'), s.quantization.scheme);
    await page.close();
  });

  test('hostile model strings are shown as text, never parsed as HTML', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const hostile: ModelSummary = {
      ...mnist,
      producer: '<script>window.__pwned=2</script>',
      inputs: [{ name: evil, dtype: 'float32', shape: ['<b>batch</b>', 3] }],
      opHistogram: { [evil]: 1 },
    };
    const page = await harness.open();
    await sendToWebview(page, { type: 'snapshot', revision: 1, fileName: '<i>evil</i>.onnx', state: { kind: 'loaded', summary: hostile, openTimeMs: 1 } });
    await page.waitForSelector('[data-testid="model-view"]');
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('main script, main b, main i').count(), 0);
    assert.equal(await page.locator('[data-testid="inputs"] td').first().textContent(), evil);
    assert.equal(await page.textContent('[data-testid="producer"]'), hostile.producer);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await page.close();
  });

  test('an error snapshot shows the error view with the message', async () => {
    const page = await harness.open();
    await sendToWebview(page, { type: 'snapshot', revision: 2, fileName: 'broken.onnx', state: { kind: 'error', message: "'broken.onnx' is truncated at byte 17.", code: 'truncated' } });
    await page.waitForSelector('[data-testid="error-view"]');
    assert.equal(await page.textContent('[data-testid="error-message"]'), "'broken.onnx' is truncated at byte 17.");
    assert.equal(await page.getAttribute('[data-testid="error-view"]', 'role'), 'alert');
    await page.close();
  });

  test('a stale snapshot (older revision) does not replace a newer one', async () => {
    const page = await harness.open();
    await sendToWebview(page, { type: 'snapshot', revision: 5, fileName: 'mnist-12.onnx', state: { kind: 'loaded', summary: mnist, openTimeMs: 1 } });
    await page.waitForSelector('[data-testid="model-view"]');
    await sendToWebview(page, { type: 'snapshot', revision: 4, fileName: 'mnist-12.onnx', state: { kind: 'error', message: 'old', code: 'io' } });
    await sendToWebview(page, { type: 'snapshot', revision: 6, fileName: 'mnist-12.onnx', state: { kind: 'loaded', summary: { ...mnist, nodeCount: 99 }, openTimeMs: 1 } });
    await page.waitForFunction(() => document.querySelector('[data-testid="node-count"]')?.textContent === '99');
    assert.equal(await page.locator('[data-testid="error-view"]').count(), 0);
    await page.close();
  });
});
