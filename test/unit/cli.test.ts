/** The built CLI (dist/cli.js), as a user runs it. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, SAMPLE_MODEL } from '../helpers/paths';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('package.json bin points at the built CLI', () => {
  assert.equal(path.resolve(REPO_ROOT, pkg.bin.quantlens), CLI);
  assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
  assert.match(fs.readFileSync(CLI, 'utf8').slice(0, 30), /^#!\/usr\/bin\/env node/);
});

test('--version prints the package version', () => {
  const r = cli('--version');
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('--help lists the commands', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /quantlens inspect <model>/);
  assert.match(r.stdout, /quantlens convert <model> --out <file>/);
});

const COMMANDS = ['inspect', 'convert', 'quantize'];

test('every command answers --help and -h with its usage and an example, exit 0', () => {
  for (const cmd of COMMANDS) {
    for (const args of [[cmd, '--help'], [cmd, '-h'], ['help', cmd], [cmd, 'some.onnx', '--out', 'x.onnx', '--help']]) {
      const r = cli(...args);
      const what = args.join(' ');
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      assert.equal(r.stderr, '', what);
      assert.match(r.stdout, new RegExp(`^Usage: quantlens ${cmd} <model>`), what);
      assert.match(r.stdout, new RegExp(`\\nExample[^\\n]*:\\n  quantlens ${cmd} samples/`), what);
      assert.match(r.stdout, /-h, --help/, what);
    }
  }
  const top = cli('--help');
  for (const cmd of COMMANDS) assert.match(top.stdout, new RegExp(`quantlens ${cmd} <model>`));
  assert.match(top.stdout, /quantlens <command> --help/);
});

test('usage errors: one clean line naming the option, the command\'s usage, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['inspect', '--frob', SAMPLE_MODEL], /^quantlens: inspect: unknown option '--frob'\. Usage: quantlens inspect <model> \[--json\]/],
    [['convert', SAMPLE_MODEL, '-x', '--out', 'o.onnx'], /^quantlens: convert: unknown option '-x'\. Usage: quantlens convert <model> --out <file>/],
    [['quantize', SAMPLE_MODEL, '--out', 'o.onnx', '--nope'], /^quantlens: quantize: unknown option '--nope'\. Usage: quantlens quantize <model>/],
    [['convert', SAMPLE_MODEL, '--out'], /^quantlens: convert: option '--out' needs a value\. Usage: quantlens convert/],
    [['inspect', '--json=yes', SAMPLE_MODEL], /^quantlens: inspect: option '--json' does not take a value\. Usage: quantlens inspect/],
    [['quantize', SAMPLE_MODEL, '--out', 'o.onnx', '--mode', 'sideways'], /^quantlens: --mode must be one of static, dynamic, fp16 \(got 'sideways'\)\. Usage: quantlens quantize/],
    [['help', 'frobnicate'], /^quantlens: no help for 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    const what = args.join(' ');
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, '', what);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${what}: ${r.stderr}`);
    assert.match(r.stderr, re, what);
    // node:util's own wording (shell-quoting advice ending on a broken quote) must not leak through
    assert.doesNotMatch(r.stderr, /positional argument|'-- "|<value>'/, what);
  }
});

test('a file that does not exist is named by its full path (model, recipe, calibration data)', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-')));
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  try {
    const r = run('inspect', path.join('models', 'missing.onnx'));
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim(), `quantlens: '${path.join(dir, 'models', 'missing.onnx')}' does not exist.`);
    for (const [flag, name] of [['--recipe', 'missing.quantlens.json'], ['--calibration', 'missing-images.gz']]) {
      const q = run('quantize', SAMPLE_MODEL, '--out', 'out.onnx', flag, name);
      assert.equal(q.status, 1, q.stderr);
      assert.ok(q.stderr.includes(path.join(dir, name)), `${flag}: ${q.stderr}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect --json on mnist-12 reports the model', () => {
  const r = cli('inspect', SAMPLE_MODEL, '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.format, 'onnx');
  assert.equal(s.nodeCount, 12);
  assert.deepEqual(s.inputs, [{ name: 'Input3', dtype: 'float32', shape: [1, 1, 28, 28] }]);
  assert.deepEqual(s.outputs, [{ name: 'Plus214_Output_0', dtype: 'float32', shape: [1, 10] }]);
  for (const k of ['producer', 'opsetOrVersion', 'opHistogram', 'initializerCount', 'parameterCount', 'subgraphCount', 'quantization']) assert.ok(k in s, k);
});

test('inspect without --json prints a readable summary', () => {
  const r = cli('inspect', SAMPLE_MODEL);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Input3: float32\[1,1,28,28\]/);
  assert.match(r.stdout, /nodes: 12/);
});

test('bad input: one clear line on stderr, non-zero exit, no stack trace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-'));
  const cases: [string[], RegExp, number][] = [
    [['inspect', path.join(dir, 'missing.onnx')], /does not exist/, 1],
    [['inspect', dir], /is a folder/, 1],
    [['frobnicate'], /unknown command 'frobnicate'/, 2],
    [['inspect'], /exactly one model path/, 2],
    [['convert', SAMPLE_MODEL], /--out/, 2],
    [['convert', SAMPLE_MODEL, '--out', SAMPLE_MODEL], /never overwrites/, 2],
  ];
  const empty = path.join(dir, 'empty.onnx');
  fs.writeFileSync(empty, '');
  cases.push([['inspect', empty], /empty/, 1]);
  const text = path.join(dir, 'notes.txt');
  fs.writeFileSync(text, 'hello, this is not a model at all');
  cases.push([['inspect', text], /not an ONNX or TFLite model/, 1]);
  for (const [args, re, code] of cases) {
    const r = cli(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('convert round-trips mnist-12 and never touches the source', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-'));
  const before = fs.readFileSync(SAMPLE_MODEL);
  const out = path.join(dir, 'copy.onnx');
  const r = cli('convert', SAMPLE_MODEL, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.statSync(out).size > 0);
  assert.deepEqual(fs.readFileSync(SAMPLE_MODEL), before);
  const again = JSON.parse(cli('inspect', out, '--json').stdout);
  const orig = JSON.parse(cli('inspect', SAMPLE_MODEL, '--json').stdout);
  assert.deepEqual({ ...again, fileSize: 0 }, { ...orig, fileSize: 0 });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('version constant equals package.json', async () => {
  const { VERSION } = await import('../../src/core/version');
  assert.equal(VERSION, pkg.version);
});

test('quantize output grades its notes: a raised opset is a note, synthetic data a warning', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-'));
  try {
    const images = path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz');
    // mnist-12 is opset 12; per-channel weights need opset 13
    const real = cli('quantize', SAMPLE_MODEL, '--out', path.join(dir, 'a.onnx'), '--calibration', images, '--limit', '16', '--per-channel');
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /^note: The opset was raised from 12 to 13 for per-channel weights\.$/m);
    assert.doesNotMatch(real.stdout, /^warning:/m);
    const synthetic = cli('quantize', SAMPLE_MODEL, '--out', path.join(dir, 'b.onnx'), '--synthetic', '4');
    assert.equal(synthetic.status, 0, synthetic.stderr);
    assert.match(synthetic.stdout, /^warning: .*synthetic/im);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
