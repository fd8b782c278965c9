// Runs every test layer and prints one total at the end.
//   node scripts/test-all.mjs [static|unit|webview|integration|e2e ...]
// Layers: static (tsc + eslint), unit (src/core in plain Node, corpus and conformance included),
// webview (real Chromium), integration (inside code-server's extension host), e2e (Playwright
// driving code-server's workbench). All use node's test runner, so counts are per test.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);

const LAYERS = {
  static: ['test/static'],
  unit: ['test/unit', 'test/corpus'],
  webview: ['test/webview'],
  integration: ['test/integration/integration.test.ts'],
  e2e: ['test/e2e/e2e.test.ts', 'test/e2e/graph.test.ts', 'test/e2e/launch.test.ts', 'test/e2e/marks.test.ts', 'test/e2e/results.test.ts', 'test/e2e/vsix.test.ts'],
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const layers = wanted.length ? wanted : Object.keys(LAYERS);
for (const l of layers) if (!LAYERS[l]) { console.error(`unknown layer '${l}' (one of ${Object.keys(LAYERS).join(', ')})`); process.exit(2); }

function testFiles(dirs) {
  const files = [];
  for (const d of dirs) {
    if (d.endsWith('.ts')) { if (fs.existsSync(d)) files.push(d); continue; }
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.test.ts')) files.push(path.join(d, f));
  }
  return files;
}

// The bundles are what the CLI tests, webview, integration and e2e layers load (about 1 s).
if (true) {
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

function runLayer(layer) {
  const files = testFiles(LAYERS[layer]);
  if (files.length === 0) {
    console.log(`\n=== ${layer}: no test files`);
    return Promise.resolve({ layer, pass: 0, fail: 1, skipped: 0, ms: 0, note: 'no test files' });
  }
  console.log(`\n=== layer: ${layer} (${files.length} files)`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=900000', ...files], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.on('close', (code) => {
      const num = (k) => { const m = out.match(new RegExp(`^\\S*\\s*${k} (\\d+)\\s*$`, 'm')); return m ? Number(m[1]) : 0; };
      const pass = num('pass');
      let fail = num('fail') + num('cancelled');
      if (code !== 0 && fail === 0) fail = 1; // a crash before any summary still fails the layer
      resolve({ layer, pass, fail, skipped: num('skipped'), todo: num('todo'), ms: Date.now() - t0 });
    });
  });
}

const results = [];
for (const l of layers) results.push(await runLayer(l));

console.log('\n=== summary');
let pass = 0, fail = 0, skipped = 0;
for (const r of results) {
  pass += r.pass; fail += r.fail; skipped += r.skipped;
  console.log(`${r.layer.padEnd(12)} ${String(r.pass).padStart(5)} passed ${String(r.fail).padStart(3)} failed ${String(r.skipped).padStart(3)} skipped  ${(r.ms / 1000).toFixed(1)} s${r.note ? '  (' + r.note + ')' : ''}`);
}
console.log(`tests: ${pass} passed, ${fail} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(fail > 0 ? 1 : 0);
