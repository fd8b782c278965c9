/**
 * Results on the graph as a new user gets them, in a real VS Code (code-server in Chromium): open
 * mnist-12.onnx, run *Run Sensitivity Analysis* from the palette on the sample images (the graph's
 * nodes take colours while it runs and the legend names the metric), hover a node for its
 * sensitivity, click the top bar of the results panel (the graph selects that layer), evaluate
 * against onnxruntime's int8 MNIST (both accuracies with the interval of their difference), and
 * export an HTML report that opens in Chromium with its charts drawn and no console error.
 *   node --import tsx --test test/e2e/results.test.ts
 * Screenshots of each step go to test-results/e2e-results-*.png.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { TEST_RESULTS_DIR } from '../../scripts/code-server';
import {
  installExtensionUnderTest,
  prepareWorkspace,
  SAMPLE_MNIST,
  SHARED_MODELS,
  startSession,
  waitInFrames,
  waitUntil,
  type Session,
} from '../integration/harness';
import { answerFileDialog, openFromExplorer, palette, screenshotStep } from './workbench';

let session: Session | undefined;
let workspace = '';
const MODEL = 'mnist-12.onnx';
const INT8 = 'mnist-12-int8.onnx';
const IMAGES = 'mnist-200-images-idx3-ubyte.gz';
const LABELS = 'mnist-200-labels-idx1-ubyte.gz';
const GRAPH = '[data-testid="graph-view"][data-ready="true"]';
const PANEL_BARS = '[data-testid="results-layers-chart"] .mark-rect path';

function step(name: string, body: (page: Page) => Promise<void>): void {
  screenshotStep('e2e-results', () => session, name, body);
}

const graphFrame = async (page: Page): Promise<Frame> => (await waitInFrames(page, `${GRAPH} h1[title="${MODEL}"]`, 60_000)).frame;
/** The graph canvas's own pixels (RGBA), without the DOM drawn over it (legend, tooltip). */
const canvasPixels = (frame: Frame): Promise<number[]> =>
  frame.evaluate(() => {
    const c = document.querySelector('[data-testid="graph-canvas"]') as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  });
const panelFrame = async (page: Page): Promise<Frame> => (await waitInFrames(page, '[data-testid="results-layers-chart"]', 60_000)).frame;

