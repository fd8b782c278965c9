/**
 * Autotune acceptance on the 50-layer CNN with outlier-heavy weights in three layers
 * (bench/autotune.ts), where plain int8 misses `sqnr >= 25`:
 *  - through the built CLI (--json): the plan meets the budget on the held-out samples, keeps at
 *    most half of the quantized ops above int8, is the cheapest passing plan among the measured
 *    points, and the curve has more than one point with a marked front;
 *  - the recipe it wrote, run through `quantlens quantize --recipe`, gives the model whose held-out
 *    SQNR the test measures in its own onnxruntime sessions: the number autotune reported, and
 *    plain int8 (measured the same way) misses the budget;
 *  - a budget no plan can meet returns the closest plan, says "NOT met" and what it reached;
 *  - cancelling stops the run, leaves no temp folder, and the caller's event loop keeps turning.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy } from '../../src/core/data';
import { writeOnnxFile } from '../../src/core/formats/onnx';
import { loadOrt } from '../../src/core/runtime/ort';
import { autotune } from '../../src/core/eval/autotune';
import { cnnData, outlierCnn } from '../../bench/autotune';
import { REPO_ROOT } from '../helpers/paths';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-autotune-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const N = 32;
const HOLD = 12;
const all = cnnData(N);
const sample = (i: number): Float32Array => all.slice(i * 3072, (i + 1) * 3072);
const heldOut = Array.from({ length: HOLD }, (_, i) => sample(N - HOLD + i));
const float = path.join(tmp, 'cnn50-outliers.onnx');
const data = path.join(tmp, 'data.npy');

async function setup(): Promise<void> {
  if (fs.existsSync(float)) return;
  await writeOnnxFile(outlierCnn(), float);
  fs.writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [N, 3, 32, 32], data: all }));
}

/** Output SQNR (dB) of `model` against the float model on the samples, in plain default sessions. */
async function outputSqnr(model: string, samples: Float32Array[]): Promise<number> {
  const ort = loadOrt();
  const f = await ort.InferenceSession.create(float);
  const q = await ort.InferenceSession.create(model);
  let sig = 0;
  let noise = 0;
  for (const x of samples) {
    const feeds = { [f.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 32, 32]) };
    const a = (await f.run(feeds))[f.outputNames[0]].data as Float32Array;
    const b = (await q.run(feeds))[q.outputNames[0]].data as Float32Array;
    for (let k = 0; k < a.length; k++) { sig += a[k] ** 2; noise += (a[k] - b[k]) ** 2; }
  }
  await f.release();
  await q.release();
  return 10 * Math.log10(sig / noise);
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: 'utf8', timeout: 600_000 });
}

interface Point { step: number; plan: Record<string, string>; cost: number; met: boolean; pareto: boolean; promoted: number; values: { sqnr: number | string } }

