/**
 * Serves the real webview bundle on 127.0.0.1 inside the same HTML and CSP the extension uses, with
 * a stand-in for acquireVsCodeApi that records what the webview posts and lets a test play the host.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { webviewHtmlTemplate } from '../../src/host/webviewHtmlTemplate';
import type { HostToWebview, WebviewToHost } from '../../src/protocol';
import { launchChromium } from '../helpers/browser';
import { REPO_ROOT } from '../helpers/paths';

const NONCE = 'testnonce0123456789';

const STANDIN = `
window.__posted = [];
window.__cspViolations = [];
window.__state = JSON.parse(sessionStorage.getItem('ql-state') || 'null') || undefined;
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => window.__state,
  setState: (s) => { window.__state = s; sessionStorage.setItem('ql-state', JSON.stringify(s)); },
});
`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.ttf': 'font/ttf', '.map': 'application/json' };

export interface WebviewHarness {
  url: string;
  browser: Browser;
  close(): Promise<void>;
  open(): Promise<Page>;
}

export async function startHarness(): Promise<WebviewHarness> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'webview.js'))) throw new Error('dist/webview.js missing: run `npm run build` first');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const origin = `http://${req.headers.host}`;
      const html = webviewHtmlTemplate({ nonce: NONCE, cspSource: origin, asset: (...p) => `${origin}/${p.join('/')}` })
        .replace('<body>', `<body>\n<script nonce="${NONCE}" src="${origin}/__standin.js"></script>`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    if (url.pathname === '/__standin.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(STANDIN);
      return;
    }
    const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = path.join(REPO_ROOT, rel);
    const allowed = [path.join(REPO_ROOT, 'dist') + path.sep, path.join(REPO_ROOT, 'media') + path.sep];
    if (!allowed.some((a) => file.startsWith(a)) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await launchChromium();
  return {
    url,
    browser,
    async open() {
      const page = await browser.newPage();
      await page.goto(url);
      return page;
    },
    async close() {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function posted(page: Page): Promise<WebviewToHost[]> {
  return page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted);
}

/** Waits for the webview to post a request (the n-th of that method, counting from 0) and returns it. */
export async function waitRequest(page: Page, method: string, nth = 0): Promise<Extract<WebviewToHost, { type: 'request' }>> {
  // Generous: other test suites may be loading this 2-core machine.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const reqs = (await posted(page)).filter((m): m is Extract<WebviewToHost, { type: 'request' }> => m.type === 'request' && m.method === method);
    if (reqs.length > nth) return reqs[nth];
    await page.waitForTimeout(25);
  }
  throw new Error(`no ${method} request #${nth}`);
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
}

/** Plays the host: delivers a message to the webview the way VS Code does (a window message event). */
export async function sendToWebview(page: Page, msg: HostToWebview): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

/** Opens every collapsed group through the outline's keyboard (Right on a closed group), one layout at a time. */
export async function expandAllInOutline(page: Page, maxRounds = 400): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    const closed = page.locator('[data-testid="graph-outline"] [role="treeitem"][aria-expanded="false"]');
    if ((await closed.count()) === 0) return;
    const seq = await page.getAttribute('[data-testid="graph-view"]', 'data-layout-seq');
    await closed.first().focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((s) => document.querySelector('[data-testid="graph-view"]')?.getAttribute('data-layout-seq') !== s, seq);
  }
  throw new Error('groups kept appearing closed');
}