describe('results on the graph in code-server', () => {
  before(async () => {
    const dir = path.dirname(SAMPLE_MNIST);
    workspace = prepareWorkspace({
      [MODEL]: SAMPLE_MNIST, [IMAGES]: path.join(dir, IMAGES), [LABELS]: path.join(dir, LABELS),
      [INT8]: path.join(SHARED_MODELS, 'onnx', 'mnist', INT8),
    });
    session = await startSession({ workspace, install: installExtensionUnderTest, settings: { 'files.autoSave': 'off' } });
  });

  after(async () => {
    await session?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  step('Run Sensitivity Analysis from the palette: nodes take colours while it runs, the legend names the metric', async (page) => {
    let frame = await openFromExplorer(page, MODEL, 90_000);
    // The results panel opens beside the graph when the analysis starts; open it first so the
    // graph keeps one size and its pixels before and after compare.
    await palette(page, 'QuantLens: Show Results Panel');
    await waitInFrames(page, '[data-testid="results-empty"]', 60_000);
    // The commands act on the active model editor: focus the graph again.
    await page.locator('.tab', { hasText: MODEL }).first().click();
    frame = await graphFrame(page);
    await page.waitForTimeout(1_000);
    const before = await canvasPixels(frame);
    // Record when the overlay legend first shows (in the graph's frame) and when the progress
    // notification goes away (in the workbench): both on the browser's clock.
    await frame.evaluate(() => {
      const w = window as unknown as { __qlLegendAt?: number };
      const legend = document.querySelector('[data-testid="overlay-legend"]') as HTMLElement;
      new MutationObserver(() => { if (!legend.hidden) w.__qlLegendAt ??= Date.now(); }).observe(legend, { attributes: true });
    });
    await page.evaluate(() => {
      const w = window as unknown as { __qlProgressSeen?: number; __qlProgressGone?: number };
      new MutationObserver(() => {
        const up = [...document.querySelectorAll('.notification-toast')].some((t) => t.textContent?.includes('measuring the sensitivity'));
        if (up) w.__qlProgressSeen ??= Date.now();
        else if (w.__qlProgressSeen !== undefined) w.__qlProgressGone ??= Date.now();
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });
    await palette(page, 'QuantLens: Run Sensitivity Analysis');
    await answerFileDialog(page, path.join(workspace, IMAGES));
    await waitUntil('the analysis to finish', page, async () => (await page.locator('.notification-toast', { hasText: /layers measured on/ }).count()) > 0, 180_000);
    const legendAt = await frame.evaluate(() => (window as unknown as { __qlLegendAt?: number }).__qlLegendAt);
    const { __qlProgressSeen: seen, __qlProgressGone: gone } = await page.evaluate(() => {
      const w = window as unknown as { __qlProgressSeen?: number; __qlProgressGone?: number };
      return { __qlProgressSeen: w.__qlProgressSeen, __qlProgressGone: w.__qlProgressGone };
    });
    assert.ok(legendAt !== undefined && seen !== undefined, 'the legend and the progress notification both showed');
    assert.ok(gone === undefined || legendAt < gone, `the overlay showed while the analysis was still running (legend at ${legendAt}, progress gone at ${gone})`);
    const legend = frame.locator('[data-testid="overlay-legend"]');
    assert.equal(await legend.getAttribute('data-metric'), 'sensitivity');
    assert.match((await frame.locator('[data-testid="overlay-title"]').textContent()) ?? '', /sensitivity/i);
    await page.waitForTimeout(500);
    const after = await canvasPixels(frame);
    assert.equal(after.length, before.length, 'the graph kept its size');
    let changed = 0;
    for (let i = 0; i < after.length; i += 4) if (after[i] !== before[i] || after[i + 1] !== before[i + 1] || after[i + 2] !== before[i + 2]) changed++;
    assert.ok(changed > 500, `the nodes took the overlay's colours (${changed} pixels changed)`);
  });

  step('hovering a node shows its sensitivity', async (page) => {
    const frame = await graphFrame(page);
    // Select Convolution110 through the outline and centre it, then hover the centre of the canvas.
    await frame.locator('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("Convolution110")').click();
    await frame.locator('[data-testid="graph-zoom-selection"]').click();
    await page.waitForTimeout(300);
    const box = (await frame.locator('[data-testid="graph-canvas"]').boundingBox())!;
    const tip = frame.locator('[data-testid="graph-tooltip"]:not([hidden])');
    await waitUntil('the node tooltip', page, async () => {
      await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 60);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForTimeout(800);
      return (await tip.count()) > 0;
    }, 30_000);
    assert.equal(await tip.locator('[data-testid="tooltip-name"]').textContent(), 'Convolution110');
    const row = tip.locator('[data-testid="tooltip-marks"] tr', { hasText: /^Sensitivity/ });
    assert.equal(await row.count(), 1, 'the tooltip has a sensitivity row');
    assert.match((await row.textContent()) ?? '', /^Sensitivity\s*-?\d/);
  });

  step('clicking the top bar in the results panel selects that layer in the graph', async (page) => {
    const panel = await panelFrame(page);
    await waitUntil('the bars', page, async () => (await panel.locator(PANEL_BARS).count()) > 0);
    // The top bar is the worst layer, the first row of the table below the chart.
    const top = (await panel.locator('[data-testid="results-layer-table"] button[data-node]').first().getAttribute('data-node'))!;
    await panel.locator(PANEL_BARS).first().click();
    const frame = await graphFrame(page);
    const shown = await waitUntil('the graph to select the top layer', page, async () => {
      const name = await frame.locator('[data-testid="prop-name"]').first().textContent().catch(() => null);
      return name && (name === top || top.startsWith(`${name}/`)) ? name : undefined;
    }, 30_000);
    assert.ok(shown);
    assert.equal(await panel.locator('[data-testid="results-layer-table"] button[aria-pressed="true"]').first().getAttribute('data-node'), top, 'the bar\'s row is highlighted');
  });

  step('Evaluate Quantized Model… against onnxruntime\'s int8 MNIST: both accuracies with the interval', async (page) => {
    await page.locator('.tab', { hasText: MODEL }).first().click();
    await palette(page, 'QuantLens: Evaluate Quantized Model', [INT8]);
    await answerFileDialog(page, path.join(workspace, IMAGES));
    // The labels quick pick: filter to the sample labels and take them.
    await page.locator('.quick-input-title', { hasText: 'Labels for accuracy and F1' }).waitFor({ state: 'visible', timeout: 15_000 });
    const input = page.locator('.quick-input-widget input');
    await input.fill(LABELS);
    await page.locator(`.quick-input-list .monaco-list-row[aria-label^="${LABELS}"]`).first().waitFor({ state: 'visible', timeout: 10_000 });
    await page.waitForTimeout(300);
    await input.press('Enter');
    await page.locator('.quick-input-title', { hasText: 'Labels for accuracy and F1' }).waitFor({ state: 'hidden', timeout: 15_000 });
    const { frame } = await waitInFrames(page, '[data-testid="results-evaluation-table"]', 180_000);
    const table = frame.locator('[data-testid="results-evaluation-table"]');
    const top1 = table.locator('tr', { has: frame.locator('th', { hasText: /^top-1/ }) }).first();
    const cells = await top1.locator('td').allTextContents();
    assert.equal(cells.filter((c) => /^\d+\.\d\d %$/.test(c.trim())).length, 2, `float and quantized top-1: ${cells.join(' | ')}`);
    assert.match(cells.join(' '), /\[.*\] \(95 % CI\)/, 'the difference carries its 95 % interval');
  });

  step('Export Report… as HTML: it opens in Chromium with its charts drawn and no console error', async (page) => {
    await page.locator('.tab', { hasText: MODEL }).first().click();
    const out = path.join(workspace, 'mnist-12.report.html');
    await palette(page, 'QuantLens: Export Report', ['HTML']);
    await answerFileDialog(page, out);
    await waitUntil('the report on disk', page, async () => fs.existsSync(out) && fs.statSync(out).size > 0, 60_000);
    await waitUntil('the report written', page, async () => (await page.locator('.notification-toast', { hasText: 'wrote mnist-12.report.html' }).count()) > 0, 60_000);
    const viewer = await session!.browser.newPage();
    const errors: string[] = [];
    viewer.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    viewer.on('pageerror', (e) => errors.push(e.message));
    try {
      await viewer.goto(`file://${out}`);
      await viewer.waitForLoadState('load');
      const charts = await viewer.locator('svg').count();
      const marks = await viewer.locator('svg path, svg rect, svg line').count();
      await viewer.screenshot({ path: path.join(TEST_RESULTS_DIR, 'e2e-results-report.png'), fullPage: true });
      assert.ok(charts > 0 && marks > 10, `charts drawn (${charts} svg, ${marks} marks)`);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await viewer.close();
    }
  });
});
