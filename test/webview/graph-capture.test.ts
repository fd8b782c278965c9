/**
 * The graph image for reports, in real Chromium with the test playing the host: after a
 * layerResults overlay, captureGraph answers (graphImage) with an SVG of the whole graph whose node
 * boxes have the overlay colours of their values, the precision badges, a legend, model strings
 * escaped, and the user's view unmoved.
 *   node --import tsx --test test/webview/graph-capture.test.ts
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import { openModelFile } from '../../src/core/open';
import type { Model } from '../../src/core/model';
import type { WebviewToHost } from '../../src/protocol';
import { MAX_WHOLE_ITEMS } from '../../webview/graph/captureGraph';
import { SCALE } from '../../webview/graph/overlay';
import { SAMPLE_MODEL } from '../helpers/paths';
import { openGraphPage } from './graphPage';
import { cspViolations, posted, sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let model: Model;
let view: GraphView;
before(async () => {
  harness = await startHarness();
  model = await openModelFile(SAMPLE_MODEL);
  view = buildGraphView(model);
});
after(async () => harness?.close());

const HOSTILE = '<script>alert(1)</script>&"x"';

test('captureGraph answers an SVG whose node fills are the overlay colours, with badges, legend and escaped names', async () => {
  const g: GraphView = structuredClone(view);
  const ops = g.nodes.filter((n) => n.kind === 'op');
  ops[1].name = HOSTILE;
  const marked = ops[2].name;
  const page = await openGraphPage(harness, model, 'mnist.onnx', g, { plan: { [marked]: 'int16' }, unknown: [], revision: 1 });
  const hook = <T>(f: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(({ f, args }) => (window as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>).__qlGraph[f](...args) as T, { f, args });
  // Sensitivity = the op's index: higher is worse, so op i takes SCALE[round(i / (n-1) * 255)].
  const results = ops.map((n, i) => ({ node: n.name, values: { sensitivity: i } }));
  await sendToWebview(page, { type: 'layerResults', run: 'r1', source: 'sensitivity', metric: 'sensitivity', results, done: true });
  await page.waitForFunction((max) => document.querySelector('[data-testid="overlay-legend"]')?.getAttribute('data-max') === String(max), ops.length - 1);
  const vpBefore = await page.evaluate(() => JSON.stringify((window as unknown as { __qlGraph: { viewport(): unknown } }).__qlGraph.viewport()));

  await sendToWebview(page, { type: 'captureGraph', id: 41 });
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'graphImage'));
  const answer = (await posted(page)).find((m): m is Extract<WebviewToHost, { type: 'graphImage' }> => m.type === 'graphImage')!;
  assert.equal(answer.id, 41);
  assert.equal(answer.error, undefined);
  const svg = answer.svg!;
  assert.doesNotMatch(svg, /<script/i, 'the node name is escaped');

  const parsed = await page.evaluate((text) => {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const nodes = [...doc.querySelectorAll('g.node')].map((e) => ({
      name: e.getAttribute('data-name'), fill: e.querySelector('rect')!.getAttribute('fill'),
      badge: e.querySelector('g.badge text')?.textContent ?? null, title: e.querySelector('title')?.textContent,
    }));
    return {
      error: doc.querySelector('parsererror')?.textContent ?? null, nodes,
      legend: [...doc.querySelectorAll('g.legend text')].map((t) => t.textContent), metric: doc.querySelector('g.legend')?.getAttribute('data-metric'),
      scripts: doc.querySelectorAll('script').length,
    };
  }, svg);
  assert.equal(parsed.error, null, 'well-formed XML');
  assert.equal(parsed.scripts, 0);
  assert.equal(parsed.nodes.length, g.nodes.length, 'the whole graph, every node (MNIST has no groups)');
  for (const [i, n] of ops.entries()) {
    const s = parsed.nodes.find((x) => x.name === n.name);
    assert.ok(s, `${n.name} drawn`);
    assert.equal(s.fill, SCALE[Math.round((i / (ops.length - 1)) * 255)], `${n.name}: fill from its value`);
    const d = await hook<{ fill: string | null; badge: string | null }>('itemDecor', n.id);
    assert.equal(s.fill, d.fill, `${n.name}: the canvas's fill`);
    assert.equal(s.badge, d.badge, `${n.name}: the canvas's badge`);
  }
  assert.ok(parsed.nodes.find((x) => x.name === marked)?.badge, 'the marked node carries a badge');
  assert.ok(parsed.nodes.some((x) => x.name === HOSTILE && x.title?.includes(HOSTILE)), 'the hostile name survives as text');
  assert.equal(parsed.metric, 'sensitivity');
  assert.deepEqual(parsed.legend, ['sensitivity: Sensitivity', '0 better', `worse ${ops.length - 1}`]);
  const vpAfter = await page.evaluate(() => JSON.stringify((window as unknown as { __qlGraph: { viewport(): unknown } }).__qlGraph.viewport()));
  assert.equal(vpAfter, vpBefore, 'the view did not move');
  assert.deepEqual(await cspViolations(page), []);
  await page.close();
});

test('a graph with more drawn items than one image holds is captured as the current view, and the title says so', async () => {
  const big = syntheticTransformer(MAX_WHOLE_ITEMS + 500);
  const g = buildGraphView(big);
  const page = await openGraphPage(harness, big, 'big.onnx', g);
  await page.evaluate(() => (window as unknown as { __qlGraph: { expandAll(): Promise<number> } }).__qlGraph.expandAll());
  await sendToWebview(page, { type: 'captureGraph', id: 7 });
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'graphImage'), undefined, { timeout: 30_000 });
  const svg = (await posted(page)).find((m): m is Extract<WebviewToHost, { type: 'graphImage' }> => m.type === 'graphImage')!.svg!;
  const got = await page.evaluate(({ text, count }) => {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const hook = (window as unknown as { __qlGraph: { nodeClientRect(n: number): { x: number; y: number; w: number; h: number } | undefined } }).__qlGraph;
    const box = document.querySelector('[data-testid="graph-canvas"]')!.getBoundingClientRect();
    // Nodes the canvas shows at least partly (the SVG keeps what touches the view).
    let inView = 0;
    for (let n = 0; n < count; n++) {
      const r = hook.nodeClientRect(n);
      if (r && r.x + r.w >= box.x && r.y + r.h >= box.y && r.x <= box.x + box.width && r.y <= box.y + box.height) inView++;
    }
    return { title: doc.querySelector('svg > title')?.textContent ?? '', nodes: doc.querySelectorAll('g.node').length, inView, error: doc.querySelector('parsererror') !== null };
  }, { text: svg, count: g.nodes.length });
  assert.equal(got.error, false);
  assert.match(got.title, /current view only/);
  assert.ok(got.nodes > 0 && got.nodes < g.nodes.length, `${got.nodes} of ${g.nodes.length} nodes drawn`);
  assert.ok(Math.abs(got.nodes - got.inView) <= 2, `${got.nodes} drawn vs ${got.inView} in view`);
  await page.close();
});
