/**
 * What the integration wrapper and the end-to-end tests share: a prepared workspace, QuantLens
 * installed into a throwaway extensions dir, code-server, and Chromium showing the workbench.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { it } from 'node:test';
import * as path from 'node:path';
import { chromium, type Browser, type ElementHandle, type Frame, type Page } from 'playwright-core';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  ensureBuilt,
  installQuantLens,
  makeTempDir,
  REPO_ROOT,
  startCodeServer,
  stopServersOnSignals,
  TEST_RESULTS_DIR,
  type CodeServer,
} from '../../scripts/code-server';

stopServersOnSignals();

export const SAMPLE_MNIST = path.join(REPO_ROOT, 'samples', 'mnist-12.onnx');
export const SHARED_MODELS = process.env.QUANTLENS_SHARED_MODELS ?? path.resolve(REPO_ROOT, '..', 'shared', 'models');
export const SHARED_TFLITE = path.join(SHARED_MODELS, 'tflite', 'tflite-micro', 'hello_world', 'models', 'hello_world_float.tflite');

/**
 * The extension under test: this repository (built on demand), or QUANTLENS_EXTENSION_DIR, a folder
 * with an already built extension (used to develop the harness against a stand-in).
 */
export function installExtensionUnderTest(extensionsDir: string): string {
  const override = process.env.QUANTLENS_EXTENSION_DIR;
  if (override) return installQuantLens(extensionsDir, override);
  ensureBuilt();
  return installQuantLens(extensionsDir);
}

/** A throwaway folder holding the named files (target name -> source path) plus any generated ones. */
export function prepareWorkspace(files: Record<string, string>, generated: Record<string, Uint8Array> = {}): string {
  const dir = makeTempDir('ql-workspace-');
  for (const [name, source] of Object.entries(files)) {
    if (!fs.existsSync(source)) throw new Error(`fixture ${source} is missing`);
    fs.copyFileSync(source, path.join(dir, name));
  }
  for (const [name, bytes] of Object.entries(generated)) fs.writeFileSync(path.join(dir, name), bytes);
  return dir;
}

export interface Session {
  server: CodeServer;
  browser: Browser;
  page: Page;
  scratch: string;
  /** Console errors from the workbench page (for failure reports). */
  consoleErrors: string[];
  close(): Promise<void>;
}

export interface SessionOptions {
  workspace: string;
  /** Installs extensions into the fresh extensions dir before the server starts. */
  install: (extensionsDir: string) => void;
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  openFile?: string;
}

/**
 * Starts code-server (one per test file) and Chromium on its workbench; resolves once the workbench
 * is rendered. The extension host starts only when a workbench connects, so even the integration
 * suite needs the browser.
 */
export async function startSession(opts: SessionOptions): Promise<Session> {
  const scratch = makeTempDir('ql-session-');
  const extensionsDir = path.join(scratch, 'extensions');
  opts.install(extensionsDir);
  const server = await startCodeServer({
    workspace: opts.workspace,
    extensionsDir,
    userDataDir: path.join(scratch, 'user-data'),
    settings: opts.settings,
    env: opts.env,
  });
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(server.workbenchUrl({ openFile: opts.openFile }));
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    return { server, browser, page, scratch, consoleErrors, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Searches every frame (webviews nest two iframes deep) for `selector`. */
export async function findInFrames(page: Page, selector: string): Promise<{ frame: Frame; element: ElementHandle } | undefined> {
  for (const frame of page.frames()) {
    try {
      const element = await frame.$(selector);
      if (element) return { frame, element };
    } catch {
      // frame detached while we looked
    }
  }
  return undefined;
}

/** Waits until some frame has `selector`. */
export async function waitInFrames(
  page: Page,
  selector: string,
  timeoutMs = 30_000,
): Promise<{ frame: Frame; element: ElementHandle }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = await findInFrames(page, selector);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no frame showed ${selector} within ${timeoutMs} ms`);
    await page.waitForTimeout(200);
  }
}

function safeName(name: string): string {
  return name.replace(/[^a-z0-9._-]+/gi, '_').slice(0, 80);
}

/** Saves a screenshot and code-server's output under test-results/; returns the screenshot path. */
export async function saveFailureArtifacts(session: Session | undefined, name: string): Promise<string | undefined> {
  if (!session) return undefined;
  fs.mkdirSync(TEST_RESULTS_DIR, { recursive: true });
  const base = path.join(TEST_RESULTS_DIR, safeName(name));
  fs.writeFileSync(
    `${base}.log`,
    `code-server output:\n${session.server.output()}\n\nworkbench console errors:\n${session.consoleErrors.join('\n')}\n`,
  );
  try {
    await session.page.screenshot({ path: `${base}.png` });
    return `${base}.png`;
  } catch {
    return undefined;
  }
}

/**
 * A node:test `it` that runs `body` on the session's page and, when it fails, saves a screenshot and
 * the server log under test-results/ (named `${prefix}-${name}`) and names the screenshot in the error.
 */
export function stepWithArtifacts(prefix: string, getSession: () => Session | undefined, name: string, body: (page: Page) => Promise<void>): void {
  it(name, async () => {
    const session = getSession();
    assert.ok(session, 'the code-server session did not start');
    try {
      await body(session.page);
    } catch (err) {
      const shot = await saveFailureArtifacts(session, `${prefix}-${name}`);
      if (err instanceof Error && shot) err.message += `\n(screenshot: ${shot})`;
      throw err;
    }
  });
}

/** Polls `fn` on the page until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, page: Page, fn: () => Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await page.waitForTimeout(250);
  }
}
