/** The graph view in real Chromium: outline, selection, search, keyboard, groups, properties, safety. */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BLOCK_SIZE, syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import { summarize } from '../../src/core/summary';
import { SAMPLE_MODEL, SYSTEM_PYTHON, sharedModel } from '../helpers/paths';
import { cspViolations, expandAllInOutline, posted, sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
let mnist: Model;

before(async () => {
  harness = await startHarness();
  mnist = await openModelFile(SAMPLE_MODEL);
});
after(async () => harness?.close());

/** The test hook (window.__qlGraph) is only installed when the page defines __qlTestHooks before load. */
const HOOK_FLAG = 'window.__qlTestHooks = true;';

async function openPage(): Promise<Page> {
  const page = await harness.browser.newPage();
  await page.addInitScript({ content: HOOK_FLAG });
  await page.goto(harness.url);
  return page;
}

async function openGraph(model: Model, fileName = 'model.onnx', graph: GraphView = buildGraphView(model)): Promise<Page> {
  const page = await openPage();
  await sendToWebview(page, { type: 'snapshot', revision: 1, fileName, state: { kind: 'loaded', summary: summarize(model), openTimeMs: 1, graph } });
  await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
  return page;
}

const outlineNodes = (page: Page): Promise<string[]> =>
  page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => e.textContent ?? ''));
const selectedOutline = (page: Page): Promise<string[]> =>
  page.$$eval('[data-testid="graph-outline"] [role="treeitem"][aria-selected="true"]', (els) => els.map((e) => (e as HTMLElement).dataset.kind === 'node' ? e.textContent ?? '' : `group:${(e as HTMLElement).dataset.path}`));

/** Waits until the selected node (by name) shows in both the outline and the properties panel. */
async function waitSelected(page: Page, name: string): Promise<void> {
  await page.waitForFunction((n) => {
    const sel = document.querySelector('[data-testid="graph-outline"] [role="treeitem"][aria-selected="true"]');
    return sel?.textContent === n && document.querySelector('[data-testid="prop-name"]')?.textContent === n;
  }, name, { timeout: 5000 });
}

/** python3-onnx's node names and op types of mnist-12, the independent reference. */
function mnistReference(): { name: string; op: string }[] {
  const out = execFileSync(SYSTEM_PYTHON, ['-c', 'import json,sys,onnx; print(json.dumps([{"name": n.name, "op": n.op_type} for n in onnx.load(sys.argv[1]).graph.node]))', SAMPLE_MODEL], { encoding: 'utf8' });
  return JSON.parse(out) as { name: string; op: string }[];
}

