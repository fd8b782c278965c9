/**
 * The graph is readable at first sight, in real Chromium: the first view's labels are legible and
 * it opens at the inputs, wheel zoom steps gently, hovering a node shows its card, the outline
 * looks and behaves like VS Code's trees, scope-less models are shown flat or by structure, and
 * the summary's tables keep every column in view.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BLOCK_SIZE, syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import { sharedModel } from '../helpers/paths';
import { cspViolations, expandAllInOutline, sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let mobilenet: Model;
let resnet: Model;

before(async () => {
  harness = await startHarness();
  mobilenet = await openModelFile(sharedModel('onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx'));
  resnet = await openModelFile(sharedModel('onnx', 'onnx-light', 'light_resnet50.onnx'));
});
after(async () => harness?.close());

type Rect = { x: number; y: number; w: number; h: number };
interface Hook {
  nodeClientRect(n: number): Rect | undefined;
  viewport(): { x: number; y: number; k: number };
}

async function openGraph(model: Model, fileName: string, graph: GraphView = buildGraphView(model)): Promise<Page> {
  const page = await harness.browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript({ content: 'window.__qlTestHooks = true;' });
  await page.goto(harness.url);
  await sendToWebview(page, { type: 'snapshot', revision: 1, fileName, state: { kind: 'loaded', summary: summarize(model), openTimeMs: 1, graph } });
  await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
  return page;
}

const vp = (page: Page): Promise<{ x: number; y: number; k: number }> => page.evaluate(() => (window as unknown as { __qlGraph: Hook }).__qlGraph.viewport());
const rectOf = (page: Page, node: number): Promise<Rect | undefined> => page.evaluate((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.nodeClientRect(n), node);
const canvasBox = async (page: Page): Promise<Rect> => {
  const b = (await page.locator('[data-testid="graph-canvas"]').boundingBox())!;
  return { x: b.x, y: b.y, w: b.width, h: b.height };
};
const inside = (r: Rect, box: Rect): boolean => r.x >= box.x && r.y >= box.y && r.x + r.w <= box.x + box.w && r.y + r.h <= box.y + box.h;

describe('first view', () => {
  for (const [name, which] of [['mobilenetv2-12-int8.onnx', () => mobilenet], ['light_resnet50.onnx', () => resnet]] as const) {
    test(`${name}: labels legible (≥ 9 px) at the graph's input, minimap shown; Fit shows everything`, async () => {
      const model = which();
      const view = buildGraphView(model);
      const page = await openGraph(model, name, view);
      const labelPx = Number(await page.getAttribute('[data-testid="graph-view"]', 'data-label-px'));
      assert.ok(labelPx >= 9, `labels are ${labelPx} px`);
      assert.equal(Number(await page.getAttribute('[data-testid="graph-view"]', 'data-zoom')), (await vp(page)).k);
      // The input node is on screen, in the upper part of the canvas.
      const box = await canvasBox(page);
      const input = view.nodes.find((n) => n.kind === 'input')!;
      const r = (await rectOf(page, input.id))!;
      assert.ok(inside(r, box), `input at ${JSON.stringify(r)}, canvas ${JSON.stringify(box)}`);
      assert.ok(r.y < box.y + box.h / 3, 'the input is near the top');
      assert.ok(await page.locator('[data-testid="graph-minimap"]').isVisible());
      // The whole graph is taller than the view at this scale: the output is off screen ...
      const output = view.nodes.find((n) => n.kind === 'output')!;
      assert.ok(!inside((await rectOf(page, output.id))!, box));
      // ... and one click on Fit brings every node into view.
      await page.click('[data-testid="graph-fit"]');
      for (const n of [input, output]) assert.ok(inside((await rectOf(page, n.id))!, box), n.name);
      assert.ok(Number(await page.getAttribute('[data-testid="graph-view"]', 'data-label-px')) < labelPx);
      assert.deepEqual(await cspViolations(page), []);
      await page.close();
    });
  }

  test('a small graph that fits legibly opens fitted (mnist-12)', async () => {
    const model = await openModelFile(sharedModel('onnx', 'mnist', 'mnist-12.onnx'));
    const page = await openGraph(model, 'mnist-12.onnx');
    const first = await vp(page);
    await page.click('[data-testid="graph-fit"]');
    assert.deepEqual(await vp(page), first);
    await page.close();
  });
});

describe('wheel zoom', () => {
  test('a mouse notch is a 10 % step, Ctrl+wheel too; a pinch zooms in proportion; the point under the pointer stays', async () => {
    const page = await openGraph(mobilenet, 'mobilenetv2-12-int8.onnx');
    const box = await canvasBox(page);
    const cx = box.x + box.w / 2;
    const cy = box.y + box.h / 2;
    await page.mouse.move(cx, cy);
    const k0 = (await vp(page)).k;
    const world = (v: { x: number; y: number; k: number }): [number, number] => [v.x + (cx - box.x) / v.k, v.y + (cy - box.y) / v.k];
    const w0 = world(await vp(page));
    await page.mouse.wheel(0, 100);
    const v1 = await vp(page);
    assert.ok(Math.abs(v1.k / k0 - 1 / 1.1) < 1e-6, `one notch out: ${k0} -> ${v1.k}`);
    const w1 = world(v1);
    // (Within a screen pixel: mouse events carry whole-pixel client coordinates.)
    assert.ok(Math.abs(w1[0] - w0[0]) <= 1 / v1.k && Math.abs(w1[1] - w0[1]) <= 1 / v1.k, `the point under the pointer moved: ${w0} -> ${w1}`);
    // A fast wheel reporting a big delta in one event is still one step.
    await page.mouse.wheel(0, -600);
    assert.ok(Math.abs((await vp(page)).k / k0 - 1) < 1e-6);
    // Ctrl+wheel (VS Code's zoom gesture): the same 10 % step, not a jump.
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -100);
    await page.keyboard.up('Control');
    assert.ok(Math.abs((await vp(page)).k / k0 - 1.1) < 1e-6);
    // A trackpad pinch arrives as Ctrl+wheel with small deltas: a small, proportional change.
    const before = (await vp(page)).k;
    await page.evaluate(([x, y]) => document.querySelector('[data-testid="graph-canvas"]')!.dispatchEvent(new WheelEvent('wheel', { deltaY: -5, ctrlKey: true, clientX: x, clientY: y, bubbles: true, cancelable: true })), [cx, cy]);
    assert.ok(Math.abs((await vp(page)).k / before - Math.pow(1.1, 0.05)) < 1e-6);
    // Line-based wheels (3 lines a notch) step like pixel ones.
    const b2 = (await vp(page)).k;
    await page.evaluate(([x, y]) => document.querySelector('[data-testid="graph-canvas"]')!.dispatchEvent(new WheelEvent('wheel', { deltaY: 3, deltaMode: 1, clientX: x, clientY: y, bubbles: true, cancelable: true })), [cx, cy]);
    const r = (await vp(page)).k / b2;
    assert.ok(r > 0.9 && r < 0.92, `3 lines: ×${r}`);
    await page.close();
  });
});

describe('node tooltip', () => {
  test('hovering a QLinearConv shows op, name, inputs and outputs with types and shapes, and its quantization', async () => {
    const view = buildGraphView(mobilenet);
    const page = await openGraph(mobilenet, 'mobilenetv2-12-int8.onnx', view);
    const tip = page.locator('[data-testid="graph-tooltip"]');
    assert.equal(await tip.isVisible(), false);
    // The first QLinearConv on screen (the view opens at the input, so the first ones are there).
    const box = await canvasBox(page);
    let conv: GraphView['nodes'][number] | undefined;
    let r: Rect | undefined;
    for (const n of view.nodes.filter((x) => x.opType === 'QLinearConv')) {
      r = await rectOf(page, n.id);
      if (r && inside(r, box)) {
        conv = n;
        break;
      }
    }
    assert.ok(conv && r, 'no QLinearConv on screen');
    await page.mouse.move(r.x + r.w / 2, r.y + r.h / 2);
    await tip.waitFor({ state: 'visible', timeout: 5000 });
    assert.equal(await tip.getAttribute('data-node'), String(conv.id));
    assert.equal(await tip.locator('[data-testid="tooltip-op"]').textContent(), 'QLinearConv');
    assert.equal(await tip.locator('[data-testid="tooltip-name"]').textContent(), conv.name);
    const rows = (sel: string): Promise<[string | null, string | null][]> =>
      tip.locator(`[data-testid="${sel}"] tr`).evaluateAll((els) => els.map((e) => [e.getAttribute('data-name'), e.getAttribute('data-type')]));
    const expect = (ids: number[]): [string, string][] => ids.filter((t) => t >= 0).map((t) => {
      const x = view.tensors[t];
      return [x.name, `${x.dtype}${x.shape ? `[${x.shape.map((d) => d ?? '?').join(',')}]` : '?'}`];
    });
    assert.deepEqual(await rows('tooltip-inputs'), expect(conv.inputs));
    assert.deepEqual(await rows('tooltip-outputs'), expect(conv.outputs));
    // Quantization: every tensor of the node that carries parameters, and only those.
    const quantized = [...new Set([...conv.inputs, ...conv.outputs])].filter((t) => t >= 0 && (view.tensors[t].q || view.tensors[t].quant)).map((t) => view.tensors[t].name);
    assert.ok(quantized.length > 0, 'mobilenetv2-12-int8 QLinearConv tensors carry quantization parameters');
    assert.deepEqual(await tip.locator('[data-testid="tooltip-quant"] tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))), quantized);
    assert.match((await tip.locator('[data-testid="tooltip-quant"] tr').first().textContent()) ?? '', /scale .+ zero point|per-channel/);
    // The card stays inside the canvas, and leaving the node hides it.
    const tb = (await tip.boundingBox())!;
    assert.ok(tb.x >= box.x - 1 && tb.x + tb.width <= box.x + box.w + 1, 'tooltip inside the canvas');
    await page.mouse.move(box.x + 5, box.y + box.h - 5);
    await tip.waitFor({ state: 'hidden', timeout: 5000 });
    await page.close();
  });

  test('keyboard users get the same card: arrow keys on the canvas show it for the node they move to; Escape hides it', async () => {
    const view = buildGraphView(mobilenet);
    const page = await openGraph(mobilenet, 'mobilenetv2-12-int8.onnx', view);
    const tip = page.locator('[data-testid="graph-tooltip"]');
    await page.focus('[data-testid="graph-canvas"]');
    await page.keyboard.press('ArrowDown'); // selects the graph input
    await page.keyboard.press('ArrowDown'); // its consumer, the QuantizeLinear
    const q = view.nodes.find((n) => n.opType === 'QuantizeLinear')!;
    await page.waitForFunction((id) => document.querySelector('[data-testid="graph-tooltip"]')?.getAttribute('data-node') === String(id), q.id);
    assert.equal(await tip.isVisible(), true);
    assert.equal(await tip.locator('[data-testid="tooltip-name"]').textContent(), q.name);
    await page.keyboard.press('Escape');
    await tip.waitFor({ state: 'hidden', timeout: 5000 });
    await page.close();
  });
});

describe('outline', () => {
  test('looks like a VS Code tree: indent guides per level, an icon per op kind, theme hover and focus colours', async () => {
    const model = syntheticTransformer(1 + 20 * BLOCK_SIZE);
    const view = buildGraphView(model);
    const page = await openGraph(model, 'x.onnx', view);
    // Open the first closed group so nodes sit at depth ≥ 1.
    const group = page.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]').first();
    const path = (await group.getAttribute('data-path'))!;
    await group.locator('[data-toggle]').click();
    await page.waitForFunction((p) => document.querySelector(`[role="treeitem"][data-path="${p}"]`)?.getAttribute('aria-expanded') === 'true', path);
    const rows = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"]', (els) => els.map((e) => ({
      level: Number(e.getAttribute('aria-level')),
      guides: e.querySelector(':scope > .qlg-indent, :scope > .qlg-row > .qlg-indent')!.children.length,
      icon: [...e.querySelectorAll(':scope > .codicon, :scope > .qlg-row > .codicon')].map((c) => [...c.classList].find((x) => x.startsWith('codicon-') && !x.startsWith('codicon-chevron'))).filter(Boolean)[0],
      op: e.getAttribute('data-op'),
      kind: e.getAttribute('data-kind'),
    })));
    assert.ok(rows.some((r) => r.level >= 3), 'nested rows');
    for (const r of rows) assert.equal(r.guides, r.level - 1);
    const iconOf = (op: string): string | undefined => rows.find((r) => r.op === op)?.icon;
    assert.equal(iconOf('MatMul'), 'codicon-symbol-method');
    assert.equal(iconOf('Softmax'), 'codicon-pulse');
    assert.equal(iconOf('Reshape'), 'codicon-symbol-array');
    assert.equal(iconOf('Input'), 'codicon-sign-in');
    assert.ok(rows.filter((r) => r.kind === 'group').every((r) => r.icon === 'codicon-symbol-namespace'));
    // The codicon font is loaded (the glyphs render, not empty boxes).
    assert.ok(await page.evaluate(() => document.fonts.check('16px codicon')));
    // Hover and focus colours come from the theme's list variables.
    await page.evaluate(() => {
      const s = document.documentElement.style;
      s.setProperty('--vscode-list-hoverBackground', 'rgb(10, 20, 30)');
      s.setProperty('--vscode-list-focusOutline', 'rgb(200, 100, 50)');
    });
    const leaf = page.locator('[data-testid="graph-outline"] .qlg-leaf').nth(2);
    await leaf.hover();
    assert.equal(await leaf.evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(10, 20, 30)');
    await leaf.click();
    await page.waitForFunction(() => document.activeElement?.classList.contains('qlg-leaf') || document.querySelector('.qlg-leaf[aria-selected="true"]') !== null);
    await leaf.focus();
    assert.equal(await leaf.evaluate((e) => getComputedStyle(e).outlineColor), 'rgb(200, 100, 50)');
    await page.close();
  });

  test('light_resnet50 (no name scopes): every node is in the outline at once, no numeric chunks; a folded ConstantOfShape shows at its consumer', async () => {
    const view = buildGraphView(resnet);
    const page = await openGraph(resnet, 'light_resnet50.onnx', view);
    const names = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(new Set(names), new Set(view.nodes.map((n) => n.name)));
    assert.equal(names.length, view.nodes.length);
    const labels = await page.$$eval('[data-testid="graph-outline"] .qlg-label', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(labels.every((l) => !/^\d+\s*[–-]\s*\d+/.test(l)), labels.join(', '));
    // The first Conv reads its weight from a folded ConstantOfShape, named in its properties.
    const conv = view.nodes.find((n) => n.opType === 'Conv')!;
    const w = view.tensors[conv.inputs[1]];
    assert.equal(w.computedBy?.opType, 'ConstantOfShape');
    await page.click(`[data-testid="graph-outline"] [role="treeitem"][data-id="${conv.id}"][data-kind="node"]`);
    await page.waitForFunction((n) => document.querySelector('[data-testid="prop-name"]')?.textContent === n, conv.name);
    const detail = page.locator(`[data-testid="tensor-detail"][data-name="${w.name}"]`);
    await detail.locator('summary').click();
    assert.match((await detail.locator('[data-testid="tensor-computed-by"]').textContent()) ?? '', new RegExp(`Computed by ConstantOfShape node ${w.computedBy!.name}`));
    // Searching the folded node's name finds its consumer.
    await page.fill('[data-testid="graph-search"]', w.computedBy!.name);
    await page.waitForFunction(() => /\/ 1$/.test(document.querySelector('[data-testid="graph-search-count"]')?.textContent ?? ''));
    await page.close();
  });

  test('a scope-less graph too big to show flat (2,000 nodes) opens as structural groups; every node is reachable through them', async () => {
    const model = syntheticTransformer(2000, { scopes: false });
    const view = buildGraphView(model);
    const page = await openGraph(model, 'flat.onnx', view);
    const labels = await page.$$eval('[data-testid="graph-outline"] .qlg-label', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(labels.some((l) => /^repeat \d+$/.test(l)), labels.join(', '));
    assert.ok(labels.every((l) => !/^\d+\s*[–-]\s*\d+/.test(l)), labels.join(', '));
    // Opening every group (Right on closed ones) lists every node.
    // Open every group through the outline's keyboard (Right on a closed group), then compare.
    await expandAllInOutline(page);
    const names = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => e.textContent));
    assert.equal(names.length, view.nodes.length);
    await page.close();
  });
});

describe('summary tables', () => {
  test('no column is cut off in the side panel, even with very long tensor names', async () => {
    const model = syntheticTransformer(40, { scopes: false });
    const g = model.graphs[0];
    const long = 'a_really_long_input_tensor_name_without_any_spaces_'.repeat(4);
    g.values.set(long, { ...g.values.get(g.inputs[0])!, name: long });
    g.inputs = [long];
    const page = await openGraph(model, 'long.onnx');
    const out = await page.$$eval('[data-testid="summary-panel"] table', (tables) => tables.map((t) => {
      const panel = t.closest('.qlg-side')!.getBoundingClientRect();
      const cells = [...t.querySelectorAll('td, th')].map((c) => c.getBoundingClientRect());
      return { id: t.getAttribute('data-testid'), tooWide: t.scrollWidth > t.clientWidth + 1, outside: cells.filter((c) => c.right > panel.right + 1 || c.width < 8).length };
    }));
    assert.ok(out.length >= 3, JSON.stringify(out));
    for (const t of out) assert.deepEqual(t, { ...t, tooWide: false, outside: 0 });
    await page.close();
  });
});
