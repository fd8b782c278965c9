/**
 * The graph view end to end in a real VS Code (code-server in Chromium): open mnist-12.onnx and a
 * TFLite model from the explorer, check the accessible outline lists every node, and click a conv
 * to see its weights' shape and statistics, computed by the extension host from the file. Then the
 * first views of mobilenetv2-12-int8 and light_resnet50 (ResNet-50's 415 nodes, no name scopes):
 * legible labels at the input, every node in the outline at once, the hover card.
 *   node --import tsx --test test/e2e/graph.test.ts
 * References: python3-onnx + numpy for mnist-12 and light_resnet50; the summary's node count for the TFLite model.
 * Screenshots of the first views go to test-results/first-view-*.png on every run; on failure, a
 * screenshot and code-server's log too.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import {
  installExtensionUnderTest,
  prepareWorkspace,
  stepWithArtifacts,
  waitUntil,
  SAMPLE_MNIST,
  SHARED_MODELS,
  startSession,
  type Session,
} from '../integration/harness';
import { TEST_RESULTS_DIR as TEST_RESULTS } from '../../scripts/code-server';
import { commandsRegistered, openFromExplorer } from './workbench';

const SYSTEM_PYTHON = '/usr/bin/python3';
const TFLITE_NAME = 'kws_ref_model.tflite';
const TFLITE = path.join(SHARED_MODELS, 'tflite', 'mlperf-tiny', 'keyword_spotting', 'trained_models', TFLITE_NAME);
const MOBILENET_NAME = 'mobilenetv2-12-int8.onnx';
const MOBILENET = path.join(SHARED_MODELS, 'onnx', 'hwacc_design_garage', MOBILENET_NAME);
const RESNET_NAME = 'light_resnet50.onnx';
const RESNET = path.join(SHARED_MODELS, 'onnx', 'onnx-light', RESNET_NAME);
/** The smallest label (CSS px) the first view may show: graphView's design size is 12. */
const MIN_LABEL_PX = 9;

let session: Session | undefined;
let workspace: string | undefined;

function step(name: string, body: (page: Page) => Promise<void>): void {
  stepWithArtifacts('e2e-graph', () => session, name, body);
}


/** Opens every collapsed group through the outline's keyboard (Right on a closed group). */
async function expandAll(frame: Frame): Promise<void> {
  for (let round = 0; round < 100; round++) {
    const closed = frame.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]');
    if ((await closed.count()) === 0) return;
    const seq = await frame.getAttribute('[data-testid="graph-view"]', 'data-layout-seq');
    await closed.first().focus();
    await closed.first().press('ArrowRight');
    await frame.waitForFunction((s) => document.querySelector('[data-testid="graph-view"]')?.getAttribute('data-layout-seq') !== s, seq, { timeout: 15_000 });
  }
  throw new Error('groups kept appearing closed');
}

/** Op nodes in the outline (graph inputs and outputs are items too, with op Input/Output). */
async function outlineOps(frame: Frame): Promise<{ name: string; op: string }[]> {
  return frame.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) =>
    els.map((e) => ({ name: e.textContent ?? '', op: e.getAttribute('data-op') ?? '' })).filter((n) => n.op !== 'Input' && n.op !== 'Output'));
}