describe('graph view on mnist-12', () => {
  test('the outline lists every node by name (12 ops + input + output), laid out in a worker, no CSP violations', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    const names = await outlineNodes(page);
    const ref = mnistReference();
    assert.equal(ref.length, 12);
    assert.deepEqual(new Set(names), new Set(['Input3', 'Plus214_Output_0', ...ref.map((n) => n.name)]));
    assert.equal(names.length, 14);
    assert.equal(await page.getAttribute('[data-testid="graph-outline"]', 'role'), 'tree');
    assert.equal(await page.evaluate(() => (window as unknown as { __qlGraph: { layoutMode(): string } }).__qlGraph.layoutMode()), 'worker');
    // The summary stays available, with its contract test ids.
    assert.equal(await page.textContent('[data-testid="node-count"]'), '12');
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('the test hook window.__qlGraph exists only when the page asked for it before load', async () => {
    const plain = await harness.open();
    await sendToWebview(plain, { type: 'snapshot', revision: 1, fileName: 'mnist-12.onnx', state: { kind: 'loaded', summary: summarize(mnist), openTimeMs: 1, graph: buildGraphView(mnist) } });
    await plain.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
    assert.equal(await plain.evaluate(() => typeof (window as unknown as { __qlGraph?: unknown }).__qlGraph), 'undefined');
    await plain.close();
    const hooked = await openGraph(mnist, 'mnist-12.onnx');
    assert.equal(await hooked.evaluate(() => typeof (window as unknown as { __qlGraph?: unknown }).__qlGraph), 'object');
    await hooked.close();
  });

  test('the canvas draws the graph, in the theme colours from VS Code CSS variables', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    const pixels = (): Promise<{ corner: number[]; distinct: number }> => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="graph-canvas"]')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      resolve({ corner: [d[0], d[1], d[2]], distinct: seen.size });
    }))));
    const before = await pixels();
    assert.ok(before.distinct > 5, `only ${before.distinct} colours: nothing drawn`);
    // VS Code changes theme by changing the variables; the view follows.
    await page.evaluate(() => document.documentElement.style.setProperty('--vscode-editor-background', 'rgb(1, 2, 3)'));
    await page.waitForFunction(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="graph-canvas"]')!;
      const d = c.getContext('2d')!.getImageData(0, 0, 1, 1).data;
      return d[0] === 1 && d[1] === 2 && d[2] === 3;
    });
    await page.close();
  });

  test('clicking a node on the canvas selects it: outline and properties follow', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    const id = buildGraphView(mnist).nodes.find((n) => n.name === 'Convolution28')!.id;
    const rect = await page.evaluate((n) => (window as unknown as { __qlGraph: { nodeClientRect(n: number): { x: number; y: number; w: number; h: number } } }).__qlGraph.nodeClientRect(n), id);
    await page.mouse.click(rect.x + rect.w / 2, rect.y + rect.h / 2);
    await waitSelected(page, 'Convolution28');
    assert.deepEqual(await selectedOutline(page), ['Convolution28']);
    // Clicking another node in the outline moves the selection.
    await page.click('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("ReLU32")');
    await waitSelected(page, 'ReLU32');
    assert.deepEqual(await selectedOutline(page), ['ReLU32']);
    await page.close();
  });

  test('properties: attributes, and inputs/outputs with dtype and shape (checked against python3-onnx)', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    await page.click('[data-testid="graph-outline"] [role="treeitem"]:text-is("Convolution28")');
    await waitSelected(page, 'Convolution28');
    assert.equal(await page.textContent('[data-testid="prop-op"]'), 'Conv');
    const ref = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', `
import json, sys, onnx
from onnx import helper
m = onnx.load(sys.argv[1])
n = [x for x in m.graph.node if x.name == 'Convolution28'][0]
inits = {i.name: list(i.dims) for i in m.graph.initializer}
print(json.dumps({'attrs': {a.name: helper.get_attribute_value(a) if a.type != onnx.AttributeProto.STRING else a.s.decode() for a in n.attribute}, 'w': inits[n.input[1]], 'wname': n.input[1]}))`, SAMPLE_MODEL], { encoding: 'utf8' })) as { attrs: Record<string, unknown>; w: number[]; wname: string };
    const attrs = await page.$$eval('[data-testid="prop-attrs"] tr', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-name'), r.getAttribute('data-value')])));
    assert.equal(attrs.kernel_shape, `[${(ref.attrs.kernel_shape as number[]).join(', ')}]`);
    assert.equal(attrs.auto_pad, ref.attrs.auto_pad);
    assert.equal(attrs.group, String(ref.attrs.group));
    const inputs = await page.$$eval('[data-testid="prop-inputs"] tr', (rows) => rows.map((r) => [r.getAttribute('data-name'), r.getAttribute('data-dtype'), r.getAttribute('data-shape'), r.getAttribute('data-constant')]));
    assert.deepEqual(inputs, [
      ['Input3', 'float32', '[1,1,28,28]', 'false'],
      [ref.wname, 'float32', `[${ref.w.join(',')}]`, 'true'],
    ]);
    const outputs = await page.$$eval('[data-testid="prop-outputs"] tr', (rows) => rows.map((r) => r.getAttribute('data-name')));
    assert.deepEqual(outputs, ['Convolution28_Output_0']);
    await page.close();
  });

  test('search by op type, name or tensor name; Enter / Shift+Enter / arrows walk the results', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    const search = page.locator('[data-testid="graph-search"]');
    await search.fill('relu');
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-search-count"]')?.textContent === '– / 2');
    await search.press('Enter');
    await waitSelected(page, 'ReLU32');
    assert.equal(await page.textContent('[data-testid="graph-search-count"]'), '1 / 2');
    await search.press('Enter');
    await waitSelected(page, 'ReLU114');
    assert.equal(await page.textContent('[data-testid="graph-search-count"]'), '2 / 2');
    await search.press('ArrowDown'); // wraps around
    await waitSelected(page, 'ReLU32');
    await search.press('Shift+Enter');
    await waitSelected(page, 'ReLU114');
    // A tensor name finds the node that writes it; a constant's name finds the nodes that read it.
    // ('Times212_reshape0' writes 'Pooling160_Output_0_reshape0', which contains the query.)
    await search.fill('Pooling160_Output_0');
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-search-count"]')?.textContent === '– / 2');
    await search.press('Enter');
    await waitSelected(page, 'Pooling160');
    await search.press('Enter');
    await waitSelected(page, 'Times212_reshape0');
    await search.fill('parameter87');
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-search-count"]')?.textContent === '– / 1');
    await search.press('Enter');
    await waitSelected(page, 'Convolution110');
    await search.fill('no such thing');
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-search-count"]')?.textContent === 'No results');
    await page.close();
  });

  test('arrow keys on the graph follow edges: Down to a consumer, Up to a producer', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    await page.click('[data-testid="graph-outline"] [role="treeitem"]:text-is("Convolution28")');
    await waitSelected(page, 'Convolution28');
    await page.focus('[data-testid="graph-canvas"]');
    await page.keyboard.press('ArrowDown');
    await waitSelected(page, 'Plus30');
    await page.keyboard.press('ArrowDown');
    await waitSelected(page, 'ReLU32');
    await page.keyboard.press('ArrowUp');
    await waitSelected(page, 'Plus30');
    await page.keyboard.press('ArrowUp');
    await waitSelected(page, 'Convolution28');
    await page.keyboard.press('ArrowUp');
    await waitSelected(page, 'Input3');
    await page.close();
  });

  test('the outline is keyboard navigable as a tree (Down/Up move the selection)', async () => {
    const page = await openGraph(mnist, 'mnist-12.onnx');
    await page.click('[data-testid="graph-outline"] [role="treeitem"]:text-is("Plus30")');
    await waitSelected(page, 'Plus30');
    const order = await outlineNodes(page);
    const i = order.indexOf('Plus30');
    await page.keyboard.press('ArrowDown');
    await waitSelected(page, order[i + 1]);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), order[i + 1]);
    await page.keyboard.press('ArrowUp');
    await waitSelected(page, 'Plus30');
    await page.close();
  });
});

describe('graph view on a TFLite model', () => {
  test('vww_96_int8: every node is reachable in the outline; a conv shows its quantized weights', async () => {
    const model = await openModelFile(sharedModel('tflite', 'mlperf-tiny', 'visual_wake_words', 'trained_models', 'vww_96_int8.tflite'));
    const view = buildGraphView(model);
    const page = await openGraph(model, 'vww_96_int8.tflite');
    // Open every group through the outline's keyboard (Right on a closed group), then compare.
    await expandAllInOutline(page);
    assert.deepEqual((await outlineNodes(page)).sort(), view.nodes.map((n) => n.name).sort());
    const conv = view.nodes.find((n) => n.opType === 'CONV_2D')!;
    await page.click(`[data-testid="graph-outline"] [role="treeitem"][data-id="${conv.id}"][data-kind="node"]`);
    await waitSelected(page, conv.name);
    const w = view.tensors[conv.inputs[1]];
    const row = page.locator(`[data-testid="prop-inputs"] tr[data-name="${w.name.replace(/"/g, '\\"')}"]`);
    assert.equal(await row.getAttribute('data-dtype'), 'int8');
    assert.equal(await row.getAttribute('data-shape'), `[${(w.shape ?? []).join(',')}]`);
    assert.equal(await row.getAttribute('data-constant'), 'true');
    await page.close();
  });
});

