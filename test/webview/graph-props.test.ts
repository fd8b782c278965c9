/**
 * The graph view's properties panel in real Chromium, with the test playing the host: constant
 * statistics and histogram fetched on demand, the paged value view, quantization parameters,
 * Q/DQ folding, and exporting the view as PNG and SVG. References: numpy (python3) for the weights,
 * pngjs for the exported image, the browser's XML parser for the SVG.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import { readConstantValues, tensorStats } from '../../src/core/tensor';
import { SAMPLE_MODEL, SYSTEM_PYTHON, sharedModel } from '../helpers/paths';
import type { HostResult } from '../../src/protocol';
import { cspViolations, posted, sendToWebview, startHarness, waitRequest, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let mnist: Model;

before(async () => {
  harness = await startHarness();
  mnist = await openModelFile(SAMPLE_MODEL);
});
after(async () => harness?.close());


async function openGraph(model: Model, fileName: string, graph: GraphView = buildGraphView(model)): Promise<Page> {
  const page = await harness.open();
  await sendToWebview(page, { type: 'snapshot', revision: 1, fileName, state: { kind: 'loaded', summary: summarize(model), openTimeMs: 1, graph } });
  await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
  return page;
}


async function respond(page: Page, id: number, ok: HostResult): Promise<void> {
  await sendToWebview(page, { type: 'response', id, ok });
}

/** Answers a tensorValues request with the values as a Float64Array, as the host does. */
async function respondValues(page: Page, id: number, page0: { tensor: string; dtype: string; shape: number[]; total: number; start: number; values: number[] }): Promise<void> {
  await page.evaluate(({ id, p }) => window.postMessage({ type: 'response', id, ok: { ...p, values: new Float64Array(p.values) } }, '*'), { id, p: page0 });
}

async function selectInOutline(page: Page, name: string): Promise<void> {
  await page.click(`[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("${name}")`);
  await page.waitForFunction((n) => document.querySelector('[data-testid="prop-name"]')?.textContent === n, name);
}

/** numpy's view of mnist-12's first conv weight (Parameter5): the independent reference. */
function numpyWeight(): { shape: number[]; flat: number[]; min: number; max: number; mean: number; std: number } {
  const out = execFileSync(SYSTEM_PYTHON, ['-c', `
import json, sys, onnx
from onnx import numpy_helper
w = [numpy_helper.to_array(i) for i in onnx.load(sys.argv[1]).graph.initializer if i.name == 'Parameter5'][0].astype('float64')
print(json.dumps({'shape': list(w.shape), 'flat': w.ravel().tolist(), 'min': w.min(), 'max': w.max(), 'mean': w.mean(), 'std': w.std()}))`, SAMPLE_MODEL], { encoding: 'utf8' });
  return JSON.parse(out) as ReturnType<typeof numpyWeight>;
}

const close = (a: number, b: number, rel = 1e-5): boolean => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

