/**
 * Marks and results overlays are patched in place (only the items of the nodes a change touches),
 * so these tests look for what a patch could leave behind: a stale badge, fill or outline label.
 * Each page that took a series of updates is compared with what the final state means, computed
 * here from the plan and the values (badge text, viridis colour of the min-max scaled value, the
 * worst member for a collapsed group, "Name, Op, marked p" labels), with canvas pixels read where
 * the badge and the fill are drawn. Real Chromium, the test playing the host.
 *   node --import tsx --test test/webview/graph-incremental.test.ts
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BLOCK_SIZE, syntheticTransformer } from '../../scripts/gen-synthetic-graph';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { MarksState, Precision } from '../../src/protocol';
import { SCALE } from '../../webview/graph/overlay';
import { canvasPixel, cssColour, openGraphPage } from './graphPage';
import { sendToWebview, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
before(async () => (harness = await startHarness()));
after(async () => harness?.close());

const model = syntheticTransformer(1 + 6 * BLOCK_SIZE);
const view: GraphView = buildGraphView(model);
const ops = view.nodes.filter((n) => n.kind === 'op');
const BADGE: Record<Precision, string> = { int8: 'i8', int16: 'i16', fp16: 'f16', float: 'fp32', skip: 'skip' };

type Rect = { x: number; y: number; w: number; h: number };
interface Hook {
  nodeClientRect(n: number): Rect | undefined;
  itemDecor(n: number): { fill: string | null; badge: string | null; selected: boolean } | undefined;
  drawFrame(): number;
  setExpanded(groups: number[]): Promise<boolean>;
  viewport(): { x: number; y: number; k: number };
  outlineSettled(): boolean;
}

const open = (): Promise<Page> => openGraphPage(harness, model, 'synthetic.onnx', view);

/** Sets the open groups (all, or all but `closed` and what is inside it) and waits for the layout. */
async function expand(page: Page, closed?: number): Promise<void> {
  const inside = (g: number): boolean => closed !== undefined && (g === closed || (g > 0 && inside(view.groups[g].parent)));
  const groups = view.groups.map((g) => g.id).filter((g) => g > 0 && !inside(g));
  assert.equal(await page.evaluate((gs) => (window as unknown as { __qlGraph: Hook }).__qlGraph.setExpanded(gs), groups), true);
}

const decorAll = (page: Page): Promise<{ fill: string | null; badge: string | null }[]> =>
  page.evaluate((ids) => ids.map((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.itemDecor(n)!), ops.map((n) => n.id));

/** After the frame that shows an update, and after the outline rows out of view caught up. */
async function settled(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForFunction(() => (window as unknown as { __qlGraph: Hook }).__qlGraph.outlineSettled());
}

async function labels(page: Page): Promise<Map<string, string>> {
  const rows = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', (els) => els.map((e) => [e.textContent ?? '', e.getAttribute('aria-label') ?? '']));
  return new Map(rows as [string, string][]);
}

const pixel = canvasPixel;
const rgb = (hex: string): number[] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const near = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - b[i]) <= 3);

/** A deterministic pseudo-random sequence, so failures replay. */
function random(seed: number): () => number {
  return () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
}

