/**
 * Opening a graph in the webview harness with the test hook on, and reading the canvas: shared by
 * the graph view's webview tests.
 */
import type { Page } from 'playwright-core';
import type { GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { summarize } from '../../src/core/summary';
import type { MarksState } from '../../src/protocol';
import { sendToWebview, type WebviewHarness } from './harness';

/** A 1400×900 page showing `graph` (with `marks` in the snapshot, if given), first paint done. */
export async function openGraphPage(harness: WebviewHarness, model: Model, fileName: string, graph: GraphView, marks?: MarksState): Promise<Page> {
  const page = await harness.browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript({ content: 'window.__qlTestHooks = true;' });
  await page.goto(harness.url);
  await sendToWebview(page, { type: 'snapshot', revision: 1, fileName, state: { kind: 'loaded', summary: summarize(model), openTimeMs: 1, graph }, ...(marks ? { marks } : {}) });
  await page.waitForSelector('[data-testid="graph-view"][data-ready="true"]');
  return page;
}

/** The graph canvas's pixel (RGB) at client coordinates (x, y), after a fresh draw. */
export async function canvasPixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(({ x, y }) => {
    (window as unknown as { __qlGraph: { drawFrame(): number } }).__qlGraph.drawFrame();
    const c = document.querySelector('[data-testid="graph-canvas"]') as HTMLCanvasElement;
    const b = c.getBoundingClientRect();
    const k = c.width / b.width;
    return [...c.getContext('2d')!.getImageData(Math.round((x - b.left) * k), Math.round((y - b.top) * k), 1, 1).data].slice(0, 3);
  }, { x, y });
}

/** A CSS variable of the page's root as RGB, with a fallback hex colour. */
export async function cssColour(page: Page, variable: string, fallback: string): Promise<number[]> {
  const hex = await page.evaluate(({ v, f }) => getComputedStyle(document.documentElement).getPropertyValue(v).trim() || f, { v: variable, f: fallback });
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}