describe('graph view on a synthetic scoped transformer', () => {
  const model = syntheticTransformer(1 + 20 * BLOCK_SIZE);
  const view = buildGraphView(model);

  test('groups start collapsed where the graph is big; expanding shows their nodes, collapsing hides them', async () => {
    const page = await openGraph(model);
    const before = await outlineNodes(page);
    assert.ok(before.length < view.nodes.length, 'not everything is shown at first');
    // The first collapsed group in the outline.
    const group = page.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]').first();
    const path = (await group.getAttribute('data-path'))!;
    const g = view.groups.find((x) => x.path === path)!;
    const inside = view.nodes.filter((n) => (n.name + '/').startsWith(path + '/')).map((n) => n.name);
    assert.ok(inside.length > 0);
    assert.ok(inside.every((n) => !before.includes(n)));
    await group.locator('[data-toggle]').click();
    const expanded = page.locator(`[data-testid="graph-outline"] [role="treeitem"][data-path="${path}"]`);
    await page.waitForFunction((p) => document.querySelector(`[role="treeitem"][data-path="${p}"]`)?.getAttribute('aria-expanded') === 'true', path);
    const afterOpen = await outlineNodes(page);
    // Its direct nodes are now listed (child groups show as collapsed groups).
    for (const n of g.nodes) assert.ok(afterOpen.includes(view.nodes[n].name), view.nodes[n].name);
    assert.equal(afterOpen.length, before.length + g.nodes.length);
    // Collapse with the keyboard (Left on an open group).
    await expanded.focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((p) => document.querySelector(`[role="treeitem"][data-path="${p}"]`)?.getAttribute('aria-expanded') === 'false', path);
    assert.deepEqual(await outlineNodes(page), before);
    await page.close();
  });

  test('searching for a node hidden in a collapsed group opens its groups and selects it', async () => {
    const page = await openGraph(model);
    const target = '/encoder/layer.19/intermediate/intermediate_act_fn/Erf_ge';
    assert.ok(!(await outlineNodes(page)).includes(target));
    await page.fill('[data-testid="graph-search"]', 'layer.19/intermediate/intermediate_act_fn/Erf');
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-search-count"]')?.textContent === '– / 1');
    await page.press('[data-testid="graph-search"]', 'Enter');
    await waitSelected(page, target);
    const expanded = await page.$$eval('[role="treeitem"][aria-expanded="true"]', (els) => els.map((e) => e.getAttribute('data-path')));
    for (const p of ['/encoder/layer.19', '/encoder/layer.19/intermediate', '/encoder/layer.19/intermediate/intermediate_act_fn']) assert.ok(expanded.includes(p), p);
    assert.equal(await page.textContent('[data-testid="prop-scope"]'), '/encoder/layer.19/intermediate/intermediate_act_fn');
    await page.close();
  });

  test('Left/Right move between siblings (the consumers of the same producer)', async () => {
    const page = await openGraph(model);
    await page.fill('[data-testid="graph-search"]', '/encoder/layer.3/attention/self/query/MatMul_q');
    await page.press('[data-testid="graph-search"]', 'Enter');
    await waitSelected(page, '/encoder/layer.3/attention/self/query/MatMul_q');
    await page.focus('[data-testid="graph-canvas"]');
    // The block input feeds query, key, value and the residual Add, in that order.
    await page.keyboard.press('ArrowRight');
    await waitSelected(page, '/encoder/layer.3/attention/self/key/MatMul_k');
    await page.keyboard.press('ArrowRight');
    await waitSelected(page, '/encoder/layer.3/attention/self/value/MatMul_v');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await waitSelected(page, '/encoder/layer.3/attention/self/query/MatMul_q');
    await page.keyboard.press('ArrowUp');
    await waitSelected(page, '/encoder/layer.2/output/LayerNorm/Add_b2');
    await page.close();
  });

  test('zoom buttons and the minimap move the viewport', async () => {
    const page = await openGraph(model);
    const vp = (): Promise<{ x: number; y: number; k: number }> => page.evaluate(() => (window as unknown as { __qlGraph: { viewport(): { x: number; y: number; k: number } } }).__qlGraph.viewport());
    const v0 = await vp();
    await page.click('[data-testid="graph-zoom-in"]');
    const v1 = await vp();
    assert.ok(Math.abs(v1.k / v0.k - 1.25) < 1e-9, `${v0.k} → ${v1.k}`);
    // Clicking near the minimap's bottom moves the view down the (tall) graph, at the same zoom.
    const box = (await page.locator('[data-testid="graph-minimap"]').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height - 8);
    const v2 = await vp();
    assert.equal(v2.k, v1.k);
    assert.ok(v2.y > v1.y + 100, `${v1.y} → ${v2.y}`);
    // Fit (one click) zooms out from the legible first view to the whole graph.
    await page.click('[data-testid="graph-fit"]');
    const fit = await vp();
    assert.ok(fit.k < v0.k, `fit ${fit.k} vs first view ${v0.k}`);
    assert.equal(await page.getAttribute('[data-testid="graph-view"]', 'data-zoom'), fit.k.toFixed(4));
    await page.close();
  });

  test('selecting a collapsed group shows its size and op mix', async () => {
    const page = await openGraph(model);
    const group = page.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]').first();
    const path = (await group.getAttribute('data-path'))!;
    await group.locator('.qlg-label').click();
    const g = view.groups.find((x) => x.path === path)!;
    await page.waitForFunction((l) => document.querySelector('[data-testid="prop-name"]')?.textContent === l, g.label);
    assert.equal(await page.textContent('[data-testid="prop-op"]'), `Group · ${g.size} nodes`);
    const mix = await page.$$eval('[data-testid="prop-opmix"] tr', (rows) => rows.map((r) => [r.getAttribute('data-name'), Number(r.children[1].textContent)]));
    assert.deepEqual(mix, g.opMix);
    await page.close();
  });
});

