/** Workbench steps the end-to-end tests and the code-server benchmark share: readiness, opening a model. */
import type { Frame, Page } from 'playwright-core';
import { waitInFrames } from '../integration/harness';

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
