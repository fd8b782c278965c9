/**
 * Evaluation overhead: `evaluateModels` on MNIST float vs onnxruntime int8 (test images 200..9999
 * with labels: reading the data, both sessions with warm-up and memory marks, interleaved runs,
 * metrics and 2,000-resample intervals) against the two models' own inference: the same
 * sessions' creation and one run per sample each, interleaved, on samples already in memory.
 * Rounds alternate the two; the bar (<= 1.3x) is read on the median of the per-round ratios.
 * The caller's event loop during each evaluation: its delay (perf_hooks) and a 20 ms timer's ticks.
 */
import * as path from 'node:path';
import { inputSpecsFromModel, openCalibrationData } from '../src/core/data';
import { evaluateModels } from '../src/core/eval';
import { loopDelayText, watchEventLoop, type LoopDelay } from '../src/core/eval/loopDelay';
import { openModelFile } from '../src/core/open';
import { createSession, loadOrt, type OrtTensor } from '../src/core/runtime/ort';

const SHARED = process.env.QUANTLENS_SHARED_MODELS ?? path.resolve(__dirname, '..', '..', 'shared', 'models');
const FLOAT = path.join(SHARED, 'onnx', 'mnist', 'mnist-12.onnx');
const INT8 = path.join(SHARED, 'onnx', 'mnist', 'mnist-12-int8.onnx');
const IMAGES = path.join(SHARED, 'data', 'mnist', 't10k-images-idx3-ubyte.gz');
const LABELS = path.join(SHARED, 'data', 'mnist', 't10k-labels-idx1-ubyte.gz');

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

export async function benchEvaluate(): Promise<Record<string, number | string>> {
  const ort = loadOrt();
  const model = await openModelFile(FLOAT);
  const data = await openCalibrationData(IMAGES, { inputs: inputSpecsFromModel(model), offset: 200, limit: 9800 });
  const feeds: Record<string, OrtTensor>[] = [];
  for await (const s of data) feeds.push(Object.fromEntries(Object.entries(s).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, t.shape)])));
  const options = { extra: { session: { 'intra_op.allow_spinning': '0' } } };
  // CPU time of the process (every thread) beside wall time: less swayed by other processes' load
  const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
  const cpu = { inference: [] as number[], evaluation: [] as number[] };
  const inference = async (): Promise<number> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const sessions = [await createSession(FLOAT, options), await createSession(INT8, options)];
    for (let i = 0; i < feeds.length; i++) for (const s of i % 2 ? [sessions[1], sessions[0]] : sessions) await s.run(feeds[i]);
    const ms = performance.now() - t0;
    cpu.inference.push(cpuMs(process.cpuUsage(c0)));
    for (const s of sessions) await s.release();
    return ms;
  };
  const loops: LoopDelay[] = [];
  const evaluation = async (): Promise<{ ms: number; inferenceMs: number }> => {
    const watch = watchEventLoop();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await evaluateModels(FLOAT, INT8, { data: IMAGES, labels: LABELS, offset: 200, limit: 9800 });
    const ms = performance.now() - t0;
    cpu.evaluation.push(cpuMs(process.cpuUsage(c0)));
    loops.push(watch.stop());
    return { ms, inferenceMs: r.timing.inferenceMs };
  };
  await inference();
  await evaluation();
  const ratios: number[] = [];
  const base: number[] = [];
  const evals: number[] = [];
  const runs: number[] = [];
  for (let round = 0; round < 7; round++) {
    let b: number;
    let e: { ms: number; inferenceMs: number };
    if (round % 2) { b = await inference(); e = await evaluation(); } else { e = await evaluation(); b = await inference(); }
    base.push(b);
    evals.push(e.ms);
    runs.push(e.inferenceMs);
    ratios.push(e.ms / b);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  return {
    'MNIST 9800 x2: evaluate ms (median)': median(evals),
    'MNIST 9800 x2: inference alone ms (median)': median(base),
    'MNIST 9800 x2: evaluate / inference (median ratio, bar 1.3)': median(ratios),
    'MNIST 9800 x2: ratio quartiles': `${sorted[1].toFixed(3)} .. ${sorted[5].toFixed(3)} (2nd and 6th of 7)`,
    'MNIST 9800 x2: session.run time inside evaluate ms (median)': median(runs),
    'MNIST 9800 x2: CPU time (all threads) evaluate / inference (medians)': median(cpu.evaluation.slice(1)) / median(cpu.inference.slice(1)),
    'MNIST 9800 x2: caller event loop (the round with the longest stall)': loopDelayText(loops.reduce((a, b) => (b.maxMs > a.maxMs ? b : a))),
    'MNIST 9800 x2: event loop max delay ms (median over rounds)': median(loops.map((l) => l.maxMs)),
  };
}

if (require.main === module) {
  benchEvaluate().then((r) => { for (const [k, v] of Object.entries(r)) console.log(k.padEnd(70), typeof v === 'number' ? v.toFixed(3) : v); }, (e) => { console.error(e); process.exitCode = 1; });
}
