/**
 * First usable paint of the graph view inside a real VS Code (code-server in Chromium): the time
 * a user waits from double-clicking a model in the explorer to the first frame of its laid-out
 * graph (the host reads the file in its model worker, builds the view, sends it, the webview lays
 * it out and paints). Synthetic transformers of 2k / 5k / 10k nodes (the harness bench's graphs),
 * written as ONNX files. Cold: the first QuantLens editor of a fresh window; warm: reopened after
 * closing all editors (median of WARM_RUNS).
 */
import type { Page } from 'playwright-core';
import { syntheticTransformer } from '../scripts/gen-synthetic-graph';
import { writeOnnx } from '../src/core/formats/onnx/writer';
import { installExtensionUnderTest, prepareWorkspace, startSession, waitInFrames, waitUntil, type Session } from '../test/integration/harness';
import { closeAllEditors, commandsRegistered } from '../test/e2e/workbench';
import * as fs from 'node:fs';

const SIZES = process.env.QUANTLENS_BENCH_GRAPH_SIZES ? process.env.QUANTLENS_BENCH_GRAPH_SIZES.split(',').map(Number) : [2_000, 5_000, 10_000];
const WARM_RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Opens `fileName` from the explorer; returns ms from the double-click to the painted graph, and the webview's own part of it. */
async function timedOpen(page: Page, fileName: string): Promise<{ total: number; webview: number }> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: fileName });
  await row.first().waitFor({ state: 'visible', timeout: 20_000 });
  // Both clocks are the machine's wall clock: the webview stamps the frame that shows the graph.
  const t0 = Date.now();
  await row.first().dblclick();
  const hit = await waitInFrames(page, `[data-testid="graph-view"][data-painted-at]:has(h1[title="${fileName}"])`, 120_000);
  return { total: Number(await hit.element.getAttribute('data-painted-at')) - t0, webview: Number(await hit.element.getAttribute('data-first-paint-ms')) };
}

export async function benchGraphInVsCode(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of SIZES) {
    const fileName = `synthetic-${n}.onnx`;
    const workspace = prepareWorkspace({}, { [fileName]: writeOnnx(syntheticTransformer(n)) });
    let session: Session | undefined;
    try {
      session = await startSession({ workspace, install: installExtensionUnderTest });
      const page = session.page;
      await waitUntil('QuantLens commands in the command palette', page, () => commandsRegistered(page), 60_000);
      const cold = await timedOpen(page, fileName);
      out[`vscode_first_usable_paint_cold_ms_${n}`] = cold.total;
      const warm: { total: number; webview: number }[] = [];
      for (let i = 0; i < WARM_RUNS; i++) {
        await closeAllEditors(page);
        await page.waitForTimeout(500);
        warm.push(await timedOpen(page, fileName));
      }
      out[`vscode_first_usable_paint_warm_median_ms_${n}`] = median(warm.map((w) => w.total));
      out[`vscode_first_usable_paint_warm_min_ms_${n}`] = Math.min(...warm.map((w) => w.total));
      // Of that, the webview's part (graph received -> usable): the rest is reading, building and sending.
      out[`vscode_webview_part_warm_median_ms_${n}`] = median(warm.map((w) => w.webview));
    } finally {
      await session?.close();
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  }
  return out;
}

if (process.argv[1] && /graph-vscode\.ts$/.test(process.argv[1])) {
  void benchGraphInVsCode().then((r) => {
    for (const [k, v] of Object.entries(r)) console.log(k.padEnd(48), v.toFixed(1));
  });
}
