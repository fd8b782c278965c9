/**
 * Activation is cheap: the API comes back quickly and onnxruntime-node is not loaded. This file's
 * name sorts first, so it runs before any suite that runs a model in this extension host.
 */
import * as assert from 'node:assert/strict';
import { getExtension, onnxRuntimeTraces } from './helpers';

/** Budget for activation (no model parsing, no onnxruntime): generous for a busy 2-core machine. */
const ACTIVATION_BUDGET_MS = 3000;

suite('Activation', () => {
  test('activates cheaply: returns its API and does not load onnxruntime-node', async () => {
    const ext = getExtension();
    assert.deepEqual(onnxRuntimeTraces(), [], 'onnxruntime-node was loaded before QuantLens activated');
    const wasActive = ext.isActive;
    const started = performance.now();
    const api = await ext.activate();
    const activationMs = performance.now() - started;
    assert.equal(ext.isActive, true);
    assert.equal(typeof api.openDocuments, 'function');
    assert.equal(api.version, (ext.packageJSON as { version: string }).version);
    assert.deepEqual(api.openDocuments(), [], 'no model is open yet');
    if (!wasActive) {
      assert.ok(activationMs < ACTIVATION_BUDGET_MS, `activation took ${activationMs.toFixed(0)} ms (budget ${ACTIVATION_BUDGET_MS} ms)`);
    }
    assert.deepEqual(onnxRuntimeTraces(), [], 'activation loaded onnxruntime-node');
  });
});