describe('marks patched in place', () => {
  test('after marks set, changed, cleared and a stale revision, every badge and outline label matches the last plan', async () => {
    const page = await open();
    await expand(page);
    const rnd = random(11);
    const precisions: Precision[] = ['int8', 'int16', 'fp16', 'float', 'skip'];
    const plans: Record<string, Precision>[] = [];
    let plan: Record<string, Precision> = {};
    for (let rev = 1; rev <= 4; rev++) {
      plan = { ...plan };
      for (const n of ops) {
        const r = rnd();
        if (r < 0.15) plan[n.name] = precisions[Math.floor(rnd() * 5)];
        else if (r < 0.25) delete plan[n.name];
      }
      plans.push(plan);
      await sendToWebview(page, { type: 'marks', marks: { plan, unknown: [], revision: rev } });
    }
    // An older revision arriving late changes nothing.
    await sendToWebview(page, { type: 'marks', marks: { plan: plans[0], unknown: [], revision: 2 } });
    await settled(page);
    const decor = await decorAll(page);
    const rows = await labels(page);
    const stale: string[] = [];
    ops.forEach((n, i) => {
      const p = plan[n.name];
      if (decor[i].badge !== (p ? BADGE[p] : null)) stale.push(`${n.name}: badge ${decor[i].badge} for ${p}`);
      const want = `${n.name}, ${n.opType}${p ? `, marked ${p}` : ''}`;
      if (rows.get(n.name) !== want) stale.push(`${n.name}: label "${rows.get(n.name)}" for "${want}"`);
    });
    assert.deepEqual(stale, []);
    const counts = await page.$$eval('[data-testid="marks-legend"] [data-precision]', (els) => els.map((e) => `${e.getAttribute('data-precision')}:${e.getAttribute('data-count')}`));
    const want = precisions.map((p) => [p, Object.values(plan).filter((x) => x === p).length] as const).filter(([, c]) => c > 0).map(([p, c]) => `${p}:${c}`);
    assert.deepEqual(counts, want);
    await page.close();
  });

  test('a cleared mark leaves no badge on the canvas; a collapsed group turns from "mixed" to its one precision and back', async () => {
    const page = await open();
    const layer = view.groups.find((g) => g.path === '/encoder/layer.1')!;
    await expand(page, layer.id);
    const inLayer = ops.filter((n) => n.name.startsWith('/encoder/layer.1/'));
    const outside = ops.find((n) => n.name.startsWith('/encoder/layer.2/') && n.opType === 'MatMul')!;
    const all8 = Object.fromEntries(inLayer.map((n) => [n.name, 'int8' as Precision]));
    const hook = (fn: string, arg: unknown): Promise<unknown> => page.evaluate(({ fn, arg }) => (new Function('h', 'arg', `return h.${fn}(arg)`))((window as unknown as { __qlGraph: Hook }).__qlGraph, arg), { fn, arg });
    const groupRow = page.locator('[data-testid="graph-outline"] [role="treeitem"][data-path="/encoder/layer.1"]');
    const step = async (marks: MarksState): Promise<void> => {
      await sendToWebview(page, { type: 'marks', marks });
      await settled(page);
    };
    await step({ plan: { ...all8, [outside.name]: 'int16' }, unknown: [], revision: 1 });
    assert.equal(((await hook('itemDecor', inLayer[0].id)) as { badge: string }).badge, 'i8');
    assert.match((await groupRow.getAttribute('aria-label')) ?? '', /, marked int8$/);
    await step({ plan: { ...all8, [inLayer[2].name]: 'fp16', [outside.name]: 'int16' }, unknown: [], revision: 2 });
    assert.equal(((await hook('itemDecor', inLayer[0].id)) as { badge: string }).badge, 'mixed');
    assert.match((await groupRow.getAttribute('aria-label')) ?? '', /, marked mixed$/);
    // The outside node's badge is drawn in the int16 colour at its corner.
    await page.click('[data-testid="graph-search"]');
    await page.fill('[data-testid="graph-search"]', outside.name);
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.querySelector('[data-testid="prop-name"]')?.textContent === n, outside.name);
    const r = (await hook('nodeClientRect', outside.id)) as Rect;
    const k = ((await hook('viewport', 0)) as { k: number }).k;
    const at = { x: r.x + r.w - 11 * k, y: r.y - 2 * k };
    const int16 = await cssColour(page, '--ql-prec-int16', '#b180d7');
    assert.ok(near(await pixel(page, at.x, at.y), int16), 'int16 badge drawn');
    // Cleared: the outside node's mark goes; the group is all int8 again.
    await step({ plan: all8, unknown: [], revision: 3 });
    assert.equal(((await hook('itemDecor', outside.id)) as { badge: string | null }).badge, null);
    assert.equal(((await hook('itemDecor', inLayer[0].id)) as { badge: string }).badge, 'i8');
    assert.match((await groupRow.getAttribute('aria-label')) ?? '', /, marked int8$/);
    const cleared = await pixel(page, at.x, at.y);
    assert.ok(!near(cleared, int16), `no int16 badge left: ${cleared}`);
    assert.equal(await page.locator('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]', { hasText: outside.name }).first().getAttribute('aria-label'), `${outside.name}, ${outside.opType}`);
    await page.close();
  });
});

