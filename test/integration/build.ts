/**
 * Compiles the integration suite and the test-runner extension into out/integration/ (git-ignored):
 *   out/integration/suite/index.js, out/integration/suite/*.suite.js, *.workbench.js  (mocha; 'vscode' external)
 *   out/integration/runner/extension.js + package.json                 (the test-runner extension)
 * The same suite files run in code-server (through the runner) and in desktop VS Code (through
 * @vscode/test-cli, see .vscode-test.mjs). CLI: `node --import tsx test/integration/build.ts`.
 */
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const INTEGRATION_DIR = __dirname;
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const OUT_DIR = path.join(REPO_ROOT, 'out', 'integration');
export const SUITE_ENTRY = path.join(OUT_DIR, 'suite', 'index.js');
export const RUNNER_DIR = path.join(OUT_DIR, 'runner');

export async function buildIntegration(): Promise<void> {
  const suiteDir = path.join(INTEGRATION_DIR, 'suite');
  const suiteEntries = fs
    .readdirSync(suiteDir)
    .filter((f) => f === 'index.ts' || f.endsWith('.suite.ts') || f.endsWith('.workbench.ts') || f.endsWith('.bench.ts'))
    .map((f) => path.join(suiteDir, f));
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
  await build({
    entryPoints: [...suiteEntries, path.join(INTEGRATION_DIR, 'runner', 'extension.ts')],
    outbase: INTEGRATION_DIR,
    outdir: OUT_DIR,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // mocha is resolved at run time from the repository's node_modules (out/ lives inside it).
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(INTEGRATION_DIR, 'runner', 'package.json'), path.join(RUNNER_DIR, 'package.json'));
}

if (require.main === module) {
  buildIntegration().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
