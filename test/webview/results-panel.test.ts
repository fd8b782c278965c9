/**
 * The results panel in real Chromium, inside the extension's strict CSP (no 'unsafe-eval'), fed with
 * real results: the core's sensitivity, evaluation, robustness and autotune on samples/mnist-12.onnx.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { PROTOCOL_VERSION, type ResultsPanelToHost, type SelectLayersMessage } from '../../src/protocol';
import { realResults, type RealResults } from './results-data';
import { panelCspViolations, panelPosted, sendToPanel, startResultsHarness, waitPosted, type ResultsHarness } from './results-harness';

let harness: ResultsHarness;
let real: RealResults;

before(async () => {
  [harness, real] = await Promise.all([startResultsHarness(), realResults()]);
});
after(async () => harness?.close());

const isSelect = (m: ResultsPanelToHost): m is SelectLayersMessage => m.type === 'selectLayers';
const BARS = '[data-testid="results-layers-chart"] .mark-rect path';

/** Opens the panel, sends the real state and waits until every chart is drawn. */
async function openWithResults(): Promise<{ page: Page; consoleErrors: string[] }> {
  const opened = await harness.open();
  await opened.page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
  await sendToPanel(opened.page, { type: 'resultsState', state: real.state });
  await opened.page.waitForFunction((rev) => document.getElementById('app')?.dataset.drawn === String(rev), real.state.revision);
  return opened;
}

/** The layer a bar stands for, read from its accessible label ("…; layer: Convolution28; op: …"). */
async function barLayers(page: Page): Promise<Array<{ layer: string; fill: string }>> {
  return page.$$eval(BARS, (paths) => paths.map((p) => ({ layer: /layer: ([^;]+);/.exec(p.getAttribute('aria-label') ?? '')?.[1] ?? '', fill: p.getAttribute('fill') ?? '' })));
}

