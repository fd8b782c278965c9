/** Workbench steps the end-to-end tests and the code-server benchmark share: readiness, opening a model. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { TEST_RESULTS_DIR } from '../../scripts/code-server';
import { stepWithArtifacts, waitInFrames, type Session } from '../integration/harness';

/** Whether QuantLens's commands show in the command palette (its contributions are registered). */
export async function commandsRegistered(page: Page): Promise<boolean> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('>QuantLens');
  await page.waitForTimeout(300);
  const labels = await page.locator('.quick-input-list .monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? r.textContent ?? ''));
  await page.keyboard.press('Escape');
  return labels.some((l) => l.startsWith('QuantLens: Open Model in QuantLens'));
}

/** Double-clicks `fileName` in the explorer; resolves to the frame of its graph view once its first layout painted. */
export async function openFromExplorer(page: Page, fileName: string, timeoutMs = 60_000): Promise<Frame> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: fileName });
  await row.first().waitFor({ state: 'visible', timeout: 20_000 });
  await row.first().dblclick();
  // The graph view of this file (its title carries the file name), once its first layout painted.
  const hit = await waitInFrames(page, `[data-testid="graph-view"][data-ready="true"] h1[title="${fileName}"]`, timeoutMs);
  return hit.frame;
}

/** Closes every editor through the command palette. */
export async function closeAllEditors(page: Page): Promise<void> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('>View: Close All Editors');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Close All Editors' }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.editor-group-container .tabs-container .tab').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}

/**
 * Runs a palette command by its title and answers the quick picks that follow, in order. A quick
 * pick can be closed under the test (an editor opening takes the focus); then the whole command is
 * run again, up to three times: nothing happens until the last pick is taken.
 */
export async function palette(page: Page, title: string, picks: string[] = []): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await paletteOnce(page, title, picks);
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
    }
  }
}

async function paletteOnce(page: Page, title: string, picks: string[]): Promise<void> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  // Click the command's own row: fuzzy ranking may put a similar title first (Evaluate Quantized Model…).
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click({ timeout: 10_000 });
  for (const pick of picks) {
    // The row whose label starts with the pick (a description may mention it too: fp16's says "float").
    const item = page.locator(`.quick-input-list .monaco-list-row[aria-label^="${pick}"]`).first();
    await item.waitFor({ state: 'visible', timeout: 10_000 });
    await page.waitForTimeout(200); // the next quick pick replaces the last one; let it settle
    await item.click({ timeout: 10_000 });
  }
}

/**
 * Answers VS Code's simple file dialog (files.simpleDialog.enable, code-server's default) with `file`.
 * The dialog reads the typed path asynchronously; Enter before it has listed an existing file
 * accepts the folder it showed before, so for an existing file wait for its row first.
 */
export async function answerFileDialog(page: Page, file: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await page.waitForFunction(() => (document.querySelector('.quick-input-widget input') as HTMLInputElement | null)?.value.startsWith('/'), undefined, { timeout: 15_000 });
  await input.fill(file);
  if (fs.existsSync(file)) {
    await page.locator(`.quick-input-list .monaco-list-row[aria-label^="${path.basename(file)}"]`).first().waitFor({ state: 'visible', timeout: 15_000 });
  }
  await page.waitForTimeout(300);
  if ((await input.inputValue()) !== file) await input.fill(file);
  await input.press('Enter');
}

/** A test step that also saves a screenshot of the workbench when it passes (`<prefix>-<name>.png`). */
export function screenshotStep(prefix: string, session: () => Session | undefined, name: string, body: (page: Page) => Promise<void>): void {
  stepWithArtifacts(prefix, session, name, async (page) => {
    await body(page);
    fs.mkdirSync(TEST_RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(TEST_RESULTS_DIR, `${prefix}-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`) });
  });
}
