/**
 * The graph's side of the compare view, in real Chromium with the test playing the host: a
 * `followViewport` centres the named node at the zoom without moving the selection or reporting
 * back; while linked, a pan posts one debounced `viewport` naming the node nearest the centre
 * (found here from the nodes' on-screen boxes); unlinked, nothing; `selectNodes` selects the
 * matched nodes quietly; the toolbar's indicator and its Unlink button.
 *   node --import tsx --test test/webview/graph-compare.test.ts
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import type { WebviewToHost } from '../../src/protocol';
import { VIEWPORT_REPORT_MS } from '../../webview/graph/compareSync';
import { SAMPLE_MODEL } from '../helpers/paths';
import { cspViolations, posted, sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let mnist: Model;
let view: GraphView;

before(async () => {
  harness = await startHarness();
  mnist = await openModelFile(SAMPLE_MODEL);
  view = buildGraphView(mnist);
});
after(async () => harness?.close());

type Rect = { x: number; y: number; w: number; h: number };
interface Hook {
  nodeClientRect(n: number): Rect | undefined;
  viewport(): { x: number; y: number; k: number };
  selectedNodes(): number[];
}
const hook = <T>(page: Page, fn: (h: Hook, arg: number) => T, arg = 0): Promise<T> =>
  page.evaluate(({ src, arg }) => (new Function('h', 'arg', `return (${src})(h, arg)`))((window as unknown as { __qlGraph: Hook }).__qlGraph, arg), { src: fn.toString(), arg }) as Promise<T>;
const id = (name: string): number => view.nodes.find((n) => n.name === name)!.id;

async function openGraph(): Promise<Page> {
  const page = await harness.browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript({ content: 'window.__qlTestHooks = true;' });
  await page.goto(harness.url);
  await sendToWebview(page, { type: 'snapshot', revision: 1, fileName: 'mnist-12.onnx', state: { kind: 'loaded', summary: summarize(mnist), openTimeMs: 1, graph: view } });
  await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
  return page;
}

const viewports = async (page: Page) => (await posted(page)).filter((m): m is Extract<WebviewToHost, { type: 'viewport' }> => m.type === 'viewport');
const canvasRect = (page: Page) => page.locator('[data-testid="graph-canvas"]').evaluate((el) => {
  const r = el.getBoundingClientRect();
  return { x: r.left, y: r.top, w: r.width, h: r.height };
});

/** The node whose on-screen box centre is nearest the canvas centre, from the boxes the test hook reports. */
async function nodeNearestCentre(page: Page): Promise<string> {
  const c = await canvasRect(page);
  const [cx, cy] = [c.x + c.w / 2, c.y + c.h / 2];
  let best = '';
  let bestD = Infinity;
  for (const n of view.nodes) {
    const r = await hook(page, (h, i) => h.nodeClientRect(i), n.id);
    if (!r) continue;
    const d = (r.x + r.w / 2 - cx) ** 2 + (r.y + r.h / 2 - cy) ** 2;
    if (d < bestD) [best, bestD] = [n.name, d];
  }
  return best;
}

async function drag(page: Page, dx: number, dy: number): Promise<void> {
  const c = await canvasRect(page);
  await page.mouse.move(c.x + 40, c.y + c.h - 40);
  await page.mouse.down();
  await page.mouse.move(c.x + 40 + dx, c.y + c.h - 40 + dy, { steps: 8 });
  await page.mouse.up();
}

/** Pointer events of one drag, dispatched within one task on the canvas (pointer id 1 is the mouse's). */
async function burstDrag(page: Page, dx: number, dy: number, moves: number): Promise<void> {
  const c = await canvasRect(page);
  // As source text: the test's TypeScript transform would name inner functions with a helper the page lacks.
  await page.evaluate(`(() => {
    const [x, y, dx, dy, moves] = ${JSON.stringify([c.x + c.w / 2, c.y + c.h / 2, dx, dy, moves])};
    const el = document.querySelector('[data-testid="graph-canvas"]');
    function ev(type, cx, cy) {
      el.dispatchEvent(new PointerEvent(type, { pointerId: 1, isPrimary: true, clientX: cx, clientY: cy, button: 0, buttons: type === 'pointerup' ? 0 : 1, bubbles: true }));
    }
    ev('pointerdown', x, y);
    for (let i = 1; i <= moves; i++) ev('pointermove', x + (dx * i) / moves, y + (dy * i) / moves);
    ev('pointerup', x + dx, y + dy);
  })()`);
}

