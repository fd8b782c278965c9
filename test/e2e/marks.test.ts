/**
 * Marking layers as a new user does, in a real VS Code (code-server in Chromium): open mnist-12.onnx,
 * mark its convolutions int16 from the command palette, see the plan in the status bar and the
 * editor turn dirty, undo and redo with the keyboard, save (the sidecar recipe is written, the model
 * is byte-identical), an unsaved mark restored after a window reload, Don't Save, marking from the
 * graph itself, the recipe's hover, and quantizing from the palette with the marks.
 *   node --import tsx --test test/e2e/marks.test.ts
 * Screenshots of each step go to test-results/e2e-marks-*.png.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import {
  installExtensionUnderTest,
  prepareWorkspace,
  SAMPLE_MNIST,
  startSession,
  waitInFrames,
  waitUntil,
  type Session,
} from '../integration/harness';
import { answerFileDialog, palette, screenshotStep } from './workbench';

let session: Session | undefined;
let workspace = '';
const MODEL = 'mnist-12.onnx';
const RECIPE = 'mnist-12.quantlens.json';
/** The sample calibration data the repository ships beside the model. */
const IMAGES = 'mnist-200-images-idx3-ubyte.gz';

function step(name: string, body: (page: Page) => Promise<void>): void {
  screenshotStep('e2e-marks', () => session, name, body);
}

const sha256 = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** The QuantLens plan item in the status bar, by its accessible label. */
async function planStatus(page: Page): Promise<string> {
  const item = page.locator('.statusbar-item[aria-label^="QuantLens plan:"]');
  return (await item.count()) ? ((await item.first().getAttribute('aria-label')) ?? '') : '';
}

async function tabDirty(page: Page): Promise<boolean> {
  return page.locator('.tab.dirty', { hasText: MODEL }).count().then((n) => n > 0);
}

async function openModel(page: Page): Promise<Frame> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: MODEL });
  await row.first().waitFor({ state: 'visible', timeout: 30_000 });
  await row.first().dblclick();
  return (await waitInFrames(page, `[data-testid="graph-view"][data-ready="true"]`, 60_000)).frame;
}

