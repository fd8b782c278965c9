/**
 * A tiny extension, installed only into the code-server instance that test/integration/integration.test.ts
 * starts. code-server ignores extensionTestsPath (real-vscode.md step 8), so this runs the mocha suite in
 * the real extension host once startup has finished and writes the report to the file named in
 * runner-config.json, which the harness writes beside this file when installing it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { RunOptions, SuiteReport } from '../suite/index';
import { PROBE_ENV } from '../suite/probe';

export interface RunnerConfig extends RunOptions {
  /** Absolute path of the compiled suite entry (out/integration/suite/index.js). */
  suite: string;
  /** Where to write the SuiteReport JSON. */
  results: string;
  /** Folder through which the suite asks the harness about the workbench UI (suite/workbench.ts). */
  probeDir?: string;
}

function writeReport(file: string, report: SuiteReport): void {
  // Write then rename, so the harness never reads half a file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = JSON.parse(fs.readFileSync(path.join(context.extensionPath, 'runner-config.json'), 'utf8')) as RunnerConfig;
  let report: SuiteReport;
  if (config.probeDir) process.env[PROBE_ENV] = config.probeDir;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const suite = require(config.suite) as typeof import('../suite/index');
    report = await suite.runSuite({ timeoutMs: config.timeoutMs, grep: config.grep, kind: config.kind });
  } catch (err) {
    report = {
      startedAt: new Date().toISOString(),
      durationMs: 0,
      planned: 0,
      passed: 0,
      failed: 0,
      pending: 0,
      tests: [],
      host: { node: process.version, platform: process.platform },
      fatal: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
  }
  writeReport(config.results, report);
}

export function deactivate(): void {}