describe('layout requests', () => {
  test('a newer layout cancels a long one in flight instead of waiting for it', async () => {
    // Opening every group of 10,000 nodes takes seconds; collapsing right after must not wait.
    const model = syntheticTransformer(10_000);
    const page = await openGraph(model);
    const before = await outlineNodes(page);
    const result = await page.evaluate(async () => {
      type Hook = { expandAll(): Promise<number>; setExpanded(g: number[]): Promise<boolean>; layoutRestarts(): number };
      const hook = (window as unknown as { __qlGraph: Hook }).__qlGraph;
      let longDone = false;
      const long = hook.expandAll().then(() => { longDone = true; });
      await new Promise((r) => setTimeout(r, 400));
      const t0 = performance.now();
      const applied = await hook.setExpanded([]);
      const ms = performance.now() - t0;
      await long;
      return { ms, applied, longDoneBeforeShort: longDone, restarts: hook.layoutRestarts() };
    });
    assert.equal(result.applied, true);
    assert.equal(result.restarts, 1);
    assert.ok(result.ms < 2500, `the short layout took ${result.ms} ms`);
    // Only the root is open now: the outline shows just the root's own nodes (graph input/output).
    const view = buildGraphView(model);
    const after = await outlineNodes(page);
    assert.ok(after.length < before.length);
    assert.deepEqual(new Set(after), new Set(view.groups[0].nodes.map((n) => view.nodes[n].name)));
    await page.close();
  });

  test('without Web Workers the layout runs on the main thread, and the host is told why', async () => {
    const page = await harness.browser.newPage();
    // (A string, not a function: tsx's helpers would not exist inside the page.)
    await page.addInitScript({ content: "window.Worker = function () { throw new Error('workers disabled for this test'); };" + HOOK_FLAG });
    await page.goto(harness.url);
    await sendToWebview(page, { type: 'snapshot', revision: 1, fileName: 'mnist-12.onnx', state: { kind: 'loaded', summary: summarize(mnist), openTimeMs: 1, graph: buildGraphView(mnist) } });
    await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
    assert.equal(await page.evaluate(() => (window as unknown as { __qlGraph: { layoutMode(): string } }).__qlGraph.layoutMode()), 'main-thread');
    assert.equal((await outlineNodes(page)).length, 14);
    const logs = (await posted(page)).filter((m) => m.type === 'log');
    assert.ok(logs.some((m) => m.type === 'log' && m.level === 'warn' && m.message.includes('workers disabled for this test')), JSON.stringify(logs));
    await page.close();
  });
});

