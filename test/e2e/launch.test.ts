/**
 * The README's first command, as a new user runs it: `npm run launch` prints a URL, and that URL
 * shows VS Code with samples/mnist-12.onnx open in the QuantLens editor. Ctrl+C stops it cleanly.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT, TEST_RESULTS_DIR } from '../../scripts/code-server';
import { waitInFrames } from '../integration/harness';

let launcher: ChildProcess | undefined;
let browser: Browser | undefined;

after(async () => {
  await browser?.close().catch(() => undefined);
  if (launcher && launcher.exitCode === null) launcher.kill('SIGKILL');
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm run launch prints a URL that shows mnist-12.onnx in the QuantLens editor; Ctrl+C stops it', async () => {
  // --no-build: the test runner has just built dist/; everything else is the README command's path.
  launcher = spawn('bash', ['scripts/launch.sh', '--no-build'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  launcher.stdout!.on('data', (d) => (out += d));
  launcher.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 180 s.\nstdout:\n${out}\nstderr:\n${err}`)), 180_000);
    const check = () => {
      const m = out.match(/^\s+(http:\/\/127\.0\.0\.1:\d+\/\S*)$/m);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    launcher!.stdout!.on('data', check);
    launcher!.on('exit', (code) => reject(new Error(`launcher exited (${code}) before printing a URL.\n${out}\n${err}`)));
  });
  const pid = Number(out.match(/code-server \(pid (\d+)\)/)?.[1]);
  assert.ok(pid > 0, `the launcher names code-server's pid:\n${out}`);

  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  try {
    const { frame } = await waitInFrames(page, '[data-testid="model-view"]', 60_000);
    assert.equal((await frame.textContent('[data-testid="node-count"]'))?.trim(), '12');
    const row = await frame.$('[data-testid="inputs"] [data-testid="io-row"]');
    assert.equal(await row?.getAttribute('data-name'), 'Input3');
    assert.equal(await row?.getAttribute('data-dtype'), 'float32');
    assert.equal(await row?.getAttribute('data-shape'), '[1,1,28,28]');
    // The editor tab is the sample model.
    assert.ok(await page.locator('.tab', { hasText: 'mnist-12.onnx' }).count() >= 1);
  } catch (e) {
    fs.mkdirSync(TEST_RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(TEST_RESULTS_DIR, 'launch-failed.png') }).catch(() => undefined);
    throw e;
  }
  await browser.close();
  browser = undefined;

  // Ctrl+C: the launcher stops code-server by its pid and exits 0.
  const exited = new Promise<number | null>((r) => launcher!.on('exit', (code) => r(code)));
  launcher.kill('SIGINT');
  assert.equal(await exited, 0);
  const deadline = Date.now() + 10_000;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(processAlive(pid), false, 'code-server is stopped');
});
