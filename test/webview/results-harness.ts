/**
 * The results panel's real bundle inside the exact HTML and strict CSP the extension serves it with
 * (src/host/resultsPanelHtml.ts), on the webview harness's server and acquireVsCodeApi stand-in;
 * console errors are recorded too.
 */
import type { Page } from 'playwright-core';
import { resultsPanelHtml } from '../../src/host/resultsPanelHtml';
import type { HostToResultsPanel, ResultsPanelToHost } from '../../src/protocol';
import { startHarness, type WebviewHarness } from './harness';

const NONCE = 'resultsnonce0123456789';

export interface ResultsHarness {
  /** The panel's HTML as served (its CSP meta). */
  html: string;
  open(): Promise<{ page: Page; consoleErrors: string[] }>;
  close(): Promise<void>;
}

export async function startResultsHarness(): Promise<ResultsHarness> {
  const base: WebviewHarness = await startHarness();
  const origin = base.url.replace(/\/$/, '');
  const html = resultsPanelHtml({ nonce: NONCE, cspSource: origin, asset: (...p) => `${origin}/${p.join('/')}` });
  const served = html.replace('<body>', `<body>\n<script nonce="${NONCE}" src="${origin}/__standin.js"></script>`);
  return {
    html,
    async open() {
      const page = await base.browser.newPage({ viewport: { width: 1000, height: 900 } });
      const consoleErrors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      await page.route(`${origin}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
      await page.route(`${origin}/results.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: served }));
      await page.goto(`${origin}/results.html`);
      return { page, consoleErrors };
    },
    close: () => base.close(),
  };
}

export async function panelPosted(page: Page): Promise<ResultsPanelToHost[]> {
  return page.evaluate(() => (window as unknown as { __posted: ResultsPanelToHost[] }).__posted);
}

export async function panelCspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
}

export async function sendToPanel(page: Page, msg: HostToResultsPanel): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

/** Waits until the panel posts a message matching `pick`, and returns it. */
export async function waitPosted<T extends ResultsPanelToHost>(page: Page, pick: (m: ResultsPanelToHost) => m is T): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const found = (await panelPosted(page)).find(pick);
    if (found) return found;
    await page.waitForTimeout(25);
  }
  throw new Error('the panel did not post the expected message');
}