describe('view state', () => {
  test('selection, open groups and viewport survive a reload (getState/setState), and only for the same graph', async () => {
    const model = syntheticTransformer(1 + 20 * BLOCK_SIZE);
    const graph = buildGraphView(model);
    const msg = { type: 'snapshot' as const, revision: 1, fileName: 'x.onnx', state: { kind: 'loaded' as const, summary: summarize(model), openTimeMs: 1, graph } };
    const page = await openPage();
    await sendToWebview(page, msg);
    await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
    const group = page.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]').first();
    const path = (await group.getAttribute('data-path'))!;
    await group.locator('[data-toggle]').click();
    await page.waitForFunction((p) => document.querySelector(`[role="treeitem"][data-path="${p}"]`)?.getAttribute('aria-expanded') === 'true', path);
    const inside = graph.groups.find((g) => g.path === path)!.nodes[0];
    const name = graph.nodes[inside].name;
    await page.click(`[data-testid="graph-outline"] [role="treeitem"][data-kind="node"][data-id="${inside}"]`);
    await waitSelected(page, name);
    await page.click('[data-testid="graph-zoom-in"]');
    await page.waitForTimeout(400);
    const saved = await page.evaluate(() => (window as unknown as { __state: { graph: { viewport: unknown } } }).__state.graph.viewport);
    await page.reload();
    await sendToWebview(page, msg);
    await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
    await waitSelected(page, name);
    assert.equal(await page.getAttribute(`[role="treeitem"][data-path="${path}"]`, 'aria-expanded'), 'true');
    await page.waitForTimeout(300);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __state: { graph: { viewport: unknown } } }).__state.graph.viewport), saved);
    // A different model ignores the saved state: nothing selected.
    await page.reload();
    await sendToWebview(page, { ...msg, fileName: 'other.onnx' });
    await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
    assert.equal(await page.locator('[role="treeitem"][aria-selected="true"]').count(), 0);
    await page.close();
  });
});