describe('marking layers in code-server', () => {
  let modelHash = '';
  before(async () => {
    workspace = prepareWorkspace({ [MODEL]: SAMPLE_MNIST, [IMAGES]: path.join(path.dirname(SAMPLE_MNIST), IMAGES) });
    modelHash = sha256(path.join(workspace, MODEL));
    // Auto save off (code-server saves after a second by default), so unsaved marks stay unsaved
    // and the reload exercises hot exit.
    session = await startSession({ workspace, install: installExtensionUnderTest, settings: { 'files.autoSave': 'off' } });
  });

  after(async () => {
    await session?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  step('open mnist-12.onnx and mark every Conv int16 from the palette', async (page) => {
    await waitUntil('QuantLens commands in the palette', page, async () => {
      await openModel(page).catch(() => undefined);
      return (await planStatus(page)) === 'QuantLens plan: no marks';
    }, 90_000);
    await palette(page, 'QuantLens: Mark Selected Layers As', ['Every node of an op type', 'Conv', 'int16']);
    await waitUntil('the status bar to show the plan', page, async () => (await planStatus(page)) === 'QuantLens plan: int16 ×2');
    await waitUntil('the tab to show unsaved changes', page, () => tabDirty(page));
  });

  step('undo and redo with the keyboard', async (page) => {
    await page.locator('.tab', { hasText: MODEL }).first().click();
    await page.keyboard.press('Control+Z');
    await waitUntil('undo to remove the marks', page, async () => (await planStatus(page)) === 'QuantLens plan: no marks');
    await page.keyboard.press('Control+Shift+Z');
    await waitUntil('redo to restore them', page, async () => (await planStatus(page)) === 'QuantLens plan: int16 ×2');
  });

  step('save writes the sidecar recipe; the model file is byte-identical', async (page) => {
    await page.keyboard.press('Control+S');
    const recipe = path.join(workspace, RECIPE);
    await waitUntil('the recipe on disk', page, async () => fs.existsSync(recipe) && fs.statSync(recipe).size > 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(recipe, 'utf8')).plan, { Convolution110: 'int16', Convolution28: 'int16' });
    assert.equal(sha256(path.join(workspace, MODEL)), modelHash);
    await waitUntil('the tab to be clean', page, async () => !(await tabDirty(page)));
  });

  /** VS Code's backups and QuantLens's unsaved-marks entries live in the workspace storage. */
  const storage = (): string => path.join(session!.server.userDataDir, 'User', 'workspaceStorage');
  const ours = (f: string) => f.includes(path.join('quantlens.quantlens', 'unsaved-marks'));
  const kept = async (mine: boolean, times212 = 'float'): Promise<{ plan?: Record<string, string>; modelSha256?: string } | undefined> => {
    if (!fs.existsSync(storage())) return undefined;
    for (const f of fs.readdirSync(storage(), { recursive: true }).map(String).filter((x) => x.includes('quantlens.quantlens') && ours(x) === mine)) {
      try {
        const b = JSON.parse(fs.readFileSync(path.join(storage(), f), 'utf8')) as { plan?: Record<string, string>; modelSha256?: string };
        if (b.plan?.Times212 === times212) return b;
      } catch {
        // a folder, or a file being written
      }
    }
    return undefined;
  };

  step('an unsaved mark survives a window reload: backed up, restored, still unsaved; Revert returns to the recipe', async (page) => {
    await palette(page, 'QuantLens: Mark Selected Layers As', ['Every node of an op type', 'MatMul', 'float']);
    await waitUntil('the new mark', page, async () => (await planStatus(page)) === 'QuantLens plan: int16 ×2, float ×1');
    // Two copies are kept: VS Code's hot-exit backup (backupCustomDocument, about a second after the
    // change) and QuantLens's own entry in its workspace storage, which restores the marks when
    // the web workbench comes back without its backup record.
    const expected = { Convolution110: 'int16', Convolution28: 'int16', Times212: 'float' };
    for (const [what, mine] of [['VS Code\'s backup', false], ['QuantLens\'s unsaved marks', true]] as const) {
      const b = await waitUntil(`${what} of the unsaved marks`, page, () => kept(mine));
      assert.deepEqual(b.plan, expected, what);
      assert.equal(b.modelSha256, modelHash, `${what} names the model it was made on`);
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(workspace, RECIPE), 'utf8')).plan, { Convolution110: 'int16', Convolution28: 'int16' }, 'the recipe on disk is the saved one');

    // The web workbench sometimes comes back from a reload without its record of VS Code's backup
    // (it keeps it in the browser). Remove VS Code's copy so every run takes that path and the
    // marks come back from QuantLens's own entry.
    for (const f of fs.readdirSync(storage(), { recursive: true }).map(String)) {
      const full = path.join(storage(), f);
      if (f.includes('quantlens.quantlens') && !ours(f) && fs.statSync(full).isFile() && (await kept(false))) {
        if (fs.readFileSync(full, 'utf8').includes('"Times212":"float"')) fs.rmSync(full);
      }
    }
    assert.equal(await kept(false), undefined, 'VS Code\'s backup removed');
    await page.reload();
    await waitInFrames(page, '[data-testid="graph-view"][data-ready="true"]', 120_000);
    await waitUntil('the reloaded window to show the unsaved mark', page, async () => (await planStatus(page)) === 'QuantLens plan: int16 ×2, float ×1', 60_000);
    await waitUntil('the tab to be unsaved after the reload', page, () => tabDirty(page));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(workspace, RECIPE), 'utf8')).plan, { Convolution110: 'int16', Convolution28: 'int16' }, 'the reload wrote nothing');

    // Back to the saved plan for the graph steps.
    await page.locator('.tab', { hasText: MODEL }).first().click();
    await palette(page, 'File: Revert File');
    await waitUntil('revert back to the saved plan', page, async () => (await planStatus(page)) === 'QuantLens plan: int16 ×2' && !(await tabDirty(page)));
    await waitUntil('the unsaved-marks entry to be cleared', page, async () => (await kept(true)) === undefined);
  });

  /** The outline row of Convolution110 (its accessible label carries the mark). */
  const convRow = (frame: Frame) => frame.locator('[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("Convolution110")');
  const convLabel = async (page: Page): Promise<string> => {
    const { frame } = await waitInFrames(page, '[data-testid="graph-view"][data-ready="true"]', 60_000);
    return (await convRow(frame).getAttribute('aria-label')) ?? '';
  };

  /** Selects Convolution110 (outline click), centres it, and right-clicks it on the canvas. */
  async function contextMenuOnConv(page: Page): Promise<Frame> {
    const { frame } = await waitInFrames(page, '[data-testid="graph-view"][data-ready="true"]', 60_000);
    await convRow(frame).click();
    await frame.locator('[data-testid="graph-zoom-selection"]').click();
    await page.waitForTimeout(300);
    const box = (await frame.locator('[data-testid="graph-canvas"]').boundingBox())!;
    // The selected node is centred on the canvas: right-click there.
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: 'right' });
    await frame.locator('[data-testid="graph-menu"]:not([hidden])').waitFor({ timeout: 10_000 });
    return frame;
  }

  step('graph: clear Convolution110 and mark it int16 from the canvas context menu; the badge shows', async (page) => {
    let frame = await contextMenuOnConv(page);
    await frame.locator('[data-testid="menu-mark-clear"]').click();
    await waitUntil('the mark to clear', page, async () => (await convLabel(page)) === 'Convolution110, Conv');
    frame = await contextMenuOnConv(page);
    assert.match((await frame.locator('[data-testid="menu-mark-int16"]').textContent()) ?? '', /^Mark as int16/);
    await frame.locator('[data-testid="menu-mark-int16"]').click();
    await waitUntil('the badge on Convolution110', page, async () => (await convLabel(page)) === 'Convolution110, Conv, marked int16');
    assert.ok(Number(await frame.locator('[data-testid="marks-legend"] [data-precision="int16"]').getAttribute('data-count')) >= 1);
    assert.equal(await convRow(frame).getAttribute('data-mark'), 'i16');
  });

  step('graph: Ctrl+Z and Ctrl+Shift+Z pressed in the webview reach VS Code undo and redo', async (page) => {
    const { frame } = await waitInFrames(page, '[data-testid="graph-view"][data-ready="true"]', 60_000);
    // Focus inside the webview (the canvas), not the workbench.
    await frame.locator('[data-testid="graph-canvas"]').focus();
    await page.keyboard.press('Control+Z');
    await waitUntil('undo to clear the mark again', page, async () => (await convLabel(page)) === 'Convolution110, Conv');
    await frame.locator('[data-testid="graph-canvas"]').focus();
    await page.keyboard.press('Control+Shift+Z');
    await waitUntil('redo to mark it int16 again', page, async () => (await convLabel(page)) === 'Convolution110, Conv, marked int16');
  });

  step('graph: save, close and reopen: the badge is back', async (page) => {
    const { frame } = await waitInFrames(page, '[data-testid="graph-view"][data-ready="true"]', 60_000);
    await frame.locator('[data-testid="graph-canvas"]').focus();
    await page.keyboard.press('Control+S');
    await waitUntil('the tab to be clean', page, async () => !(await tabDirty(page)));
    // Only this path's mark is asserted: the steps above leave their own marks (or none if they failed).
    assert.equal(JSON.parse(fs.readFileSync(path.join(workspace, RECIPE), 'utf8')).plan.Convolution110, 'int16');
    await palette(page, 'View: Close All Editors');
    await page.locator('.tab', { hasText: MODEL }).first().waitFor({ state: 'detached', timeout: 10_000 });
    await openModel(page);
    await waitUntil('the reopened graph to show the badge', page, async () => (await convLabel(page)) === 'Convolution110, Conv, marked int16', 60_000);
  });

  step('closing with Don\'t Save discards the unsaved marks: reopened, the saved plan is back', async (page) => {
    await palette(page, 'QuantLens: Mark Selected Layers As', ['Every node of an op type', 'MatMul', 'fp16']);
    await waitUntil('the new mark', page, async () => /fp16 ×1/.test(await planStatus(page)));
    await waitUntil('QuantLens\'s unsaved-marks entry', page, () => kept(true, 'fp16'));
    await palette(page, 'View: Close All Editors');
    await page.getByRole('button', { name: /^Don.t Save$/ }).click({ timeout: 15_000 });
    await page.locator('.tab', { hasText: MODEL }).first().waitFor({ state: 'detached', timeout: 10_000 });
    await waitUntil('the unsaved-marks entry to be cleared', page, async () => (await kept(true, 'fp16')) === undefined);
    await openModel(page);
    await waitUntil('the reopened editor to show only the saved plan', page, async () => (await planStatus(page)) === 'QuantLens plan: int16 ×2' && !(await tabDirty(page)), 60_000);
  });

  step('recipe: hovering Convolution110 in mnist-12.quantlens.json shows its op type and planned precision', async (page) => {
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: RECIPE });
    await row.first().dblclick();
    const name = page.locator('.monaco-editor .view-lines span', { hasText: /^"?Convolution110"?$/ }).first();
    await name.waitFor({ state: 'visible', timeout: 30_000 });
    const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: 'planned precision' });
    await waitUntil('the recipe hover', page, async () => {
      const box = await name.boundingBox();
      if (!box) return false;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height + 40); // away, then back: a fresh hover
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForTimeout(1_500);
      return (await hover.count()) > 0 && hover.first().isVisible();
    }, 60_000);
    const text = (await hover.first().textContent()) ?? '';
    assert.match(text, /Convolution110/);
    assert.match(text, /· Conv(?!olution)/);
    assert.match(text, /planned precision: int16/);
  });

  step('Quantize Model… from the palette with the sample data: the result opens beside, with int16 Q/DQ around Convolution110', async (page) => {
    await page.locator('.tab', { hasText: MODEL }).first().click();
    const out = path.join(workspace, 'mnist-12.int8.onnx');
    await palette(page, 'QuantLens: Quantize Model', ['Static int8', 'Choose calibration data']);
    await answerFileDialog(page, path.join(workspace, IMAGES));
    const input = page.locator('.quick-input-widget input');
    await waitUntil('the save dialog proposing mnist-12.int8.onnx', page, async () => (await input.inputValue()).endsWith('mnist-12.int8.onnx'));
    await input.press('Enter');
    // The result opens beside the source by itself (quantlens.quantize.openResult).
    const { frame } = await waitInFrames(page, '[data-testid="graph-view"][data-ready="true"] h1[title="mnist-12.int8.onnx"]', 180_000);
    assert.ok(fs.existsSync(out), 'the quantized model is written beside the source');
    // The activation tensor Convolution110 reads is quantized to int16 (the mark), shown as such.
    await frame.fill('[data-testid="graph-search"]', 'Pooling66_Output_0_q');
    await frame.press('[data-testid="graph-search"]', 'Enter');
    const dtype = await waitUntil('the int16 tensor in the properties', page, async () =>
      frame.evaluate(() => document.querySelector('[data-testid="prop-inputs"] tr[data-name="Pooling66_Output_0_q"], [data-testid="prop-outputs"] tr[data-name="Pooling66_Output_0_q"]')?.getAttribute('data-dtype')));
    assert.equal(dtype, 'int16');
  });
});