describe('overlay patched in place', () => {
  test('results in any order, values replaced, the range moving, a group\'s worst member changing: every fill matches the final values', async () => {
    const page = await open();
    const layer = view.groups.find((g) => g.path === '/encoder/layer.3')!;
    await expand(page, layer.id);
    const rnd = random(5);
    const final = new Map<string, number>();
    // Many small messages, random nodes and order, some values replaced later, the first ones inside the range.
    for (let m = 0; m < 40; m++) {
      const results = Array.from({ length: 25 }, () => {
        const n = ops[Math.floor(rnd() * ops.length)].name;
        const v = m < 20 ? 0.25 + rnd() / 2 : rnd();
        final.set(n, v);
        return { node: n, values: { sensitivity: v } };
      });
      await sendToWebview(page, { type: 'layerResults', run: 'r1', source: 'sensitivity', metric: 'sensitivity', results, done: false });
      if (m % 10 === 9) await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    }
    const inLayer = ops.filter((n) => n.name.startsWith('/encoder/layer.3/'));
    // Make one member of the collapsed group its worst, then lower it so another member is the worst.
    const top = Math.max(...final.values());
    const worst = inLayer[1].name;
    await sendToWebview(page, { type: 'layerResults', run: 'r1', source: 'sensitivity', metric: 'sensitivity', results: [{ node: worst, values: { sensitivity: top } }, { node: inLayer[4].name, values: { sensitivity: top * 0.9 } }], done: false });
    final.set(worst, top);
    final.set(inLayer[4].name, top * 0.9);
    await settled(page);
    const expect = (): (string | null)[] => {
      const vs = [...final.values()];
      const min = Math.min(...vs);
      const max = Math.max(...vs);
      // The view keeps badness in a Float32Array: round the same way.
      const colour = (v: number | undefined): string | null => (v === undefined ? null : SCALE[Math.round(Math.fround((v - min) / (max - min)) * 255)]);
      const groupWorst = Math.max(...inLayer.map((n) => final.get(n.name) ?? -Infinity));
      return ops.map((n) => (n.name.startsWith('/encoder/layer.3/') ? colour(Number.isFinite(groupWorst) ? groupWorst : undefined) : colour(final.get(n.name))));
    };
    const check = async (what: string): Promise<void> => {
      const got = (await decorAll(page)).map((d) => d.fill);
      const want = expect();
      const bad = ops.filter((_, i) => got[i] !== want[i]).map((n) => `${n.name}: ${got[ops.indexOf(n)]} vs ${want[ops.indexOf(n)]}`);
      assert.deepEqual(bad.slice(0, 5), [], `${what}: ${bad.length} stale fills`);
    };
    await check('after streaming');
    // The group's worst member drops below another member (the range stays: other nodes hold min and max).
    await sendToWebview(page, { type: 'layerResults', run: 'r1', source: 'sensitivity', metric: 'sensitivity', results: [{ node: worst, values: { sensitivity: top * 0.5 } }, { node: ops.find((n) => !inLayer.includes(n))!.name, values: { sensitivity: top } }], done: true });
    final.set(worst, top * 0.5);
    final.set(ops.find((n) => !inLayer.includes(n))!.name, top);
    await settled(page);
    await check('after the group\'s worst member changed');
    // The group's box is drawn in its (new) worst member's colour.
    await page.locator('[data-testid="graph-outline"] [role="treeitem"][data-path="/encoder/layer.3"] .qlg-label').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="graph-view"]')?.getAttribute('data-selected')?.startsWith('group:'));
    const r = await page.evaluate((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.nodeClientRect(n)!, inLayer[0].id);
    const fill = (await decorAll(page))[ops.indexOf(inLayer[0])].fill!;
    assert.ok(near(await pixel(page, r.x + r.w - 8, r.y + r.h - 6), rgb(fill)), 'group drawn in its worst member\'s colour');
    await page.close();
  });
});