describe('constants: statistics, histogram and values on demand', () => {
  test('selecting a Conv shows its weight type at once, then statistics fetched from the host (checked against numpy)', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    const ref = numpyWeight();
    // Nothing is fetched before a node with a constant is selected.
    assert.equal((await posted(page)).filter((m) => m.type === 'request').length, 0);
    await selectInOutline(page, 'Convolution28');
    const detail = page.locator('[data-testid="tensor-detail"][data-name="Parameter5"]');
    assert.equal(await detail.locator('[data-testid="tensor-type"]').textContent(), `float32[${ref.shape.join(',')}]`);
    const req = await waitRequest(page, 'tensorStats');
    assert.deepEqual(req.params, { tensor: 'Parameter5' });
    assert.equal(await detail.locator('[data-testid="tensor-stats"]').getAttribute('data-state'), 'loading');
    const stats = await tensorStats(mnist.graphs[0].values.get('Parameter5')!.constant!, { bins: 48 });
    await respond(page, req.id, stats);
    await page.waitForSelector('[data-testid="tensor-stats"][data-state="ready"]');
    const shown = Object.fromEntries(await page.$$eval('[data-testid="tensor-stats"] dd', (els) => els.map((e) => [e.getAttribute('data-stat'), e.textContent ?? ''])));
    assert.equal(shown.count, String(ref.flat.length));
    for (const k of ['min', 'max', 'mean', 'std'] as const) assert.ok(close(Number(shown[k]), ref[k], 1e-4), `${k}: shown ${shown[k]}, numpy ${ref[k]}`);
    assert.equal(shown.unique, String(new Set(ref.flat.map((x) => Math.fround(x))).size));
    // The histogram: a canvas with a text alternative whose bins add up to every element.
    const label = await page.getAttribute('[data-testid="tensor-histogram"]', 'aria-label');
    assert.match(label ?? '', new RegExp(`^Histogram of ${ref.flat.length} values`));
    assert.equal(await page.getAttribute('[data-testid="tensor-histogram"]', 'role'), 'img');
    const bins = await page.$$eval('[data-testid="tensor-histogram-table"] tbody tr td:last-child', (els) => els.map((e) => Number(e.textContent)));
    assert.equal(bins.length, 48);
    assert.equal(bins.reduce((a, b) => a + b, 0), ref.flat.length);
    // Bin counts by hand from numpy's values.
    const width = (ref.max - ref.min) / 48;
    const mine = new Array<number>(48).fill(0);
    for (const v of ref.flat.map((x) => Math.fround(x))) mine[Math.min(47, Math.floor((v - stats.min) / width))]++;
    assert.deepEqual(bins, mine);
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('values are paged (100 at a time, typed array) with buttons and the keyboard', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    const ref = numpyWeight();
    const c = mnist.graphs[0].values.get('Parameter5')!.constant!;
    await selectInOutline(page, 'Convolution28');
    const answer = async (nth: number): Promise<number> => {
      const r = await waitRequest(page, 'tensorValues', nth);
      const p = r.params as { tensor: string; start: number; count: number };
      assert.equal(p.tensor, 'Parameter5');
      assert.equal(p.count, 100);
      await respondValues(page, r.id, { tensor: 'Parameter5', dtype: 'float32', shape: c.shape, total: ref.flat.length, start: p.start, values: await readConstantValues(c, p.start, p.count) });
      await page.waitForSelector(`[data-testid="tensor-values"][data-state="ready"][data-start="${p.start}"]`);
      return p.start;
    };
    assert.equal(await answer(0), 0);
    assert.equal(await page.textContent('[data-testid="values-range"]'), `1–100 of ${ref.flat.length}`);
    const items = await page.$$eval('[data-testid="values-list"] li', (els) => els.map((e) => [Number(e.getAttribute('value')), Number(e.textContent)]));
    assert.equal(items.length, 100);
    items.forEach(([idx, v], i) => {
      assert.equal(idx, i);
      assert.ok(close(v, ref.flat[i], 1e-5), `value ${i}: ${v} vs ${ref.flat[i]}`);
    });
    assert.equal(await page.isDisabled('[data-testid="values-prev"]'), true);
    await page.click('[data-testid="values-next"]');
    assert.equal(await answer(1), 100);
    assert.equal(await page.textContent('[data-testid="values-range"]'), `101–200 of ${ref.flat.length}`);
    assert.ok(close(Number(await page.textContent('[data-testid="values-list"] li[data-index="150"]')), ref.flat[150]));
    assert.equal(await page.isDisabled('[data-testid="values-next"]'), true); // 200 values in all
    // Keyboard: the region is focusable; PageUp goes back a page.
    await page.focus('[data-testid="tensor-values"]');
    await page.keyboard.press('PageUp');
    assert.equal(await answer(2), 0);
    await page.keyboard.press('End');
    assert.equal(await answer(3), 100);
    await page.close();
  });

  test('a host error is shown in the panel as an alert, with its message as text', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    await selectInOutline(page, 'Convolution28');
    const req = await waitRequest(page, 'tensorStats');
    const message = "Tensor 'Parameter5': cannot read its data (<b>EACCES</b>).";
    await sendToWebview(page, { type: 'response', id: req.id, err: message });
    await page.waitForSelector('[data-testid="tensor-stats"][data-state="error"]');
    assert.equal(await page.textContent('[data-testid="tensor-stats"] [role="alert"]'), message);
    assert.equal(await page.locator('[data-testid="graph-properties"] b').count(), 0);
    await page.close();
  });
});

