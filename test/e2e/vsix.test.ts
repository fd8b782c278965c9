/**
 * The packaged product: `npm run package` builds a linux-x64 VSIX that carries only that platform's
 * onnxruntime binaries, and that VSIX, installed into code-server the way a user installs it, opens
 * a model in the QuantLens editor.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { unzipSync } from 'fflate';
import { installVsix, QUANTLENS_ASSOCIATIONS, REPO_ROOT } from '../../scripts/code-server';
import { prepareWorkspace, saveFailureArtifacts, SAMPLE_MNIST, startSession, waitInFrames, type Session } from '../integration/harness';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const VSIX = path.join(REPO_ROOT, `${pkg.name}-linux-x64-${pkg.version}.vsix`);
let session: Session | undefined;
let workspace: string | undefined;

after(async () => {
  await session?.close();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

test('npm run package builds a linux-x64 VSIX with only that platform\'s native runtime', () => {
  const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const size = fs.statSync(VSIX).size;
  console.log(`VSIX ${path.basename(VSIX)}: ${(size / 2 ** 20).toFixed(2)} MB`);
  const entries = listEntries(fs.readFileSync(VSIX));
  const has = (p: string) => entries.some((e) => e === `extension/${p}`);
  for (const f of ['package.json', 'dist/extension.js', 'dist/modelWorker.js', 'dist/webview.js', 'dist/cli.js', 'media/webview.css', 'schemas/recipe.schema.json']) {
    assert.ok(has(f), `${f} is in the VSIX`);
  }
  assert.ok(entries.some((e) => e.includes('bin/napi-v6/linux/x64/onnxruntime_binding.node')), 'linux-x64 onnxruntime binding is in the VSIX');
  const foreign = entries.filter((e) => /napi-v\d+\/(darwin|win32|linux\/arm64)\//.test(e));
  assert.deepEqual(foreign, [], 'no other platform\'s binaries');
  assert.deepEqual(entries.filter((e) => /^extension\/(src|test|webview|\.cache|node_modules\/(typescript|playwright-core|esbuild))\//.test(e)), [], 'no sources or dev tools');
});

/** Central-directory file names of a zip (fflate's filter callback sees every entry but returns none). */
function listEntries(zip: Buffer): string[] {
  const names: string[] = [];
  unzipSync(new Uint8Array(zip), { filter: (f) => { names.push(f.name); return false; } });
  return names;
}

test('the VSIX, installed into code-server, opens mnist-12.onnx in the QuantLens editor', async () => {
  assert.ok(fs.existsSync(VSIX), 'the previous test built the VSIX');
  workspace = prepareWorkspace({ 'mnist-12.onnx': SAMPLE_MNIST });
  session = await startSession({
    workspace,
    install: (extensionsDir) => installVsix(extensionsDir, VSIX),
    settings: { 'workbench.editorAssociations': QUANTLENS_ASSOCIATIONS },
    openFile: path.join(workspace, 'mnist-12.onnx'),
  });
  try {
    const { frame } = await waitInFrames(session.page, '[data-testid="model-view"]', 90_000);
    assert.equal((await frame.textContent('[data-testid="node-count"]'))?.trim(), '12');
    const row = await frame.$('[data-testid="inputs"] [data-testid="io-row"]');
    assert.equal(await row?.getAttribute('data-name'), 'Input3');
  } catch (e) {
    await saveFailureArtifacts(session, 'vsix-open');
    throw e;
  }
});