test('followViewport centres the node at the zoom, keeps the selection and posts nothing back', async () => {
  const page = await openGraph();
  await sendToWebview(page, { type: 'compareLink', peer: 'mnist-12-int8.onnx', enabled: true });
  await page.locator('[data-testid="graph-compare-link"]').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('[data-testid="graph-compare-label"]'), 'Linked with mnist-12-int8.onnx');
  // Something selected first, so a moved selection would show.
  await sendToWebview(page, { type: 'selectNodes', nodes: ['Pooling66'] });
  await page.waitForFunction((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.selectedNodes().join() === String(n), id('Pooling66'));
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 3);
  const before = (await posted(page)).length;

  for (const [node, zoom] of [['Convolution110', 1.5], ['Times212', 0.7]] as const) {
    await sendToWebview(page, { type: 'followViewport', node, zoom });
    await page.waitForFunction((k) => Math.abs((window as unknown as { __qlGraph: Hook }).__qlGraph.viewport().k - k) < 1e-9, zoom);
    const r = (await hook(page, (h, n) => h.nodeClientRect(n), id(node)))!;
    const c = await canvasRect(page);
    assert.ok(Math.abs(r.x + r.w / 2 - (c.x + c.w / 2)) < 1 && Math.abs(r.y + r.h / 2 - (c.y + c.h / 2)) < 1, `${node} centred: ${JSON.stringify(r)} in ${JSON.stringify(c)}`);
  }
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 4);
  const after = (await posted(page)).slice(before);
  assert.deepEqual(after.filter((m) => m.type === 'viewport' || m.type === 'selection'), [], 'no viewport and no selection posted back');
  assert.deepEqual(await hook(page, (h) => h.selectedNodes()), [id('Pooling66')]);
  // A node this graph does not have moves nothing.
  const vp = await hook(page, (h) => h.viewport());
  await sendToWebview(page, { type: 'followViewport', node: 'Convolution110_quant', zoom: 2 });
  await page.waitForTimeout(50);
  assert.deepEqual(await hook(page, (h) => h.viewport()), vp);
  assert.deepEqual(await cspViolations(page), []);
  await page.close();
});

test('while linked a pan posts one debounced viewport naming the node at the centre; unlinked, none', async () => {
  const page = await openGraph();
  await drag(page, 120, -60);
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 4);
  assert.deepEqual(await viewports(page), [], 'not linked: no report');

  await sendToWebview(page, { type: 'compareLink', peer: 'q.onnx', enabled: true });
  await page.locator('[data-testid="graph-compare-link"]').waitFor({ state: 'visible' });
  // A drag whose moves come faster than the quiet time (as a pointer's do, ~60 a second): one report.
  await burstDrag(page, -200, -150, 12);
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'viewport'));
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 4);
  const reports = await viewports(page);
  assert.equal(reports.length, 1, JSON.stringify(reports));
  assert.equal(reports[0].center, await nodeNearestCentre(page));
  assert.equal(reports[0].zoom, (await hook(page, (h) => h.viewport())).k);
  // A real mouse drag (its moves may come slower on a loaded machine, so maybe several reports): the last names the final centre.
  await drag(page, 150, 90);
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 4);
  const last = (await viewports(page)).at(-1)!;
  assert.ok((await viewports(page)).length > 1);
  assert.equal(last.center, await nodeNearestCentre(page));
  const linkedReports = (await viewports(page)).length;

  // Unlink from the toolbar, by keyboard (Tab from the button before it): the host is told, the indicator goes, pans are not reported.
  await page.locator('[data-testid="graph-export-svg"] button').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.locator('[data-testid="graph-compare-unlink"] button').evaluate((b) => b.matches(':focus')), true, 'Tab reaches Unlink');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'unlinkCompare'));
  assert.equal(await page.locator('[data-testid="graph-compare-link"]').isVisible(), false);
  await drag(page, 100, 100);
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 4);
  assert.equal((await viewports(page)).length, linkedReports, 'no report after Unlink');
  await page.close();
});

test('selectNodes selects the matched nodes with the first as primary, and that move is not reported', async () => {
  const page = await openGraph();
  await sendToWebview(page, { type: 'compareLink', peer: 'q.onnx', enabled: true });
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 2);
  const before = (await posted(page)).length;
  await sendToWebview(page, { type: 'selectNodes', nodes: ['Plus214', 'no such node', 'Times212'] });
  await page.waitForFunction((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.selectedNodes().length === n, 2);
  assert.deepEqual(await hook(page, (h) => h.selectedNodes()), [id('Times212'), id('Plus214')].sort((a, b) => a - b));
  assert.equal(await page.getAttribute('[data-testid="graph-view"]', 'data-selected'), `node:${id('Plus214')}`);
  await page.waitForTimeout(VIEWPORT_REPORT_MS * 4);
  const after = (await posted(page)).slice(before);
  assert.deepEqual(after.filter((m) => m.type === 'viewport'), []);
  assert.deepEqual(after.filter((m) => m.type === 'selection').map((m) => m.type === 'selection' && m.nodes.sort()), [['Plus214', 'Times212']], 'the host hears the new selection once');
  await sendToWebview(page, { type: 'selectNodes', nodes: [] });
  await page.waitForFunction(() => (window as unknown as { __qlGraph: Hook }).__qlGraph.selectedNodes().length === 0);
  await page.close();
});