test('the plan meets the budget on held-out data with at most half the layers above int8, and its recipe quantizes to that result', async () => {
  await setup();
  const recipeFile = path.join(tmp, 'amp.json');
  const run = cli(['autotune', float, '--data', data, '--budget', 'sqnr >= 25', '--out', recipeFile, '--limit', String(N), '--holdout', String(HOLD), '--json']);
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout) as {
    plan: Record<string, string>; keptAboveInt8: number; quantizedOps: number; met: boolean; points: Point[];
    heldOut: { samples: number; met: boolean; values: { sqnr: number }; int8: { sqnr: number } }; timing: { totalMs: number };
  };
  const recipe = JSON.parse(fs.readFileSync(recipeFile, 'utf8')) as { plan?: Record<string, string>; calibration: { data: string; limit: number } };
  assert.deepEqual(recipe.plan, r.plan);
  assert.equal(recipe.calibration.limit, N - HOLD, 'calibrated on the tuning samples only');
  assert.equal(r.heldOut.samples, HOLD);

  // plain int8, quantized by the CLI from the same recipe without a plan, misses the budget on the held-out samples
  const int8Recipe = path.join(tmp, 'int8.json');
  fs.writeFileSync(int8Recipe, JSON.stringify({ ...recipe, plan: undefined }));
  assert.equal(cli(['quantize', float, '--recipe', int8Recipe, '--out', path.join(tmp, 'int8.onnx')]).status, 0);
  const int8 = await outputSqnr(path.join(tmp, 'int8.onnx'), heldOut);
  assert.ok(int8 < 25, `plain int8 reaches ${int8} dB on the held-out samples`);
  assert.ok(Math.abs(int8 - r.heldOut.int8.sqnr) < 1e-6, `plain int8: measured ${int8} dB, autotune reported ${r.heldOut.int8.sqnr}`);

  // the written recipe through `quantlens quantize --recipe`: the reported held-out SQNR, which meets the budget
  const q = cli(['quantize', float, '--recipe', recipeFile, '--out', path.join(tmp, 'amp.onnx')]);
  assert.equal(q.status, 0, q.stderr);
  const got = await outputSqnr(path.join(tmp, 'amp.onnx'), heldOut);
  console.log(`held-out SQNR: int8 ${int8.toFixed(2)} dB, chosen plan ${got.toFixed(2)} dB (reported ${r.heldOut.values.sqnr.toFixed(2)}); ${r.keptAboveInt8} of ${r.quantizedOps} layers above int8: ${JSON.stringify(r.plan)}; ${r.points.length} points; ${(r.timing.totalMs / 1000).toFixed(1)} s`);
  assert.ok(Math.abs(got - r.heldOut.values.sqnr) < 1e-6, `the recipe's model: ${got} dB, autotune reported ${r.heldOut.values.sqnr}`);
  assert.ok(got >= 25 && r.heldOut.met);

  assert.ok(r.keptAboveInt8 >= 1 && r.keptAboveInt8 <= r.quantizedOps / 2, `${r.keptAboveInt8} of ${r.quantizedOps} above int8`);
  assert.equal(Object.keys(r.plan).length, r.keptAboveInt8);
  // the answer is the cheapest passing point measured, and the curve has a point per step
  const passing = r.points.filter((p) => p.met);
  assert.ok(r.points.length > 1 && passing.length > 0);
  const chosen = r.points.find((p) => JSON.stringify(p.plan) === JSON.stringify(r.plan));
  assert.ok(chosen?.met, 'the chosen plan is a measured, passing point');
  assert.equal(chosen.cost, Math.min(...passing.map((p) => p.cost)));
  assert.deepEqual(r.points.map((p) => p.step), r.points.map((_, i) => i + 1));
  // the front, checked independently: a marked point is beaten by none, an unmarked one by some
  const sq = (p: Point): number => Number(p.values.sqnr);
  const beats = (a: Point, b: Point): boolean => a.cost <= b.cost && sq(a) >= sq(b) && (a.cost < b.cost || sq(a) > sq(b));
  for (const p of r.points) assert.equal(p.pareto, !r.points.some((o) => beats(o, p)), `step ${p.step}`);
  assert.ok(r.points.filter((p) => p.pareto).length > 1);
});

test('a budget no plan meets: the closest plan, "NOT met" and what it reached, a curve of several points', async () => {
  await setup();
  const recipeFile = path.join(tmp, 'never.json');
  const run = cli(['autotune', float, '--data', data, '--budget', 'sqnr >= 25 and agreement > 100', '--out', recipeFile, '--limit', '16', '--holdout', '4', '--cost', 'bops']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Budget NOT met by any plan measured; the closest plan reached sqnr [\d.]+ dB, agreement 100\.000 %: agreement 100\.000 % \(needs > 100\)/);
  assert.match(run.stdout, /cost \(bit-ops\)/);
  assert.match(run.stdout, /Layers kept above int8: \d+ of 53 quantized ops/);
  assert.match(run.stdout, /Search time: [\d.]+ s/);
  const steps = run.stdout.split('\n').filter((l) => /^\d+\s+(baseline|ceiling|bisect|prune)\b/.test(l));
  assert.ok(steps.length > 1, run.stdout);
  assert.ok(fs.existsSync(recipeFile), 'the closest plan is still written');
});

