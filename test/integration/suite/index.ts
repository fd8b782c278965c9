/**
 * Runs the integration suite with mocha inside a VS Code extension host.
 * - `run()` is the entry @vscode/test-electron expects (extensionTestsPath).
 * - `runSuite()` also returns a per-test report; the test-runner extension (../runner) uses it in
 *   code-server and writes the report to a JSON file for test/integration/integration.test.ts.
 * Compiled by test/integration/build.ts into out/integration/suite/, next to the *.suite.js files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { PROBE_ENV } from './probe';

export interface TestResult {
  title: string;
  fullTitle: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: { message: string; stack?: string };
}

export interface SuiteReport {
  startedAt: string;
  durationMs: number;
  /** Tests mocha planned to run (before any failed hook cut the run short). */
  planned: number;
  passed: number;
  failed: number;
  pending: number;
  tests: TestResult[];
  host: { vscodeVersion?: string; node: string; platform: string };
  /** Set when the suite could not run at all. */
  fatal?: string;
}

export interface RunOptions {
  /** Per-test timeout. */
  timeoutMs?: number;
  /** Only tests whose full title matches. */
  grep?: string;
  /** Which files to load: '*.suite.js' (default) or '*.bench.js' (benchmarks, run by npm run bench). */
  kind?: 'suite' | 'bench';
}

/**
 * The suite's files. *.workbench.js files ask the harness what the workbench shows (menus,
 * notifications: see probe.ts), so they run where a harness drives the workbench (code-server).
 */
function testFiles(dir: string, kind: 'suite' | 'bench'): string[] {
  const suffixes = kind === 'suite' && process.env[PROBE_ENV] ? ['.suite.js', '.workbench.js'] : [`.${kind}.js`];
  return fs
    .readdirSync(dir)
    .filter((f) => suffixes.some((s) => f.endsWith(s)))
    .sort()
    .map((f) => path.join(dir, f));
}

function errorOf(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) return { message: err.message, stack: err.stack };
  return { message: String(err) };
}

export async function runSuite(options: RunOptions = {}): Promise<SuiteReport> {
  const started = Date.now();
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: options.timeoutMs ?? 60_000, reporter: 'spec' });
  if (options.grep) mocha.grep(options.grep);
  for (const f of testFiles(__dirname, options.kind ?? 'suite')) mocha.addFile(f);

  let vscodeVersion: string | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    vscodeVersion = (require('vscode') as { version: string }).version;
  } catch {
    // not in an extension host
  }
  const tests: TestResult[] = [];
  let planned = 0;
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    planned = runner.total;
    runner.on('pass', (t: Mocha.Test) =>
      tests.push({ title: t.title, fullTitle: t.fullTitle(), state: 'passed', durationMs: t.duration ?? 0 }),
    );
    // Failures of hooks (suiteSetup, ...) arrive here too, as runnables of type 'hook'.
    runner.on('fail', (t: Mocha.Runnable, err: unknown) =>
      tests.push({ title: t.title, fullTitle: t.fullTitle(), state: 'failed', durationMs: t.duration ?? 0, error: errorOf(err) }),
    );
    runner.on('pending', (t: Mocha.Test) =>
      tests.push({ title: t.title, fullTitle: t.fullTitle(), state: 'pending', durationMs: 0 }),
    );
  });
  return {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    planned,
    passed: tests.filter((t) => t.state === 'passed').length,
    failed: tests.filter((t) => t.state === 'failed').length,
    pending: tests.filter((t) => t.state === 'pending').length,
    tests,
    host: { vscodeVersion, node: process.version, platform: process.platform },
  };
}

/** The @vscode/test-electron entry point: rejects when any test fails. */
export async function run(): Promise<void> {
  const report = await runSuite();
  if (report.failed > 0) throw new Error(`${report.failed} of ${report.tests.length} integration tests failed`);
  if (report.passed === 0) throw new Error('no integration tests ran');
}
