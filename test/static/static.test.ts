/** Type-checking and lint (including the core/host/webview import boundaries) as tests. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { REPO_ROOT } from '../helpers/paths';

function run(bin: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', bin), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
}

test('tsc --noEmit (strict) passes', () => {
  const r = run('typescript/bin/tsc', ['--noEmit', '-p', 'tsconfig.json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('eslint passes, import boundaries included', () => {
  const r = run('eslint/bin/eslint.js', ['.', '--max-warnings=0']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('eslint rejects a vscode import in src/core (the boundary rule is live)', () => {
  const probe = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'eslint/bin/eslint.js'), '--stdin', '--stdin-filename', 'src/core/probe.ts'], {
    cwd: REPO_ROOT, encoding: 'utf8', input: "import * as vscode from 'vscode';\nexport const x = vscode;\n",
  });
  assert.notEqual(probe.status, 0);
  assert.match(probe.stdout, /VS Code-free/);
});

test('eslint rejects innerHTML in the webview', () => {
  const probe = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'eslint/bin/eslint.js'), '--stdin', '--stdin-filename', 'webview/probe.ts'], {
    cwd: REPO_ROOT, encoding: 'utf8', input: "export function f(el: HTMLElement, s: string) { el.innerHTML = s; }\n",
  });
  assert.notEqual(probe.status, 0);
  assert.match(probe.stdout, /textContent/);
});
