/**
 * MNIST acceptance: `evaluate` of mnist-12.onnx against onnxruntime's int8 model on test images
 * 200..9999 with labels, raw 0..255 input. Checked against an independent count: the test reads
 * the IDX files itself, runs both models in its own onnxruntime sessions and counts correct
 * argmaxes, agreements and the discordant pairs the paired interval rests on. The caller's event
 * loop keeps turning meanwhile (a timer's ticks and the loop's delay are measured), and the
 * bootstrap drawn in a worker beside the runs gives the intervals drawn in the caller's thread.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { readIdx } from '../../src/core/data';
import { evaluateModels } from '../../src/core/eval';
import { loopDelayText, watchEventLoop } from '../../src/core/eval/loopDelay';
import { loadOrt } from '../../src/core/runtime/ort';
import { sharedModel } from '../helpers/paths';

const FLOAT = sharedModel('onnx', 'mnist', 'mnist-12.onnx');
const INT8 = sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx');
const IMAGES = sharedModel('data', 'mnist', 't10k-images-idx3-ubyte.gz');
const LABELS = sharedModel('data', 'mnist', 't10k-labels-idx1-ubyte.gz');
const FROM = 200;
const N = 9800;

/** Each image's argmax, run one at a time in a plain session. */
async function predictions(model: string, pixels: Uint8Array): Promise<Int32Array> {
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(model);
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const x = Float32Array.from(pixels.subarray((FROM + i) * 784, (FROM + i + 1) * 784));
    const y = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) }))[s.outputNames[0]].data as Float32Array;
    let best = 0;
    for (let k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
    out[i] = best;
  }
  await s.release();
  return out;
}

test('MNIST float vs onnxruntime int8 on 200..9999: 98.898 % and 98.908 %, agreement and the delta interval match an independent count', async () => {
  const watch = watchEventLoop(10);
  const report = await evaluateModels(FLOAT, INT8, { data: IMAGES, labels: LABELS, offset: FROM, limit: N });
  const loop = watch.stop();
  console.log(`caller's event loop during the evaluation (${loop.durationMs.toFixed(0)} ms): ${loopDelayText(loop)}`);
  assert.ok(loop.periods >= 50, `${loop.periods} periods`);
  assert.ok(loop.ticks >= loop.periods / 4, `${loop.ticks} ticks in ${loop.periods} periods`);
  assert.ok(loop.maxMs < 1500, `longest stall ${loop.maxMs} ms`);
  const [f, q] = report.models;
  console.log(`MNIST 200..9999: float ${(100 * f.classification!.top1).toFixed(3)} %, int8 ${(100 * q.classification!.top1).toFixed(3)} %, ` +
    `delta ${JSON.stringify(report.deltas![0])}, latency p50 ${f.latency.p50Ms.toFixed(3)} / ${q.latency.p50Ms.toFixed(3)} ms, memory ${f.memory.bytes} / ${q.memory.bytes} B`);
  assert.equal(report.samples, N);
  assert.equal(report.task, 'classification');
  assert.ok(Math.abs(100 * f.classification!.top1 - 98.898) <= 0.05, `float ${f.classification!.top1}`);
  assert.ok(Math.abs(100 * q.classification!.top1 - 98.908) <= 0.05, `int8 ${q.classification!.top1}`);

  const pixels = (await readIdx(IMAGES)).data as Uint8Array;
  const labels = (await readIdx(LABELS)).data as Uint8Array;
  const pf = await predictions(FLOAT, pixels);
  const pq = await predictions(INT8, pixels);
  let cf = 0, cq = 0, same = 0, fOnly = 0, qOnly = 0;
  for (let i = 0; i < N; i++) {
    const l = labels[FROM + i];
    const a = pf[i] === l;
    const b = pq[i] === l;
    cf += +a; cq += +b; same += +(pf[i] === pq[i]);
    if (a && !b) fOnly++;
    if (b && !a) qOnly++;
  }
  assert.equal(f.classification!.top1, cf / N);
  assert.equal(q.classification!.top1, cq / N);
  assert.equal(report.comparison!.top1Agreement, same / N);
  const d = report.deltas!.find((x) => x.metric === 'top1')!;
  assert.ok(Math.abs(d.delta - (fOnly - qOnly) / N) < 1e-12);
  // the paired interval against the normal approximation of the mean of per-sample differences
  // (+1 float only, -1 int8 only): they may differ by about one discrete step (1 / N)
  const mean = (fOnly - qOnly) / N;
  const sd = Math.sqrt(((fOnly + qOnly) / N - mean * mean) / N);
  assert.ok(fOnly + qOnly > 0, 'the two models disagree on some labels');
  assert.ok(d.ci.low <= mean && mean <= d.ci.high, JSON.stringify(d.ci));
  assert.ok(Math.abs(d.ci.low - (mean - 1.96 * sd)) <= 1.5 / N, `low ${d.ci.low} vs ${mean - 1.96 * sd}`);
  assert.ok(Math.abs(d.ci.high - (mean + 1.96 * sd)) <= 1.5 / N, `high ${d.ci.high} vs ${mean + 1.96 * sd}`);
  // run-time figures are reported (their values are the bench's business)
  for (const m of report.models) {
    assert.equal(m.latency.runs, N);
    assert.ok(m.latency.p50Ms > 0 && m.latency.p95Ms >= m.latency.p50Ms);
    assert.ok(m.throughput.samplesPerSecond > 0);
    assert.ok(m.memory.bytes >= 0);
  }
  assert.deepEqual(report.models.map((m) => m.sizeBytes), [26143, 11002]);

  // the bootstrap drawn in a worker while the models run gives the same intervals as drawn here
  const other = await evaluateModels(FLOAT, INT8, { data: IMAGES, labels: LABELS, offset: FROM, limit: N, bootstrapWorker: !(os.availableParallelism() >= 4) });
  assert.deepEqual(other.deltas, report.deltas);
  assert.deepEqual(other.comparison!.top1AgreementCi, report.comparison!.top1AgreementCi);
});
