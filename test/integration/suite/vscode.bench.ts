/**
 * Benchmark, not a test: run by `npm run bench` (bench/vscode.ts) inside code-server's extension host.
 * Measures the extension's activation time and the editor's time to first view, and writes them to
 * the file named by QUANTLENS_BENCH_OUT.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { getExtension, sleep, VIEW_TYPE, waitFor } from './helpers';

const MODELS = (process.env.QUANTLENS_BENCH_MODELS ?? 'mnist-12.onnx').split(',');
const WARM_RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

suite('bench: VS Code', () => {
  test('activation and time to first view', async function () {
    this.timeout(300_000);
    const out: Record<string, number> = {};
    const ext = getExtension();
    if (ext.isActive) throw new Error('QuantLens was already active; activation cannot be measured');
    const t0 = performance.now();
    const api = await ext.activate();
    out.activationMs = performance.now() - t0;

    for (const name of MODELS) {
      const uri = vscode.Uri.file(`${process.env.QUANTLENS_BENCH_MODELS_DIR}/${name}`);
      const times: number[] = [];
      for (let run = 0; run <= WARM_RUNS; run++) {
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        await sleep(300);
        const start = performance.now();
        await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);
        await waitFor(`first view of ${name}`, () => api.openDocuments().find((d) => d.uri === uri.toString() && d.firstViewMs !== undefined), 60_000);
        times.push(performance.now() - start);
      }
      out[`firstView.${name}.coldMs`] = times[0];
      out[`firstView.${name}.warmMedianMs`] = median(times.slice(1));
    }
    fs.writeFileSync(process.env.QUANTLENS_BENCH_OUT ?? '/dev/null', JSON.stringify(out));
  });
});
