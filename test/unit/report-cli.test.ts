/**
 * `quantlens report`: the --help example runs as written from a user's clone (dist/, samples/ and
 * test/fixtures/ beside it) and writes the Markdown it promises; an import with unmatched names
 * says so; usage errors exit 2 with the usage line.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../helpers/paths';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-report-cli-'));
for (const d of ['dist', 'samples']) fs.symlinkSync(path.join(REPO_ROOT, d), path.join(scratch, d));
fs.mkdirSync(path.join(scratch, 'test'));
fs.symlinkSync(path.join(REPO_ROOT, 'test', 'fixtures'), path.join(scratch, 'test', 'fixtures'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const run = (argv: string[]) => spawnSync(process.execPath, [CLI, ...argv], { cwd: scratch, encoding: 'utf8', timeout: 120_000 });

test('the example in report --help runs as written and writes the worst layers as Markdown', () => {
  const help = run(['report', '--help']).stdout;
  const m = /\nExample[^\n]*:\n {2}quantlens (.+)/.exec(help);
  assert.ok(m, 'report --help has an example');
  const argv = m[1].split(/\s+/);
  const r = run(argv);
  assert.equal(r.status, 0, r.stderr);
  const out = path.join(scratch, argv[argv.indexOf('--out') + 1]);
  const text = fs.readFileSync(out, 'utf8');
  // mnist-layers.json ranked by SQNR, lowest first: ReLU114 (38.84 dB), then the FC layer (39.54 dB)
  const ranked = text.split('\n').filter((l) => /^\| \d+ \|/.test(l)).map((l) => l.split('|')[2].trim());
  assert.deepEqual(ranked.slice(0, 2), ['ReLU114', 'Times212/MatMulAddFusion']);
});

test('an import with names the model lacks lists them on stderr and in the report; usage errors exit 2', () => {
  const r = run(['report', '--import', 'test/fixtures/report/ort-activation-error.json', '--model', 'samples/mnist-12.onnx', '--format', 'csv', '--out', 'ort.csv']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /not matched: renamed_by_optimizer \(onnxruntime qdq_loss_debug\)/);
  assert.equal(fs.readFileSync(path.join(scratch, 'ort.csv'), 'utf8').trim().split('\n').length, 1 + 4);
  const u = run(['report', '--import', 'x.json', '--format', 'md', '--out', 'x.md']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--import needs --model/);
  const bad = run(['report', '--from', 'samples/README.md', '--format', 'md', '--out', 'x.md']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^quantlens: samples\/README\.md: not valid JSON/);
});