describe('hostile model strings', () => {
  test('a node named <img src=x onerror=alert(1)> is shown as text everywhere', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const m = syntheticTransformer(3);
    const g = m.graphs[0];
    g.nodes[1].name = evil;
    g.nodes[1].opType = '<b>op</b>';
    g.nodes[2].name = `/<script>window.__pwned=2</script>/${evil}/x`;
    g.nodes[1].attributes = [{ name: '<i>a</i>', value: { type: 'string', value: '<img src=y onerror="window.__pwned=3">' } }];
    const page = await openGraph(m, '<i>evil</i>.onnx');
    assert.ok((await outlineNodes(page)).includes(evil));
    await page.click(`[data-testid="graph-outline"] [role="treeitem"][data-kind="node"] >> text="${evil}"`);
    await waitSelected(page, evil);
    assert.equal(await page.textContent('[data-testid="prop-op"]'), '<b>op</b>');
    assert.equal(await page.getAttribute('[data-testid="prop-attrs"] tr', 'data-value'), '<img src=y onerror="window.__pwned=3">');
    // The scope made of markup is a group label, also as text.
    // ('/' splits scopes, so the '</script>' closing tag cuts this label short.)
    assert.deepEqual(await page.$$eval('[data-testid="graph-outline"] .qlg-label', (els) => els.map((e) => e.textContent).filter((t) => t?.includes('<'))), ['<script>window.__pwned=2<', evil]);
    assert.equal(await page.locator('img, b, i, [data-testid="graph-view"] script').count(), 0);
    await page.waitForTimeout(100);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });
});
