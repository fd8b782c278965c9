/**
 * Extension activation time and the editor's time to first view, measured in a real VS Code
 * (code-server) by a benchmark suite running in its extension host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installUnpackedExtension, makeTempDir } from '../scripts/code-server';
import { buildIntegration, RUNNER_DIR, SUITE_ENTRY } from '../test/integration/build';
import { installExtensionUnderTest, prepareWorkspace, SAMPLE_MNIST, SHARED_MODELS, startSession, type Session } from '../test/integration/harness';
import type { RunnerConfig } from '../test/integration/runner/extension';
import type { SuiteReport } from '../test/integration/suite/index';

const MODELS: Record<string, string> = {
  'mnist-12.onnx': SAMPLE_MNIST,
  'mobilenetv2-12-int8.onnx': path.join(SHARED_MODELS, 'onnx', 'hwacc_design_garage', 'mobilenetv2-12-int8.onnx'),
  'mobilenet_v2_quantized.tflite': path.join(SHARED_MODELS, 'tflite', 'tflite-micro', 'pytorch_to_tflite', 'mobilenet_v2_quantized_1x3x224x224.tflite'),
};

export async function benchVsCode(): Promise<Record<string, number>> {
  await buildIntegration();
  // The models sit outside the workspace: a workspace with model files activates QuantLens at
  // startup (workspaceContains), and the benchmark must see the activation itself.
  const models = prepareWorkspace(MODELS);
  const workspace = prepareWorkspace({}, { 'README.txt': new TextEncoder().encode('QuantLens benchmark workspace\n') });
  const scratch = makeTempDir('ql-bench-');
  const results = path.join(scratch, 'report.json');
  const metrics = path.join(scratch, 'metrics.json');
  const config: RunnerConfig = { suite: SUITE_ENTRY, results, timeoutMs: 300_000, kind: 'bench' };
  let session: Session | undefined;
  try {
    session = await startSession({
      workspace,
      env: { QUANTLENS_BENCH_OUT: metrics, QUANTLENS_BENCH_MODELS: Object.keys(MODELS).join(','), QUANTLENS_BENCH_MODELS_DIR: models },
      install: (extensionsDir) => {
        installExtensionUnderTest(extensionsDir);
        installUnpackedExtension(extensionsDir, RUNNER_DIR, { copy: ['package.json', 'extension.js'], write: { 'runner-config.json': JSON.stringify(config) } });
      },
    });
    const deadline = Date.now() + 300_000;
    while (!fs.existsSync(results)) {
      if (Date.now() > deadline) throw new Error('the VS Code benchmark wrote no report within 5 minutes');
      await new Promise((r) => setTimeout(r, 250));
    }
    const report = JSON.parse(fs.readFileSync(results, 'utf8')) as SuiteReport;
    if (report.fatal || report.failed > 0 || report.passed === 0) {
      throw new Error(`the VS Code benchmark failed: ${report.fatal ?? report.tests.map((t) => t.error?.message).join('; ')}`);
    }
    return JSON.parse(fs.readFileSync(metrics, 'utf8')) as Record<string, number>;
  } finally {
    await session?.close();
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(models, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