describe('results panel', () => {
  test('the CSP of the page is strict: nonce scripts only, no unsafe-eval or unsafe-inline', async () => {
    const { page } = await harness.open();
    const csp = /content="([^"]+)"/.exec(harness.html)?.[1] ?? '';
    assert.match(csp, /script-src 'nonce-[^']+'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline/);
    assert.deepEqual((await panelPosted(page))[0], { type: 'ready', protocolVersion: PROTOCOL_VERSION });
    await page.close();
  });

  test('draws every section from real mnist-12 results, one bar per layer sorted by sensitivity, with no CSP violation or console error', async () => {
    const { page, consoleErrors } = await openWithResults();
    const layers = real.sensitivity.layers;
    const bars = await barLayers(page);
    assert.equal(bars.length, layers.length, 'one bar per measured layer');
    // Worst (largest recovery) at the top, checked against the report's own numbers.
    const expected = [...layers].sort((a, b) => b.recovery - a.recovery).map((l) => l.recovery);
    assert.deepEqual(bars.map((b) => layers.find((l) => l.node === b.layer)!.recovery), expected);
    assert.equal(bars[0]!.layer, real.sensitivity.ranking[0], 'the top bar is the ranking\'s most sensitive layer');
    // The table lists the same layers in the same order.
    assert.deepEqual(await page.$$eval('[data-testid="results-layer-table"] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-node'))), bars.map((b) => b.layer));
    // Float vs quantized: both accuracies and the interval of the difference.
    const table = await page.textContent('[data-testid="results-evaluation-table"]');
    const f = real.state.evaluation!.models[0]!.metrics.top1!;
    assert.ok(table!.includes(`${(100 * f).toFixed(2)} %`), table!);
    assert.match(table!, /95 % CI/);
    assert.equal(await page.locator('[data-testid="results-evaluation-chart"] .mark-rect path').count(), 2 * real.state.evaluation!.deltas.length);
    // Pareto: one point per measured plan, plus the ring around the chosen one.
    const plans = real.autotune.points.length;
    assert.equal(await page.locator('[data-testid="results-pareto-chart"] .mark-symbol.role-mark path').count(), plans + 1);
    // Robustness: a line per model for each kind of shift.
    const kinds = new Set(real.robustness.rows.map((r) => r.kind).filter((k) => k !== 'none'));
    assert.equal(await page.locator('[data-testid="results-robustness-chart"] .mark-line.role-mark path').count(), 2 * kinds.size);
    const rendered = (await panelPosted(page)).find((m) => m.type === 'resultsRendered');
    assert.deepEqual(rendered, { type: 'resultsRendered', revision: real.state.revision, bars: layers.length });
    assert.deepEqual(await panelCspViolations(page), []);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('clicking a bar posts selectLayers with that layer\'s node name and highlights it', async () => {
    const { page } = await openWithResults();
    const bars = await barLayers(page);
    const target = bars[1]!.layer;
    await page.locator(BARS).nth(1).click();
    const msg = await waitPosted(page, isSelect);
    assert.deepEqual(msg, { type: 'selectLayers', nodes: [target] });
    await page.waitForFunction(({ sel, layer }) => [...document.querySelectorAll(sel)].some((p) => p.getAttribute('aria-label')?.includes(`layer: ${layer};`) && p.getAttribute('fill') !== '#1f78b4'), { sel: BARS, layer: target });
    await page.close();
  });

  test('a selection in the graph highlights exactly that bar and its table row', async () => {
    const { page } = await openWithResults();
    const before = await barLayers(page);
    assert.ok(before.every((b) => b.fill === before[0]!.fill), 'no bar highlighted yet');
    const node = before[2]!.layer;
    await sendToPanel(page, { type: 'resultsSelection', nodes: [node] });
    await page.waitForFunction((sel) => new Set([...document.querySelectorAll(sel)].map((p) => p.getAttribute('fill'))).size === 2, BARS);
    const after = await barLayers(page);
    const highlighted = after.filter((b) => b.fill !== before[0]!.fill).map((b) => b.layer);
    assert.deepEqual(highlighted, [node]);
    assert.equal(await page.getAttribute(`[data-testid="results-layer-table"] tr[data-node="${node}"] button`, 'aria-pressed'), 'true');
    assert.equal(await page.locator('[data-testid="results-layer-table"] button[aria-pressed="true"]').count(), 1);
    // Nothing is posted back: the graph already has this selection.
    assert.equal((await panelPosted(page)).filter(isSelect).length, 0);
    await page.close();
  });

  test('keyboard: the layer list\'s buttons take focus, arrows move between rows, Enter and Space select', async () => {
    const { page } = await openWithResults();
    const order = await page.$$eval('[data-testid="results-layer-table"] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-node')!));
    await page.focus('[data-testid="results-layer-table"] tbody tr:first-child button');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    assert.deepEqual(await waitPosted(page, isSelect), { type: 'selectLayers', nodes: [order[2]] });
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press(' ');
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.filter((m) => m.type === 'selectLayers').length === 2);
    const selects = (await panelPosted(page)).filter(isSelect);
    assert.deepEqual(selects.at(-1), { type: 'selectLayers', nodes: [order[1]] });
    await page.close();
  });

  test('clicking a Pareto point selects the layers its plan keeps above int8', async () => {
    const { page } = await openWithResults();
    const withLayers = real.state.pareto!.points.findIndex((p) => p.nodes.length > 0 && !p.chosen);
    assert.ok(withLayers >= 0, 'the search measured a plan with layers above int8');
    const point = page.locator('[data-testid="results-pareto-chart"] .mark-symbol.role-mark').first().locator('path').nth(withLayers);
    await point.click({ force: true });
    assert.deepEqual(await waitPosted(page, isSelect), { type: 'selectLayers', nodes: real.state.pareto!.points[withLayers]!.nodes });
    await page.close();
  });

  test('a stale state is dropped and the metric picker redraws the bars by another metric', async () => {
    const { page } = await openWithResults();
    await sendToPanel(page, { type: 'resultsState', state: { ...real.state, revision: 0, layers: undefined } });
    await page.waitForTimeout(200);
    assert.equal(await page.locator(BARS).count(), real.sensitivity.layers.length, 'an older revision does not replace the panel');
    const other = real.state.layers!.metrics.find((m) => m.key !== real.state.layers!.metric)!;
    await page.evaluate((key) => {
      const select = document.querySelector('[data-testid="results-metric"]') as HTMLElement & { value: string };
      select.value = key;
      select.dispatchEvent(new Event('change'));
    }, other.key);
    await page.waitForFunction((label) => document.querySelector('[data-testid="results-layer-table"]')?.getAttribute('aria-label')?.includes(label), other.label);
    const values = real.sensitivity.layers.map((l) => l.onlyThis).sort((a, b) => a - b);
    const shown = await page.$$eval('[data-testid="results-layer-table"] tbody tr td:last-child', (tds) => tds.map((td) => Number(td.textContent)));
    assert.deepEqual(shown, values.map((v) => Number(v.toPrecision(4))), 'only-this SQNR, lowest (worst) first');
    await page.close();
  });

  test('the selected layer shows its weight and activation histograms with the grid, the clipping range and the saturation share', async () => {
    const { page, consoleErrors } = await openWithResults();
    /** Bars, dashed clipping-range rules and grid-level rules of a histogram chart, as the data says they should be. */
    const check = async (chart: ReturnType<Page['locator']>, bins: number[], grid: { lines: number[] } | undefined): Promise<void> => {
      assert.equal(await chart.locator('.mark-rect path').count(), bins.length, 'one bar per bin');
      assert.equal(await chart.locator('.mark-rule.role-mark line[stroke-dasharray]').count(), grid ? 2 : 0, 'the clipping range');
      assert.equal(await chart.locator('.mark-rule.role-mark line:not([stroke-dasharray])').count(), grid?.lines.length ?? 0, 'the grid levels');
    };
    assert.ok(real.histograms.some((x) => x.weights.some((w) => w.grid)) && real.histograms.some((x) => x.activation.grid), 'the data has weight and activation grids');
    for (const hist of real.histograms) {
      await sendToPanel(page, { type: 'layerHistograms', node: hist.node, running: true });
      await page.waitForSelector(`[data-testid="results-detail"][data-node="${hist.node}"] [data-testid="results-detail-status"]`);
      await sendToPanel(page, { type: 'layerHistograms', node: hist.node, running: false, histograms: hist });
      await page.waitForFunction((node) => (document.querySelector('[data-testid="results-detail-slot"]') as HTMLElement | null)?.dataset.drawn === node, hist.node);
      // Weights drawn (biases, on int32 grids, are a line of text).
      const drawn = hist.weights.filter((w) => w.input !== 2);
      const weights = page.locator('[data-testid="results-weight-histogram"]');
      assert.equal(await weights.count(), drawn.length);
      for (let i = 0; i < drawn.length; i++) await check(weights.nth(i), drawn[i]!.histogram.counts, drawn[i]!.grid);
      await check(page.locator('[data-testid="results-activation-histogram"]'), hist.activation.histogram.counts, hist.activation.grid);
      const sat = hist.activation.saturation;
      assert.ok((await page.textContent('[data-testid="results-saturation"]'))!.includes(sat ? `${(100 * sat.share).toPrecision(3)} %` : '—'));
    }
    // Re-rendering the panel (results streaming in) keeps the section.
    const last = real.histograms.at(-1)!.node;
    await sendToPanel(page, { type: 'resultsState', state: { ...real.state, revision: real.state.revision + 1 } });
    await page.waitForFunction((rev) => document.getElementById('app')?.dataset.drawn === String(rev), real.state.revision + 1);
    assert.equal(await page.locator(`[data-testid="results-detail"][data-node="${last}"]`).count(), 1);
    assert.deepEqual(await panelCspViolations(page), []);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });

  test('the charts take the theme\'s colours and redraw when VS Code switches the theme', async () => {
    const { page } = await openWithResults();
    const fills = async (): Promise<Set<string>> => new Set((await barLayers(page)).map((b) => b.fill));
    assert.deepEqual(await fills(), new Set(['#1f78b4']), 'the fallback outside VS Code');
    // What VS Code does on a theme switch: new variables on the root, a new class on the body.
    await page.evaluate(() => {
      document.documentElement.style.setProperty('--vscode-charts-blue', '#3794ff');
      document.body.classList.add('vscode-high-contrast');
    });
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((p) => p.getAttribute('fill') === '#3794ff'), BARS);
    assert.equal((await barLayers(page)).length, real.sensitivity.layers.length);
    await page.close();
  });

  test('layers streaming in redraw the bars as they arrive, marked as still measuring', async () => {
    const { page } = await harness.open();
    const all = real.state.layers!;
    for (let n = 1; n <= all.layers.length; n++) {
      const layers = { ...all, running: n < all.layers.length, layers: all.layers.slice(0, n) };
      await sendToPanel(page, { type: 'resultsState', state: { ...real.state, revision: 10 + n, layers } });
      await page.waitForFunction((rev) => document.getElementById('app')?.dataset.drawn === String(rev), 10 + n);
      assert.equal(await page.locator(BARS).count(), layers.layers.filter((l) => Number.isFinite(l.metrics[all.metric])).length);
      assert.equal(/Measuring…/.test((await page.textContent('[data-testid="results-layers"]'))!), n < all.layers.length);
    }
    await page.close();
  });
});

