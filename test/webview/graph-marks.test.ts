/**
 * Marking layers and results overlays in the graph view, in real Chromium with the test playing
 * the host: multi-selection (click, Ctrl-click, Shift-click, rubber band, Space, Ctrl+A) posted as
 * `selection`; the context menu, shortcuts, properties dropdown and search results sending one
 * labelled `setMarks` intent each; badges, legend and outline labels for a `marks` message;
 * collapsed groups' badges; the results overlay (colours from the values, streaming in any order,
 * a new run starting over, worst member for a group); revealNode; and no CSP violations.
 *   node --import tsx --test test/webview/graph-marks.test.ts
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BLOCK_SIZE, syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import type { MarksState, WebviewToHost } from '../../src/protocol';
import { SCALE } from '../../webview/graph/overlay';
import { SAMPLE_MODEL } from '../helpers/paths';
import { openGraphPage } from './graphPage';
import { cspViolations, posted, sendToWebview, startHarness, waitRequest, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let mnist: Model;
let mnistView: GraphView;

before(async () => {
  harness = await startHarness();
  mnist = await openModelFile(SAMPLE_MODEL);
  mnistView = buildGraphView(mnist);
});
after(async () => harness?.close());

type Rect = { x: number; y: number; w: number; h: number };
interface Hook {
  nodeClientRect(n: number): Rect | undefined;
  itemDecor(n: number): { fill: string | null; badge: string | null; selected: boolean } | undefined;
  selectedNodes(): number[];
  drawFrame(): number;
}

const openGraph = (model: Model, fileName: string, graph: GraphView, marks?: MarksState): Promise<Page> => openGraphPage(harness, model, fileName, graph, marks);

const id = (g: GraphView, name: string): number => g.nodes.find((n) => n.name === name)!.id;
const hook = <T>(page: Page, fn: (h: Hook, arg: number) => T, arg = 0): Promise<T> =>
  page.evaluate(({ src, arg }) => (new Function('h', 'arg', `return (${src})(h, arg)`))((window as unknown as { __qlGraph: Hook }).__qlGraph, arg), { src: fn.toString(), arg }) as Promise<T>;
const rectOf = (page: Page, node: number): Promise<Rect> => hook(page, (h, n) => h.nodeClientRect(n)!, node);
const decor = (page: Page, node: number): Promise<{ fill: string | null; badge: string | null; selected: boolean }> => hook(page, (h, n) => h.itemDecor(n)!, node);
const selected = (page: Page): Promise<number[]> => hook(page, (h) => h.selectedNodes());

async function clickNode(page: Page, node: number, modifiers: ('Control' | 'Shift')[] = [], button: 'left' | 'right' = 'left'): Promise<void> {
  const r = await rectOf(page, node);
  // page.mouse takes no modifiers: hold the keys around the click, as a user does.
  for (const m of modifiers) await page.keyboard.down(m);
  await page.mouse.click(r.x + r.w / 2, r.y + r.h / 2, { button });
  for (const m of modifiers) await page.keyboard.up(m);
}

async function lastSelection(page: Page): Promise<string[] | undefined> {
  const sel = (await posted(page)).filter((m): m is Extract<WebviewToHost, { type: 'selection' }> => m.type === 'selection');
  return sel.at(-1)?.nodes;
}


const outlineRow = (page: Page, name: string) => page.locator(`[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("${name}")`);

describe('multi-selection', () => {
  test('click selects one, Ctrl-click toggles, Shift-click adds a range in outline order; each change is posted', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx', mnistView);
    const c28 = id(mnistView, 'Convolution28');
    const c110 = id(mnistView, 'Convolution110');
    await clickNode(page, c28);
    assert.deepEqual(await selected(page), [c28]);
    assert.deepEqual(await lastSelection(page), ['Convolution28']);
    assert.equal(await page.textContent('[data-testid="prop-name"]'), 'Convolution28');
    await clickNode(page, c110, ['Control']);
    assert.deepEqual(await selected(page), [c28, c110]);
    assert.deepEqual(await lastSelection(page), ['Convolution28', 'Convolution110']);
    // The properties panel shows the last clicked node.
    await page.waitForFunction(() => document.querySelector('[data-testid="prop-name"]')?.textContent === 'Convolution110');
    assert.equal(await page.locator('[data-testid="graph-outline"] [aria-selected="true"]').count(), 2);
    assert.ok((await decor(page, c28)).selected && (await decor(page, c110)).selected);
    await clickNode(page, c28, ['Control']);
    assert.deepEqual(await selected(page), [c110]);
    // Shift-click: from the anchor (Convolution28, the last toggled) to Pooling160 in outline order.
    await clickNode(page, c28);
    await outlineRow(page, 'Pooling160').click({ modifiers: ['Shift'] });
    const order = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => Number(e.getAttribute('data-id'))));
    const a = order.indexOf(c28);
    const b = order.indexOf(id(mnistView, 'Pooling160'));
    assert.deepEqual(await selected(page), order.slice(a, b + 1).sort((x, y) => x - y));
    assert.equal((await lastSelection(page))?.length, b - a + 1);
    // A plain click on empty canvas clears.
    const box = (await page.locator('[data-testid="graph-canvas"]').boundingBox())!;
    await page.mouse.click(box.x + box.width - 30, box.y + 30);
    assert.deepEqual(await selected(page), []);
    assert.deepEqual(await lastSelection(page), []);
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('rubber band (Shift+drag on empty canvas) selects the nodes it touches; Space and Ctrl+A from the keyboard', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx', mnistView);
    const p30 = await rectOf(page, id(mnistView, 'Plus30'));
    const r32 = await rectOf(page, id(mnistView, 'ReLU32'));
    // A band from left of Plus30 to the right of ReLU32, starting on empty canvas.
    const x0 = Math.min(p30.x, r32.x) - 30;
    const y0 = p30.y + 4;
    const x1 = Math.max(p30.x + p30.w, r32.x + r32.w) + 30;
    const y1 = r32.y + r32.h - 4;
    await page.keyboard.down('Shift');
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 4 });
    await page.mouse.move(x1, y1, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    assert.deepEqual(await selected(page), [id(mnistView, 'Plus30'), id(mnistView, 'ReLU32')]);
    assert.deepEqual(await lastSelection(page), ['Plus30', 'ReLU32']);
    // Space toggles the focused row.
    await outlineRow(page, 'Times212').click();
    // Ctrl+Down moves the focus without selecting; Space adds the focused row.
    await page.keyboard.press('Control+ArrowDown');
    await page.keyboard.press('Space');
    assert.deepEqual(await selected(page), [id(mnistView, 'Times212'), id(mnistView, 'Plus214')]);
    await page.keyboard.press('Space');
    assert.deepEqual(await selected(page), [id(mnistView, 'Times212')]);
    // Ctrl+A: every layer (graph inputs and outputs take no marks).
    await page.keyboard.press('Control+a');
    assert.equal((await selected(page)).length, mnistView.nodes.filter((n) => n.kind === 'op').length);
    assert.equal((await lastSelection(page))?.length, 12);
    await page.close();
  });
});

describe('marking: intents to the host, badges and legend from its answer', () => {
  test('context menu on the canvas marks the selection, "Mark every Conv as…" the op type; a marks message draws badges, legend and labels', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx', mnistView);
    const c110 = id(mnistView, 'Convolution110');
    await clickNode(page, c110, [], 'right');
    await page.waitForSelector('[data-testid="graph-menu"]:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'menu-mark-int8');
    assert.equal(await page.textContent('[data-testid="menu-mark-int16"]'), 'Mark as int162');
    await page.click('[data-testid="menu-mark-int16"]');
    const req = await waitRequest(page, 'setMarks');
    assert.deepEqual(req.params, { nodes: ['Convolution110'], precision: 'int16', label: 'Set Convolution110 to int16' });
    await sendToWebview(page, { type: 'response', id: req.id, ok: { changed: 1 } });
    await sendToWebview(page, { type: 'marks', marks: { plan: { Convolution110: 'int16' }, unknown: [], revision: 2 } });
    await page.waitForFunction(() => document.querySelector('[data-testid="marks-legend"] [data-precision="int16"]')?.getAttribute('data-count') === '1');
    assert.equal(await outlineRow(page, 'Convolution110').getAttribute('aria-label'), 'Convolution110, Conv, marked int16');
    assert.equal(await outlineRow(page, 'Convolution28').getAttribute('aria-label'), 'Convolution28, Conv');
    assert.equal((await decor(page, c110)).badge, 'i16');
    assert.equal((await decor(page, id(mnistView, 'Convolution28'))).badge, null);
    assert.equal(await page.textContent('[data-testid="marks-legend"] [data-precision="int16"]'), 'i16 int16 × 1');
    // The properties dropdown follows the marks.
    assert.equal(await page.inputValue('[data-testid="prop-precision"]'), 'int16');
    // A stale marks message (older revision) is dropped.
    await sendToWebview(page, { type: 'marks', marks: { plan: {}, unknown: [], revision: 1 } });
    await page.waitForTimeout(50);
    assert.equal((await decor(page, c110)).badge, 'i16');

    // "Mark every Conv as…" → int8: one intent naming both convolutions.
    await clickNode(page, c110, [], 'right');
    await page.click('[data-testid="menu-optype"]');
    await page.click('[data-testid="menu-optype-int8"]');
    const req2 = await waitRequest(page, 'setMarks', 1);
    assert.deepEqual(req2.params, { nodes: ['Convolution28', 'Convolution110'], precision: 'int8', label: 'Set every Conv to int8' });
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('keyboard: 1/2/3/0 and Delete mark the selection, Shift+F10 opens the menu on the outline row, the properties dropdown sends one intent', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx', mnistView);
    await outlineRow(page, 'Plus30').click();
    await outlineRow(page, 'ReLU32').click({ modifiers: ['Control'] });
    const expect: [string, string | null][] = [['1', 'int8'], ['2', 'int16'], ['3', 'fp16'], ['0', 'float'], ['Delete', null], ['Backspace', null]];
    for (const [i, [key, precision]] of expect.entries()) {
      await page.keyboard.press(key);
      const r = await waitRequest(page, 'setMarks', i);
      assert.deepEqual(r.params, { nodes: ['Plus30', 'ReLU32'], precision, label: precision ? `Set 2 layers to ${precision}` : 'Clear the marks of 2 layers' });
    }
    // Shift+F10 on the focused outline row: the menu, arrow keys and Enter.
    await page.keyboard.press('Shift+F10');
    await page.waitForSelector('[data-testid="graph-menu"]:not([hidden])');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const r = await waitRequest(page, 'setMarks', expect.length);
    assert.deepEqual(r.params, { nodes: ['Plus30', 'ReLU32'], precision: 'skip', label: 'Set 2 layers to skip' });
    assert.ok(await page.isHidden('[data-testid="graph-menu"]'));
    // Focus went back to the outline, and Escape closes a menu without a request.
    await page.keyboard.press('ContextMenu');
    await page.waitForSelector('[data-testid="graph-menu"]:not([hidden])');
    await page.keyboard.press('Escape');
    assert.ok(await page.isHidden('[data-testid="graph-menu"]'));
    assert.equal((await posted(page)).filter((m) => m.type === 'request' && m.method === 'setMarks').length, expect.length + 1);
    // The properties dropdown: the clicked node only.
    await outlineRow(page, 'Times212').click();
    await page.selectOption('[data-testid="prop-precision"]', 'fp16');
    const p = await waitRequest(page, 'setMarks', expect.length + 1);
    assert.deepEqual(p.params, { nodes: ['Times212'], precision: 'fp16', label: 'Set Times212 to fp16' });
    // Search results: "Mark results as…".
    await page.fill('[data-testid="graph-search"]', 'Plus');
    await page.keyboard.press('Enter');
    await page.click('[data-testid="graph-mark-results"]');
    await page.click('[data-testid="menu-results-int16"]');
    const s = await waitRequest(page, 'setMarks', expect.length + 2);
    assert.deepEqual(s.params, { nodes: ['Plus30', 'Plus112', 'Plus214'], precision: 'int16', label: 'Set 3 search results to int16' });
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('marks on missing nodes are counted in the legend with their names in its tooltip; marks in the snapshot draw at once', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx', mnistView, { plan: { Convolution28: 'int8', Times212: 'float', Gone1: 'int8' }, unknown: ['Gone1', 'Gone2'], revision: 3 });
    await page.waitForSelector('[data-testid="marks-missing"]');
    assert.equal(await page.textContent('[data-testid="marks-missing"]'), '2 marks on missing nodes');
    assert.match((await page.getAttribute('[data-testid="marks-missing"]', 'title')) ?? '', /Gone1\nGone2/);
    assert.equal((await decor(page, id(mnistView, 'Times212'))).badge, 'fp32');
    const rows = await page.$$eval('[data-testid="marks-legend"] [data-precision]', (els) => els.map((e) => `${e.getAttribute('data-precision')}:${e.getAttribute('data-count')}`));
    assert.deepEqual(rows, ['int8:1', 'float:1']);
    await page.close();
  });
});

describe('groups, overlay and reveal on a scoped transformer', () => {
  const model = syntheticTransformer(1 + 20 * BLOCK_SIZE);
  const view = buildGraphView(model);
  const layer0 = view.groups.find((g) => g.path === '/encoder/layer.0')!;
  const members = (g: number): number[] => {
    const out: number[] = [];
    const st = [g];
    while (st.length) {
      const x = view.groups[st.pop()!];
      out.push(...x.nodes.filter((n) => view.nodes[n].kind === 'op'));
      st.push(...x.groups);
    }
    return out;
  };

  test('a collapsed group shows its members\' shared precision or "mixed"; "Mark group as…" names every member', async () => {
    const ids = members(layer0.id);
    const plan = Object.fromEntries(ids.map((n) => [view.nodes[n].name, 'int8' as const]));
    const page = await openGraph(model, 'synthetic.onnx', view, { plan, unknown: [], revision: 1 });
    // Collapse /encoder/layer.0 if open, through the outline.
    const row = page.locator(`[data-testid="graph-outline"] [role="treeitem"][data-path="/encoder/layer.0"]`);
    if ((await row.getAttribute('aria-expanded')) === 'true') {
      const seq = await page.getAttribute('[data-testid="graph-view"]', 'data-layout-seq');
      await row.locator('[data-toggle]').first().click();
      await page.waitForFunction((s) => document.querySelector('[data-testid="graph-view"]')?.getAttribute('data-layout-seq') !== s, seq);
    }
    assert.equal((await decor(page, ids[0])).badge, 'i8');
    assert.match((await row.getAttribute('aria-label')) ?? '', /, marked int8$/);
    await sendToWebview(page, { type: 'marks', marks: { plan: { ...plan, [view.nodes[ids[3]].name]: 'int16' }, unknown: [], revision: 2 } });
    await page.waitForFunction((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.itemDecor(n)?.badge === 'mixed', ids[0]);
    assert.match((await row.getAttribute('aria-label')) ?? '', /, marked mixed$/);
    // The group's menu.
    const r = await rectOf(page, ids[0]);
    await page.mouse.click(r.x + r.w / 2, r.y + r.h / 2, { button: 'right' });
    await page.click('[data-testid="menu-group"]');
    await page.click('[data-testid="menu-group-fp16"]');
    const req = await waitRequest(page, 'setMarks');
    assert.deepEqual(req.params, { nodes: ids.map((n) => view.nodes[n].name), precision: 'fp16', label: `Set group ${layer0.label} to fp16` });
    await page.close();
  });

  test('overlay: colours follow the values on the viridis scale, results stream in any order, a new run starts over, groups take the worst member', async () => {
    const page = await openGraph(model, 'synthetic.onnx', view);
    const ops = view.nodes.filter((n) => n.kind === 'op');
    const value = (i: number): number => (i * 37) % 101; // 0..100, in no particular order
    const results = ops.map((n, i) => ({ node: n.name, values: { sensitivity: value(i), sqnrDb: 40 - value(i) / 4 } }));
    // Out of order: odd chunks first, the last message carries done.
    const chunks: (typeof results)[] = [];
    for (let i = 0; i < results.length; i += 50) chunks.push(results.slice(i, i + 50));
    const order = [...chunks.keys()].sort((a, b) => (a % 2) - (b % 2) || b - a);
    for (const [k, c] of order.entries()) await sendToWebview(page, { type: 'layerResults', run: 'r1', source: 'sensitivity', metric: 'sensitivity', results: chunks[c], done: k === order.length - 1 });
    await page.waitForFunction(() => document.querySelector('[data-testid="overlay-legend"]')?.getAttribute('data-max') === '100');
    assert.equal(await page.getAttribute('[data-testid="overlay-legend"]', 'data-min'), '0');
    assert.deepEqual(await page.$$eval('[data-testid="overlay-metric"] option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['sensitivity', 'sqnrDb']);
    // Every visible node's fill is the scale's colour of its value (higher = worse = the yellow end).
    const shown = view.nodes.filter((n) => n.kind === 'op' && n.group === view.nodes[ops[0].id].group).slice(0, 5);
    for (const n of shown) {
      const d = await decor(page, n.id);
      const expected = SCALE[Math.round((value(ops.indexOf(n)) / 100) * 255)];
      // A node inside a collapsed group shows the worst of its group.
      const peers = ops.filter((o) => o.group === n.group).map((o) => value(ops.indexOf(o)));
      assert.ok(d.fill === expected || d.fill === SCALE[Math.round((Math.max(...peers) / 100) * 255)], `${n.name}: ${d.fill} vs ${expected}`);
    }
    // The canvas pixel at the centre of the first visible op node has its fill.
    const vis = [];
    for (const n of ops.slice(0, 60)) {
      const r = await rectOf(page, n.id);
      const box = (await page.locator('[data-testid="graph-canvas"]').boundingBox())!;
      if (r && r.x > box.x && r.y > box.y && r.x + r.w < box.x + box.width - 200 && r.y + r.h < box.y + box.height - 200) vis.push({ n, r });
    }
    assert.ok(vis.length > 0, 'some op node is on screen');
    const { n: first, r } = vis[0];
    const fill = (await decor(page, first.id)).fill!;
    await hook(page, (h) => h.drawFrame());
    const px = await page.evaluate(({ x, y }) => {
      const c = document.querySelector('[data-testid="graph-canvas"]') as HTMLCanvasElement;
      const b = c.getBoundingClientRect();
      const k = c.width / b.width;
      return [...c.getContext('2d')!.getImageData(Math.round((x - b.left) * k), Math.round((y - b.top) * k), 1, 1).data].slice(0, 3);
    }, { x: r.x + r.w / 2, y: r.y + r.h - 4 });
    const want = [1, 3, 5].map((i) => parseInt(fill.slice(i, i + 2), 16));
    assert.ok(px.every((v, i) => Math.abs(v - want[i]) <= 2), `pixel ${px} vs ${want}`);
    // SQNR: lower is worse, so the lowest SQNR takes the yellow end.
    await page.selectOption('[data-testid="overlay-metric"]', 'sqnrDb');
    const worst = ops[results.findIndex((x) => x.values.sensitivity === 100)];
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    const dw = await decor(page, worst.id);
    const peersWorst = ops.filter((o) => o.group === worst.group);
    if (peersWorst.every((o) => o.id === worst.id) || dw.fill === SCALE[255]) assert.equal(dw.fill, SCALE[255]);
    // The tooltip has a line per metric.
    await page.mouse.move(r.x + r.w / 2, r.y + r.h / 2);
    await page.waitForSelector('[data-testid="tooltip-marks"]');
    assert.deepEqual(await page.$$eval('[data-testid="tooltip-marks"] tr', (t) => t.map((x) => x.getAttribute('data-metric'))), ['Sensitivity', 'SQNR (dB)']);
    // A new run starts over: only its results remain.
    await sendToWebview(page, { type: 'layerResults', run: 'r2', source: 'layers', metric: 'mse', results: [{ node: first.name, values: { mse: 0.5 } }], done: false });
    await page.waitForFunction(() => document.querySelector('[data-testid="overlay-legend"]')?.getAttribute('data-metric') === 'mse');
    assert.deepEqual(await page.$$eval('[data-testid="overlay-metric"] option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['mse']);
    assert.equal((await decor(page, ops.find((o) => o.group !== first.group)!.id)).fill, null);
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('revealNode selects the node, opens its groups and centres it', async () => {
    const page = await openGraph(model, 'synthetic.onnx', view);
    const deep = view.nodes.find((n) => n.name.startsWith('/encoder/layer.17/') && n.name.includes('MatMul'))!;
    await sendToWebview(page, { type: 'revealNode', node: deep.name });
    await page.waitForFunction((n) => document.querySelector('[data-testid="prop-name"]')?.textContent === n, deep.name);
    assert.deepEqual(await selected(page), [deep.id]);
    assert.equal(await outlineRow(page, deep.name).getAttribute('aria-selected'), 'true');
    const r = await rectOf(page, deep.id);
    const box = (await page.locator('[data-testid="graph-canvas"]').boundingBox())!;
    assert.ok(Math.abs(r.x + r.w / 2 - (box.x + box.width / 2)) < 2 && Math.abs(r.y + r.h / 2 - (box.y + box.height / 2)) < 2, 'centred');
    assert.deepEqual(await lastSelection(page), [deep.name]);
    await page.close();
  });
});
