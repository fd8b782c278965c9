/**
 * package.json's menus, read statically: every QuantLens context key a `when` clause names is one
 * the extension sets, and Quantize Model… is offered only where a model can be quantized. The
 * integration suite (test/integration/suite/userFacing.workbench.ts) checks the menus a user sees.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths';

interface MenuItem { command: string; when?: string }
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string }[]; menus: Record<string, MenuItem[]> };
};

function hostSources(): string {
  const dir = path.join(REPO_ROOT, 'src', 'host');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

test('every quantlens.* context key in a when clause is set by the extension', () => {
  const host = hostSources();
  const keys = new Set<string>();
  for (const items of Object.values(pkg.contributes.menus)) {
    for (const item of items) for (const m of (item.when ?? '').matchAll(/\bquantlens\.[A-Za-z]+\b/g)) keys.add(m[0]);
  }
  keys.delete('quantlens.modelEditor'); // the custom editor's view type, not a key
  assert.ok(keys.size > 0, 'the menus use QuantLens context keys');
  for (const key of keys) assert.match(host, new RegExp(`'setContext', '${key.replace('.', '\\.')}'`), `${key} is never set`);
});

test('Quantize Model… is offered only on quantizable ONNX models, in a trusted workspace', () => {
  const menus = pkg.contributes.menus;
  const palette = menus.commandPalette.find((m) => m.command === 'quantlens.quantizeModel');
  assert.ok(palette?.when, 'the palette entry has a when clause');
  for (const term of ['activeCustomEditorId == quantlens.modelEditor', 'quantlens.activeModelQuantizable', 'isWorkspaceTrusted']) {
    assert.ok(palette.when.split('&&').map((t) => t.trim()).includes(term), `palette: ${term}`);
  }
  const explorer = menus['explorer/context'].find((m) => m.command === 'quantlens.quantizeModel');
  assert.ok(explorer?.when, 'the explorer entry has a when clause');
  const terms = explorer.when.split('&&').map((t) => t.trim());
  assert.ok(terms.includes('resourceExtname == .onnx'), 'explorer: .onnx only');
  assert.doesNotMatch(explorer.when, /\|\|/, 'no alternative widens the explorer entry');
  assert.ok(terms.includes('isWorkspaceTrusted'));
  assert.ok(terms.includes('resourcePath not in quantlens.notQuantizableModels'));
});