describe('quantization parameters', () => {
  test('vww_96_int8: a conv shows per-channel weight scales as a summary and a chart; activations per tensor', async () => {
    const model = await openModelFile(sharedModel('tflite', 'mlperf-tiny', 'visual_wake_words', 'trained_models', 'vww_96_int8.tflite'));
    const view = buildGraphView(model);
    const page = await openGraph(model, 'vww_96_int8.tflite', view);
    const conv = view.nodes.find((n) => n.opType === 'CONV_2D')!;
    await page.evaluate((id) => {
      // Reach the conv through search: its name may sit in a collapsed group.
      const input = document.querySelector<HTMLInputElement>('[data-testid="graph-search"]')!;
      input.value = id;
      input.dispatchEvent(new Event('input'));
    }, conv.name);
    await page.focus('[data-testid="graph-search"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.querySelector('[data-testid="prop-name"]')?.textContent === n, conv.name);
    const w = view.tensors[conv.inputs[1]];
    const outChannels = w.shape![0] as number;
    const wq = page.locator(`[data-testid="quant-param"][data-name="${w.name.replace(/"/g, '\\"')}"]`);
    assert.equal(await wq.getAttribute('data-channels'), String(outChannels));
    const stat = async (loc: typeof wq, k: string): Promise<string> => (await loc.locator(`[data-stat="${k}"]`).textContent()) ?? '';
    assert.equal(await stat(wq, 'channels'), String(outChannels));
    const scales = w.q!.scale;
    assert.ok(close(Number(await stat(wq, 'scale-min')), Math.min(...scales), 1e-5));
    assert.ok(close(Number(await stat(wq, 'scale-max')), Math.max(...scales), 1e-5));
    assert.match((await wq.locator('[data-testid="quant-chart"]').getAttribute('aria-label')) ?? '', new RegExp(`${outChannels} channels`));
    assert.equal(await wq.locator('[data-testid="quant-table"] tbody tr').count(), Math.min(256, outChannels));
    // The conv's activation input is quantized per tensor: one scale, one zero point.
    const x = view.tensors[conv.inputs[0]];
    const xq = page.locator(`[data-testid="quant-param"][data-name="${x.name.replace(/"/g, '\\"')}"]`);
    assert.ok(close(Number(await stat(xq, 'scale')), x.q!.scale[0], 1e-5));
    assert.equal(Number(await stat(xq, 'zero-point')), x.q!.zeroPoint[0]);
    await page.close();
  });
});

describe('QOperator models (mnist-12-int8)', () => {
  test('QLinearConv: the weight, not a scale or zero point, is fetched first; its per-channel scales are summarised', async () => {
    const model = await openModelFile(sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx'));
    const page = await openGraph(model, 'mnist-12-int8.onnx');
    await selectInOutline(page, 'Convolution28_quant');
    const req = await waitRequest(page, 'tensorStats');
    assert.deepEqual(req.params, { tensor: 'Parameter5_quantized' });
    // Every constant input is listed; only the weight's section is open.
    const detail = await page.$$eval('[data-testid="tensor-detail"]', (els) => els.map((e) => [e.getAttribute('data-name'), (e as HTMLDetailsElement).open]));
    assert.equal(detail.filter(([, open]) => open).length, 1);
    assert.deepEqual(detail.find(([, open]) => open), ['Parameter5_quantized', true]);
    // Opening another one fetches it then, not before.
    assert.equal((await posted(page)).filter((m) => m.type === 'request' && m.method === 'tensorStats').length, 1);
    await page.click('[data-testid="tensor-detail"][data-name="Parameter5_scale"] > summary');
    assert.deepEqual((await waitRequest(page, 'tensorStats', 1)).params, { tensor: 'Parameter5_scale' });
    // python3-onnx: Parameter5_scale holds the 8 per-channel scales.
    const ref = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', `
import json, sys, onnx
from onnx import numpy_helper
s = [numpy_helper.to_array(i) for i in onnx.load(sys.argv[1]).graph.initializer if i.name == 'Parameter5_scale'][0].astype('float64').ravel()
print(json.dumps([s.size, s.min(), s.max()]))`, sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx')], { encoding: 'utf8' })) as [number, number, number];
    const wq = page.locator('[data-testid="quant-param"][data-name="Parameter5_quantized"]');
    assert.equal(await wq.locator('[data-stat="channels"]').textContent(), String(ref[0]));
    assert.ok(close(Number(await wq.locator('[data-stat="scale-min"]').textContent()), ref[1]));
    assert.ok(close(Number(await wq.locator('[data-stat="scale-max"]').textContent()), ref[2]));
    await page.close();
  });
});

describe('Q/DQ folding toggle', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-foldwv-'));
    execFileSync(SYSTEM_PYTHON, ['-c', `
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
g = h.make_graph([
    h.make_node('QuantizeLinear', ['x', 's', 'z'], ['xq'], name='q_x'),
    h.make_node('DequantizeLinear', ['xq', 's', 'z'], ['xd'], name='dq_x'),
    h.make_node('Relu', ['xd'], ['y'], name='relu'),
], 'qdq', [h.make_tensor_value_info('x', T.FLOAT, [1, 4])], [h.make_tensor_value_info('y', T.FLOAT, [1, 4])],
   [nh.from_array(np.array(0.5, np.float32), 's'), nh.from_array(np.array(7, np.uint8), 'z')])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])`, path.join(dir, 'qdq.onnx')]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the toolbar toggle asks the host for the folded view and shows it; the tensor carries the parameters', async () => {
    const model = await openModelFile(path.join(dir, 'qdq.onnx'));
    const page = await openGraph(model, 'qdq.onnx');
    const names = (): Promise<string[]> => page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => e.textContent ?? ''));
    assert.deepEqual(await names(), ['x', 'q_x', 'dq_x', 'relu', 'y']);
    assert.equal(await page.getAttribute('[data-testid="graph-fold-qdq"]', 'aria-pressed'), 'false');
    await page.click('[data-testid="graph-fold-qdq"]');
    const req = await waitRequest(page, 'graphView');
    assert.deepEqual(req.params, { foldQdq: true });
    await respond(page, req.id, buildGraphView(model, { foldQdq: true }));
    await page.waitForSelector('[data-testid="graph-view"][data-folded="true"][data-ready="true"]');
    assert.deepEqual(await names(), ['x', 'relu', 'y']);
    assert.equal(await page.getAttribute('[data-testid="graph-fold-qdq"]', 'aria-pressed'), 'true');
    await selectInOutline(page, 'relu');
    const q = page.locator('[data-testid="quant-param"][data-name="x"]');
    assert.equal(await q.locator('[data-stat="scale"]').textContent(), '0.5');
    assert.equal(await q.locator('[data-stat="zero-point"]').textContent(), '7');
    // Unfolding needs no host: the snapshot's view comes back.
    await page.click('[data-testid="graph-fold-qdq"]');
    await page.waitForSelector('[data-testid="graph-view"][data-folded="false"][data-ready="true"]');
    assert.deepEqual(await names(), ['x', 'q_x', 'dq_x', 'relu', 'y']);
    // The selection follows into the other view.
    await page.waitForFunction(() => document.querySelector('[data-testid="prop-name"]')?.textContent === 'relu');
    assert.deepEqual(await page.$$eval('[data-testid="graph-outline"] [role="treeitem"][aria-selected="true"]', (els) => els.map((e) => e.textContent)), ['relu']);
    await page.close();
  });

  test('models without Q/DQ nodes have no fold toggle', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    assert.equal(await page.locator('[data-testid="graph-fold-qdq"]').count(), 0);
    await page.close();
  });

  test('QOperator models (QLinearConv with a Q at the input and a DQ at the output) have no fold toggle: folding changes nothing there', async () => {
    const model = await openModelFile(sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx'));
    const view = buildGraphView(model);
    assert.ok(view.nodes.some((n) => n.opType === 'QuantizeLinear') && view.nodes.some((n) => n.opType === 'DequantizeLinear'));
    const page = await openGraph(model, 'mobilenetv2-12-int8.onnx', view);
    assert.equal(await page.locator('[data-testid="graph-fold-qdq"]').count(), 0);
    await page.close();
  });
});

describe('export', () => {
  test('PNG: the webview sends the canvas as PNG bytes with a file name; the image has the canvas size', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    await page.click('[data-testid="graph-export-png"]');
    const req = await waitRequest(page, 'exportImage');
    const p = req.params as unknown as { format: string; name: string; data: Record<string, number> };
    assert.equal(p.format, 'png');
    assert.equal(p.name, 'mnist-12-graph.png');
    // (The stand-in host JSON-copies what is posted, so the Uint8Array arrives as an index → byte object.)
    const bytes = Buffer.from(Object.keys(p.data).sort((a, b) => Number(a) - Number(b)).map((k) => p.data[k]));
    const png = PNG.sync.read(bytes);
    const size = await page.$eval('[data-testid="graph-canvas"]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.deepEqual([png.width, png.height], size);
    await respond(page, req.id, { saved: true });
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-status"]')?.textContent === 'Exported PNG');
    await page.close();
  });

  test('SVG: visible nodes as SVG elements with their names as text, hostile names escaped', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">&';
    const m = syntheticTransformer(3);
    m.graphs[0].nodes[1].name = evil;
    const view = buildGraphView(m);
    const page = await openGraph(m, 'evil.onnx', view);
    await page.click('[data-testid="graph-export-svg"]');
    const req = await waitRequest(page, 'exportImage');
    const p = req.params as { format: string; name: string; data: string };
    assert.equal(p.format, 'svg');
    assert.equal(p.name, 'evil-graph.svg');
    assert.ok(!p.data.includes('<img'), 'raw markup from a node name leaked into the SVG');
    const parsed = await page.evaluate((svg) => {
      const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
      return {
        error: doc.querySelector('parsererror')?.textContent ?? null,
        root: doc.documentElement.localName,
        names: [...doc.querySelectorAll('g.node')].map((g) => g.getAttribute('data-name')),
        titles: [...doc.querySelectorAll('g.node > title')].map((t) => t.textContent),
      };
    }, p.data);
    assert.equal(parsed.error, null);
    assert.equal(parsed.root, 'svg');
    // Every node the canvas shows (the outline's visible nodes that the fitted view contains) is in the SVG.
    const visible = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => e.textContent));
    assert.ok(visible.length > 0);
    for (const n of visible) assert.ok(parsed.names.includes(n), `node ${n} missing from the SVG`);
    assert.ok(parsed.names.includes(evil));
    assert.ok(parsed.titles.some((t) => t?.endsWith(evil)));
    await page.close();
  });
});
