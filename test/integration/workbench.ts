/**
 * The harness's side of suite/probe.ts: answers the suite's questions about the workbench by
 * looking at code-server's page with Playwright.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { NotificationSeen, WorkbenchAnswer, WorkbenchQuestion } from './suite/probe';

const answered = new Set<string>();

/** Answers every question in `dir` that has no answer yet. */
export async function answerWorkbenchQuestions(page: Page, dir: string): Promise<void> {
  for (const f of fs.readdirSync(dir)) {
    const m = /^q-(\d+)\.json$/.exec(f);
    if (!m || answered.has(f)) continue;
    answered.add(f);
    let a: WorkbenchAnswer;
    try {
      a = { ok: await answer(page, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as WorkbenchQuestion) };
    } catch (e) {
      a = { err: e instanceof Error ? e.message : String(e) };
    }
    const out = path.join(dir, `a-${m[1]}.json`);
    fs.writeFileSync(`${out}.tmp`, JSON.stringify(a));
    fs.renameSync(`${out}.tmp`, out);
  }
}

async function answer(page: Page, q: WorkbenchQuestion): Promise<string[] | NotificationSeen[]> {
  switch (q.kind) {
    case 'quickInputRows': return quickInputRows(page);
    case 'explorerMenu': return explorerMenu(page, q.file);
    case 'notifications': return notifications(page);
  }
}

/** Row labels of the visible quick input, read until two reads 300 ms apart agree (filtering is async). */
async function quickInputRows(page: Page): Promise<string[]> {
  await page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 10_000 });
  const read = () => page.locator('.quick-input-widget .quick-input-list .monaco-list-row')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? r.textContent ?? ''));
  let last = await read();
  for (let i = 0; i < 20; i++) {
    await page.waitForTimeout(300);
    const now = await read();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

async function explorerMenu(page: Page, file: string): Promise<string[]> {
  const rows = page.locator('.explorer-folders-view .monaco-list-row');
  await rows.first().waitFor({ state: 'visible', timeout: 20_000 });
  const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
  const index = labels.findIndex((l) => l === file || l.startsWith(`${file},`) || l.startsWith(`${file} `));
  if (index < 0) throw new Error(`'${file}' is not in the explorer (rows: ${labels.join(' | ')})`);
  await rows.nth(index).click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor({ state: 'visible', timeout: 10_000 });
  const entries = await menu.locator('.action-label').evaluateAll((els) => els.map((e) => (e.getAttribute('aria-label') ?? e.textContent ?? '').trim()).filter(Boolean));
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  return entries;
}

async function notifications(page: Page): Promise<NotificationSeen[]> {
  const items = page.locator('.notifications-toasts .notification-list-item, .notifications-center .notification-list-item');
  const seen = await items.evaluateAll((els) => els.map((e) => {
    const icon = e.querySelector('.notification-list-item-icon');
    const severity = icon?.classList.contains('codicon-error') ? 'error' : icon?.classList.contains('codicon-warning') ? 'warning' : icon?.classList.contains('codicon-info') ? 'info' : 'unknown';
    return { severity, message: (e.querySelector('.notification-list-item-message')?.textContent ?? '').trim() };
  }));
  const unique = new Map<string, NotificationSeen>();
  for (const s of seen) unique.set(`${s.severity}|${s.message}`, s as NotificationSeen);
  return [...unique.values()];
}
