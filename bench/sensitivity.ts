/**
 * Per-layer sensitivity and per-layer error on the synthetic 50-layer CNN (bench/quantize.ts),
 * quantized static int8 on 16 seeded random samples:
 *  - the full sweep (every layer alone, every layer left out, the float and the all-quantized
 *    runs: 2 x 53 + 2 configurations on 8 samples) by the reuse method (the two whole models run
 *    once, each layer's configurations only below that layer), against the naive method (one
 *    model and one session per configuration), measured in the same run, two rounds each; the
 *    numbers are checked identical; and the caller's event loop during the sweep: its delay (perf_hooks) and how
 *    often a 20 ms timer fired;
 *  - `layerErrors` (every layer's activations as outputs of both models, statistics streamed)
 *    against the two models' own inference on the same 32 samples (sessions created and run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, inputSpecsFromModel, openCalibrationData } from '../src/core/data';
import { writeOnnxFile } from '../src/core/formats/onnx';
import { openModelFile } from '../src/core/open';
import { quantizeModel } from '../src/core/quant/quantize';
import { sampleFeeds } from '../src/core/quant/preprocess';
import { createSession } from '../src/core/runtime/ort';
import { mulberry32 } from '../src/core/random';
import { sensitivity } from '../src/core/eval/sensitivity';
import { layerErrors } from '../src/core/eval/layers';
import { loopDelayText, watchEventLoop } from '../src/core/eval/loopDelay';
import { syntheticCnn } from './quantize';

export async function benchSensitivity(): Promise<Record<string, number | string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantlens-bench-sens-'));
  try {
    const float = path.join(dir, 'cnn50.onnx');
    await writeOnnxFile(syntheticCnn(50), float);
    const rnd = mulberry32(9);
    const data = path.join(dir, 'data.npy');
    fs.writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [48, 3, 32, 32], data: new Float32Array(48 * 3072).map(() => rnd() * 2 - 1) }));
    const quantized = path.join(dir, 'cnn50-int8.onnx');
    await quantizeModel(float, quantized, { recipe: { version: 1, mode: 'static', calibration: { data, limit: 16 } } });

    const opts = { data, quantized, offset: 16, limit: 8 };
    // rounds in the order reuse, naive, naive, reuse, so a change in the machine's load falls on both alike
    const watch = watchEventLoop();
    const reuse = await sensitivity(float, { ...opts, method: 'reuse' });
    const loop = watch.stop();
    const naive = await sensitivity(float, { ...opts, method: 'naive' });
    const naiveMs = (naive.timing.measureMs + (await sensitivity(float, { ...opts, method: 'naive' })).timing.measureMs) / 2;
    const reuseMs = (reuse.timing.measureMs + (await sensitivity(float, { ...opts, method: 'reuse' })).timing.measureMs) / 2;
    const identical = reuse.layers.every((l, i) => l.onlyThis === naive.layers[i].onlyThis && l.allButThis === naive.layers[i].allButThis) && reuse.quantized === naive.quantized;

    // per-layer error against the models' own inference on the same samples
    const model = await openModelFile(float);
    const samples = [];
    for await (const s of await openCalibrationData(data, { inputs: inputSpecsFromModel(model), offset: 16, limit: 32 })) samples.push(s);
    const feeds = samples.map(sampleFeeds);
    const so = { extra: { session: { 'intra_op.allow_spinning': '0' } } };
    const t0 = performance.now();
    for (const p of [float, quantized]) {
      const s = await createSession(p, so);
      for (const f of feeds) await s.run(f);
      await s.release();
    }
    const inferenceMs = performance.now() - t0;
    const t1 = performance.now();
    const layers = await layerErrors(float, quantized, { data, offset: 16, limit: 32 });
    const layersMs = performance.now() - t1;

    return {
      'sweep configurations': 2 * reuse.layers.length + 2,
      'sweep samples': reuse.samples,
      'reuse sweep ms (mean of 2)': Math.round(reuseMs),
      'naive sweep ms (mean of 2)': Math.round(naiveMs),
      'naive / reuse (speed-up, bar 5)': naiveMs / reuseMs,
      'reuse sessions / runs': `${reuse.timing.sessions} / ${reuse.timing.runs}`,
      'naive sessions / runs': `${naive.timing.sessions} / ${naive.timing.runs}`,
      'numbers identical': identical ? 'yes' : 'NO',
      'most sensitive (reuse)': reuse.ranking[0],
      'reuse sweep: caller event loop': loopDelayText(loop),
      'reuse sweep: event loop max delay ms': loop.maxMs,
      'layers: samples': layers.samples,
      'layers: per-layer error ms': Math.round(layersMs),
      'layers: both models inference ms': Math.round(inferenceMs),
      'layers: overhead (x inference)': layersMs / inferenceMs,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchSensitivity().then((r) => { for (const [k, v] of Object.entries(r)) console.log(k.padEnd(50), typeof v === 'number' ? v.toFixed(2) : v); }, (e) => { console.error(e); process.exitCode = 1; });
}
