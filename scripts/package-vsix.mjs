// Builds the production bundles and packages a linux-x64 VSIX that carries only that platform's
// onnxruntime-node binaries. Prints the VSIX size.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const target = process.env.QUANTLENS_VSIX_TARGET ?? 'linux-x64';
const out = path.join(root, `${pkg.name}-${target}-${pkg.version}.vsix`);

// A clean dist/: development builds leave source maps that must not ship.
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--target', target, '--out', out, '--allow-missing-repository'], {
  cwd: root,
  stdio: 'inherit',
});
const size = fs.statSync(out).size;
console.log(`VSIX: ${path.relative(root, out)} ${(size / 1024 / 1024).toFixed(2)} MB (${size} bytes)`);
