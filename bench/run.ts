/**
 * Runs the benchmarks and writes bench/results.json with the machine and the date.
 *   npm run bench [-- <name> ...]   names: onnx-parse, graph-view, vscode, quantize, evaluate, sensitivity, autotune
 * Absolute times on a noisy 2-core machine vary; ratios against a baseline measured in the same
 * process are the numbers to compare across runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

type Bench = () => Promise<Record<string, number | string>>;

const BENCHES: Record<string, () => Promise<Bench>> = {
  'onnx-parse': async () => (await import('./onnx-parse')).benchOnnxParse,
  'graph-view': async () => (await import('./graph-view')).benchGraphView,
  vscode: async () => (await import('./vscode')).benchVsCode,
  quantize: async () => (await import('./quantize')).benchQuantize,
  evaluate: async () => (await import('./evaluate')).benchEvaluate,
  sensitivity: async () => (await import('./sensitivity')).benchSensitivity,
  autotune: async () => (await import('./autotune')).benchAutotune,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(BENCHES);
  const resultsFile = path.join(__dirname, 'results.json');
  const previous = fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { results?: Record<string, unknown> }) : {};
  const results: Record<string, unknown> = { ...(previous.results ?? {}) };
  let failed = false;
  for (const name of names) {
    const load = BENCHES[name];
    if (!load) throw new Error(`unknown benchmark '${name}' (one of ${Object.keys(BENCHES).join(', ')})`);
    console.log(`\n== ${name}`);
    const t0 = Date.now();
    try {
      const r = await (await load())();
      results[name] = { ...r, measuredAt: new Date().toISOString() };
      for (const [k, v] of Object.entries(r)) console.log(`  ${k.padEnd(40)} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(3)) : v}`);
    } catch (e) {
      failed = true;
      console.error(`  FAILED: ${(e as Error).stack ?? e}`);
      results[name] = { error: String((e as Error).message ?? e), measuredAt: new Date().toISOString() };
    }
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const cpus = os.cpus();
  const out = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
    },
    results,
  };
  fs.writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), resultsFile)}`);
  if (failed) process.exitCode = 1;
}

void main();
