// @vscode/test-cli configuration: runs the integration suite (test/integration/suite) in desktop VS
// Code, which @vscode/test-electron downloads (needs network access to update.code.visualstudio.com).
//   npx vscode-test --config test/integration/.vscode-test.mjs
// On machines without that network the same suite runs in code-server instead:
//   node --import tsx --test test/integration/integration.test.ts
import { defineConfig } from '@vscode/test-cli';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const sharedModels = process.env.QUANTLENS_SHARED_MODELS ?? path.resolve(root, '..', 'shared', 'models');

function run(args) {
  const r = spawnSync(args[0], args.slice(1), { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status})`);
}

// The extension itself and the suite (compiled to out/integration/suite).
run(['npm', 'run', '--silent', 'build']);
run([process.execPath, '--import', 'tsx', path.join(here, 'build.ts')]);

// The fixtures the suite expects in its workspace (as test/integration/integration.test.ts provides them).
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-desktop-workspace-'));
fs.copyFileSync(path.join(root, 'samples', 'mnist-12.onnx'), path.join(workspace, 'mnist-12.onnx'));
fs.copyFileSync(
  path.join(sharedModels, 'tflite', 'tflite-micro', 'hello_world', 'models', 'hello_world_float.tflite'),
  path.join(workspace, 'hello_world_float.tflite'),
);

fs.copyFileSync(path.join(sharedModels, 'data', 'mnist', 't10k-images-idx3-ubyte.gz'), path.join(workspace, 't10k-images-idx3-ubyte.gz'));
fs.copyFileSync(path.join(sharedModels, 'onnx', 'mnist', 'mnist-12-int8.onnx'), path.join(workspace, 'mnist-12-int8.onnx'));

// *.workbench.js tests ask a Playwright harness about menus and notifications (suite/probe.ts);
// desktop VS Code has no such harness here, so only the *.suite.js files run.
// This config module lives as long as the vscode-test process, which ends after the tests.
process.on('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));

const suiteDir = path.join(root, 'out', 'integration', 'suite');
export default defineConfig({
  label: 'integration',
  files: fs.readdirSync(suiteDir).filter((f) => f.endsWith('.suite.js')).map((f) => path.join(suiteDir, f)),
  extensionDevelopmentPath: root,
  workspaceFolder: workspace,
  // Only QuantLens: the developer's own extensions stay out of the test instance.
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
  mocha: { ui: 'tdd', timeout: 60_000, color: true },
});