test('a bad budget gets one clear message; cancelling leaves no temp folder and the event loop turns', async () => {
  await setup();
  const bad = cli(['autotune', float, '--data', data, '--budget', 'sqnr >> 3', '--out', path.join(tmp, 'x.json')]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.match(bad.stderr, /^quantlens: The budget "sqnr >> 3" does not parse: "> 3" in "sqnr >> 3" is not a number\./);
  assert.ok(!fs.existsSync(path.join(tmp, 'x.json')));

  const before = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('quantlens-autotune-')));
  const ac = new AbortController();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  let points = 0;
  await assert.rejects(autotune(float, {
    data, budget: 'sqnr >= 25', limit: 8, holdout: 2, sensitivityLimit: 2, signal: ac.signal,
    onPoint: () => { if (++points === 2) ac.abort(); },
  }), { name: 'AbortError' });
  clearInterval(timer);
  assert.equal(points, 2, 'no step after the cancel');
  assert.ok(ticks > 0, 'timers ran during the search');
  const after = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('quantlens-autotune-') && !before.has(n));
  assert.deepEqual(after, []);
});

test('the --help example runs as written on MNIST with labels; its held-out numbers match an independent count', async () => {
  const help = cli(['autotune', '--help']).stdout;
  const m = /\nExample:\n {2}quantlens (autotune .+)/.exec(help);
  assert.ok(m, 'autotune --help has an example');
  const argv = [...m[1].matchAll(/'([^']*)'|(\S+)/g)].map((x) => x[1] ?? x[2]);
  const scratch = fs.mkdtempSync(path.join(tmp, 'example-'));
  fs.symlinkSync(path.join(REPO_ROOT, 'samples'), path.join(scratch, 'samples'));
  const run = spawnSync(process.execPath, [CLI, ...argv, '--json'], { cwd: scratch, encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout) as { budget: string; holdout: { from: number; to: number }; heldOut: { values: { sqnr: number; agreement: number; 'accuracy-drop': number } } };
  assert.match(r.budget, /accuracy-drop/);
  const recipe = path.join(scratch, argv[argv.indexOf('--out') + 1]);
  assert.ok(fs.existsSync(recipe));
  const q = spawnSync(process.execPath, [CLI, 'quantize', 'samples/mnist-12.onnx', '--recipe', recipe, '--out', 'amp.onnx'], { cwd: scratch, encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);

  // the held-out images (64 used, the last 16 held out), float and the recipe's model, counted against the labels
  const { readIdx } = await import('../../src/core/data');
  const px = (await readIdx(path.join(REPO_ROOT, 'samples', 'mnist-200-images-idx3-ubyte.gz'))).data as Uint8Array;
  const labels = (await readIdx(path.join(REPO_ROOT, 'samples', 'mnist-200-labels-idx1-ubyte.gz'))).data as Uint8Array;
  assert.deepEqual(r.holdout, { from: 48, to: 64 });
  const ort = loadOrt();
  const f = await ort.InferenceSession.create(path.join(REPO_ROOT, 'samples', 'mnist-12.onnx'));
  const s = await ort.InferenceSession.create(path.join(scratch, 'amp.onnx'));
  let sig = 0;
  let noise = 0;
  let agree = 0;
  let fRight = 0;
  let qRight = 0;
  const top = (v: Float32Array): number => v.indexOf(Math.max(...v));
  for (let i = 48; i < 64; i++) {
    const feeds = { [f.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(px.subarray(i * 784, (i + 1) * 784)), [1, 1, 28, 28]) };
    const a = (await f.run(feeds))[f.outputNames[0]].data as Float32Array;
    const b = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
    for (let k = 0; k < a.length; k++) { sig += a[k] ** 2; noise += (a[k] - b[k]) ** 2; }
    if (top(a) === top(b)) agree++;
    if (top(a) === labels[i]) fRight++;
    if (top(b) === labels[i]) qRight++;
  }
  await f.release();
  await s.release();
  const v = r.heldOut.values;
  assert.ok(Math.abs(10 * Math.log10(sig / noise) - v.sqnr) < 1e-6, `SQNR ${10 * Math.log10(sig / noise)} against ${v.sqnr}`);
  assert.equal(v.agreement, (100 * agree) / 16);
  assert.equal(v['accuracy-drop'], (100 * (fRight - qRight)) / 16);
});
