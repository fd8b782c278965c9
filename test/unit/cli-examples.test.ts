/**
 * The command lines the documentation shows run as written: the README's "Command line" code block
 * and the example in every command's --help. They run from a scratch folder that holds the
 * repository's dist/ and samples/ (as a user's clone does), so outputs land there.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, test } from 'node:test';
import { REPO_ROOT, sharedModel } from '../helpers/paths';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** The README's "Command line" item of "Using it": from its bullet up to the next top-level bullet. */
function commandLineSection(): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('- **Command line**');
  assert.ok(start >= 0, 'README has a "Command line" item');
  const rest = readme.slice(start + 1);
  const end = rest.search(/\n- \*\*|\n#/);
  return rest.slice(0, end < 0 ? undefined : end);
}

/** Shell lines of the fenced code blocks, with backslash continuations joined and comments dropped. */
function codeBlockCommands(text: string): string[] {
  const commands: string[] = [];
  for (const m of text.matchAll(/```(?:bash|sh)?\n([\s\S]*?)```/g)) {
    const joined = m[1].replace(/\\\n/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      if (line) commands.push(line);
    }
  }
  return commands;
}

/** Words of a plain command line; shell features the test cannot reproduce faithfully are refused. */
function words(line: string): string[] {
  assert.doesNotMatch(line, /[$`|;&<>(){}*?]/, `README example uses shell syntax this test does not run: ${line}`);
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-examples-'));
fs.symlinkSync(path.join(REPO_ROOT, 'dist'), path.join(scratch, 'dist'));
fs.symlinkSync(path.join(REPO_ROOT, 'samples'), path.join(scratch, 'samples'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function run(argv: string[], what: string): void {
  const r = spawnSync(process.execPath, argv, { cwd: scratch, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stderr}`);
  assert.ok(r.stdout.length > 0, `${what} printed nothing`);
}

test('the README\'s command-line examples use only files the repository ships, and each runs as written', () => {
  const section = commandLineSection();
  assert.doesNotMatch(section, /\.\.\/shared|\/work\//, 'examples must not point outside the repository');
  const commands = codeBlockCommands(section);
  assert.ok(commands.length >= 3, `expected the examples block, found ${commands.length} commands`);
  let quantized = 0;
  for (const line of commands) {
    const argv = words(line);
    assert.deepEqual(argv.slice(0, 2), ['node', 'dist/cli.js'], `README example is not a quantlens command: ${line}`);
    for (const a of argv.slice(2)) {
      if (a.startsWith('samples/')) assert.ok(fs.existsSync(path.join(REPO_ROOT, a)), `${a} is not in the repository (${line})`);
    }
    run([CLI, ...argv.slice(2)], line);
    if (argv[2] === 'quantize') quantized++;
  }
  assert.ok(quantized > 0, 'the examples show a quantize run');
  // the quantize example's outputs exist where the README says they go
  assert.ok(fs.existsSync(path.join(scratch, 'mnist-int8.onnx')), 'mnist-int8.onnx was written');
});

test('the example in every command\'s --help runs as written', () => {
  for (const cmd of ['inspect', 'convert', 'quantize']) {
    const help = spawnSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' }).stdout;
    const m = /\nExample[^\n]*:\n {2}(quantlens .+)/.exec(help);
    assert.ok(m, `${cmd} --help has an example`);
    const argv = words(m[1]);
    run([CLI, ...argv.slice(1)], m[1]);
  }
});

test('samples/ holds the first 200 MNIST test images and labels, byte for byte, with their licence', () => {
  const idx = (file: string) => zlib.gunzipSync(fs.readFileSync(file));
  for (const [sample, original, recordBytes, headerBytes] of [
    ['mnist-200-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz', 28 * 28, 16],
    ['mnist-200-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 1, 8],
  ] as const) {
    const cut = idx(path.join(REPO_ROOT, 'samples', sample));
    const full = idx(sharedModel('data', 'mnist', original));
    assert.equal(cut.readUInt32BE(4), 200, `${sample} declares 200 records`);
    assert.equal(cut.length, headerBytes + 200 * recordBytes, sample);
    assert.deepEqual(cut.subarray(0, 4), full.subarray(0, 4), `${sample}: same IDX magic`);
    assert.deepEqual(cut.subarray(8), full.subarray(8, headerBytes + 200 * recordBytes), `${sample}: the original's first 200 records`);
  }
  const notice = fs.readFileSync(path.join(REPO_ROOT, 'samples', 'README.md'), 'utf8');
  assert.match(notice, /mnist-200-images-idx3-ubyte\.gz[^\n]*CC BY-SA 3\.0/);
  assert.match(notice, /LeCun/);
});