async function statsOf(frame: Frame, tensor: string): Promise<Record<string, string>> {
  const detail = `[data-testid="tensor-detail"][data-name="${tensor.replace(/"/g, '\\"')}"]`;
  await frame.waitForSelector(`${detail} [data-testid="tensor-stats"][data-state="ready"]`, { timeout: 30_000 });
  return frame.$$eval(`${detail} [data-testid="tensor-stats"] dd`, (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-stat') ?? '', e.textContent ?? ''])));
}

const close = (a: number, b: number, rel = 1e-4): boolean => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

describe('the graph view in code-server', () => {
  before(async () => {
    workspace = prepareWorkspace({ 'mnist-12.onnx': SAMPLE_MNIST, [TFLITE_NAME]: TFLITE, [MOBILENET_NAME]: MOBILENET, [RESNET_NAME]: RESNET });
    session = await startSession({ workspace, install: installExtensionUnderTest });
  });

  after(async () => {
    await session?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  step('the extension registers (its commands show in the palette)', async (page) => {
    await waitUntil('QuantLens commands in the command palette', page, () => commandsRegistered(page), 60_000);
  });

  step('mnist-12.onnx: the outline lists every node; clicking Convolution28 shows its weight shape and statistics', async (page) => {
    const ref = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', `
import json, sys, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
inits = {i.name: numpy_helper.to_array(i).astype('float64') for i in m.graph.initializer}
conv = [n for n in m.graph.node if n.name == 'Convolution28'][0]
w = inits[conv.input[1]]
print(json.dumps({'nodes': [[n.name, n.op_type] for n in m.graph.node], 'w': conv.input[1], 'shape': list(w.shape), 'min': w.min(), 'max': w.max(), 'mean': w.mean(), 'std': w.std(), 'count': int(w.size)}))`, SAMPLE_MNIST], { encoding: 'utf8' })) as
      { nodes: [string, string][]; w: string; shape: number[]; min: number; max: number; mean: number; std: number; count: number };
    const frame = await openFromExplorer(page, 'mnist-12.onnx');
    await expandAll(frame);
    const ops = await outlineOps(frame);
    assert.equal(ops.length, 12);
    assert.deepEqual(ops.map((n) => [n.name, n.op]).sort(), [...ref.nodes].sort());
    await frame.click('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("Convolution28")');
    await frame.waitForFunction(() => document.querySelector('[data-testid="prop-name"]')?.textContent === 'Convolution28');
    const type = await frame.textContent(`[data-testid="tensor-detail"][data-name="${ref.w}"] [data-testid="tensor-type"]`);
    assert.equal(type, `float32[${ref.shape.join(',')}]`);
    const stats = await statsOf(frame, ref.w);
    assert.equal(stats.count, String(ref.count));
    for (const k of ['min', 'max', 'mean', 'std'] as const) assert.ok(close(Number(stats[k]), ref[k]), `${k}: shown ${stats[k]}, numpy ${ref[k]}`);
    // The first page of values came from the host as well.
    await frame.waitForSelector('[data-testid="tensor-values"][data-state="ready"]', { timeout: 30_000 });
    assert.equal(await frame.textContent('[data-testid="values-range"]'), `1–100 of ${ref.count}`);
  });

  step(`${TFLITE_NAME}: the outline lists every node of the summary; a CONV_2D shows its int8 weights' shape and statistics`, async (page) => {
    const frame = await openFromExplorer(page, TFLITE_NAME);
    await expandAll(frame);
    const ops = await outlineOps(frame);
    const summaryCount = Number(await frame.textContent('[data-testid="node-count"]'));
    assert.ok(summaryCount > 0);
    assert.equal(ops.length, summaryCount);
    assert.equal(new Set(ops.map((n) => n.name)).size, ops.length, 'outline names repeat');
    const conv = ops.find((n) => n.op === 'CONV_2D');
    assert.ok(conv, 'no CONV_2D in the outline');
    await frame.click(`[data-testid="graph-outline"] [role="treeitem"][data-kind="node"][data-op="CONV_2D"] >> nth=0`);
    await frame.waitForFunction((n) => document.querySelector('[data-testid="prop-name"]')?.textContent === n, conv.name);
    // Its weight is the second input: a constant, shown with dtype and shape, and its statistics.
    const w = await frame.$$eval('[data-testid="prop-inputs"] tr', (rows) => rows.map((r) => [r.getAttribute('data-name'), r.getAttribute('data-dtype'), r.getAttribute('data-shape'), r.getAttribute('data-constant')]));
    const [name, dtype, shape, constant] = w[1];
    assert.equal(constant, 'true');
    assert.equal(dtype, 'int8');
    assert.match(shape ?? '', /^\[\d+,\d+,\d+,\d+\]$/);
    const type = await frame.textContent(`[data-testid="tensor-detail"][data-name="${name!.replace(/"/g, '\\"')}"] [data-testid="tensor-type"]`);
    assert.equal(type, `int8${shape}`);
    const stats = await statsOf(frame, name!);
    const count = JSON.parse(shape!).reduce((a: number, b: number) => a * b, 1) as number;
    assert.equal(stats.count, count.toLocaleString('en-US'));
    const [min, max] = [Number(stats.min), Number(stats.max)];
    assert.ok(min >= -128 && max <= 127 && min < max, `int8 range: ${min} … ${max}`);
    assert.ok(Number.isInteger(min) && Number.isInteger(max));
  });

  // The webview makes the bytes, the host asks where to save (VS Code's own save dialog) and writes.
  for (const format of ['png', 'svg'] as const) {
    step(`exporting the view as ${format.toUpperCase()} saves a valid file where the save dialog says`, async (page) => {
      const frame = await openFromExplorer(page, TFLITE_NAME);
      const target = path.join(workspace!, `kws_ref_model-graph.${format}`);
      await frame.click(`[data-testid="graph-export-${format}"]`);
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 20_000 });
      // The simple dialog proposes the model's folder and our file name; accept it.
      await waitUntil('the proposed file name', page, async () => (await input.inputValue()).endsWith(`kws_ref_model-graph.${format}`));
      await input.press('Enter');
      await waitUntil(`${target} to be written`, page, async () => fs.existsSync(target) && fs.statSync(target).size > 0);
      await frame.waitForFunction((f) => document.querySelector('[data-testid="graph-status"]')?.textContent === `Exported ${f}`, format.toUpperCase(), { timeout: 10_000 });
      const bytes = fs.readFileSync(target);
      if (format === 'png') assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      else {
        const svg = bytes.toString('utf8');
        assert.match(svg, /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        assert.ok(svg.trimEnd().endsWith('</svg>'));
        // The visible CONV_2D nodes are drawn, with their op type as text.
        assert.match(svg, />CONV_2D</);
      }
    });
  }

  /** Checks the first view is legible and saves a screenshot of it under test-results/. */
  async function firstView(page: Page, fileName: string): Promise<Frame> {
    const frame = await openFromExplorer(page, fileName);
    const labelPx = Number(await frame.getAttribute('[data-testid="graph-view"]', 'data-label-px'));
    fs.mkdirSync(TEST_RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(TEST_RESULTS, `first-view-${fileName.replace(/\.onnx$/, '')}.png`) });
    assert.ok(labelPx >= MIN_LABEL_PX, `${fileName}: labels at ${labelPx} px on the first view`);
    assert.ok(await frame.locator('[data-testid="graph-minimap"]').isVisible(), 'the minimap shows');
    return frame;
  }

  step(`${MOBILENET_NAME}: the first view is legible (labels ≥ ${MIN_LABEL_PX} px); hovering a QLinearConv shows its card with quantization`, async (page) => {
    const frame = await firstView(page, MOBILENET_NAME);
    // The view opens at the input, centred: walk down the middle of the canvas to the first QLinearConv.
    const box = (await frame.locator('[data-testid="graph-canvas"]').boundingBox())!;
    const tip = frame.locator('[data-testid="graph-tooltip"]');
    let found = false;
    for (let y = box.y + 20; y < box.y + box.height - 20 && !found; y += 14) {
      await page.mouse.move(box.x + box.width / 2, y);
      found = await frame.waitForSelector('[data-testid="graph-tooltip"]:not([hidden]) [data-testid="tooltip-op"]:text-is("QLinearConv")', { timeout: 700 }).then(() => true, () => false);
    }
    assert.ok(found, 'no QLinearConv card while hovering down the middle of the first view');
    assert.match((await tip.locator('[data-testid="tooltip-name"]').textContent()) ?? '', /^Conv_\d+_quant$/);
    assert.match((await tip.locator('[data-testid="tooltip-inputs"] tr').first().getAttribute('data-type')) ?? '', /^uint8\[/);
    assert.ok((await tip.locator('[data-testid="tooltip-quant"] tr').count()) > 0, 'quantization parameters in the card');
    await page.screenshot({ path: path.join(TEST_RESULTS, 'first-view-mobilenetv2-12-int8-tooltip.png') });
    await page.mouse.move(box.x + 4, box.y + box.height - 4);
    await tip.waitFor({ state: 'hidden', timeout: 5_000 });
  });

  step(`${RESNET_NAME} (no name scopes): legible first view; every node is in the outline without opening anything; ConstantOfShape weights fold into their consumers`, async (page) => {
    const ref = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', `
import json, sys, onnx
g = onnx.load(sys.argv[1]).graph
print(json.dumps([[n.name, n.op_type] for n in g.node]))`, RESNET], { encoding: 'utf8' })) as [string, string][];
    assert.equal(ref.length, 415);
    const frame = await firstView(page, RESNET_NAME);
    const ops = await outlineOps(frame);
    const expected = ref.filter(([, op]) => op !== 'ConstantOfShape');
    assert.equal(ref.length - expected.length, 239);
    assert.deepEqual(ops.map((n) => [n.name, n.op]).sort(), expected.sort());
    // Nothing had to be opened: no closed group, and no group named by an index range.
    assert.equal(await frame.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]').count(), 0);
    const labels = await frame.$$eval('[data-testid="graph-outline"] .qlg-label', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(labels.every((l) => !/^\d+\s*[–-]\s*\d+/.test(l)), labels.join(', '));
  });
});
