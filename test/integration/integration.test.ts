/**
 * Runs the mocha integration suite (test/integration/suite) inside code-server's real extension host,
 * through the test-runner extension, and reports one node:test test per mocha test.
 *   node --import tsx --test test/integration/integration.test.ts
 * Failure artifacts (screenshot, code-server log, the raw report) go to test-results/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { installUnpackedExtension, makeTempDir, TEST_RESULTS_DIR } from '../../scripts/code-server';
import { buildIntegration, RUNNER_DIR, SUITE_ENTRY } from './build';
import {
  installExtensionUnderTest,
  prepareWorkspace,
  saveFailureArtifacts,
  SAMPLE_MNIST,
  SHARED_MODELS,
  SHARED_TFLITE,
  startSession,
  type Session,
} from './harness';
import type { RunnerConfig } from './runner/extension';
import { answerWorkbenchQuestions } from './workbench';
import type { SuiteReport } from './suite/index';

/** From code-server start to the report: the suite runs models (quantize, sensitivity, evaluation, autotune), about 4-6 minutes here. */
const SUITE_TIMEOUT_MS = Number(process.env.QUANTLENS_INTEGRATION_TIMEOUT_MS ?? 900_000);

async function runInCodeServer(): Promise<SuiteReport> {
  await buildIntegration();
  const workspace = prepareWorkspace({
    'mnist-12.onnx': SAMPLE_MNIST,
    'hello_world_float.tflite': SHARED_TFLITE,
    'mnist-12-int8.onnx': path.join(SHARED_MODELS, 'onnx', 'mnist', 'mnist-12-int8.onnx'),
    't10k-images-idx3-ubyte.gz': path.join(SHARED_MODELS, 'data', 'mnist', 't10k-images-idx3-ubyte.gz'),
    't10k-labels-idx1-ubyte.gz': path.join(SHARED_MODELS, 'data', 'mnist', 't10k-labels-idx1-ubyte.gz'),
  });
  const resultsDir = makeTempDir('ql-results-');
  const results = path.join(resultsDir, 'results.json');
  const probeDir = path.join(resultsDir, 'probe');
  fs.mkdirSync(probeDir);
  const config: RunnerConfig = { suite: SUITE_ENTRY, results, timeoutMs: 60_000, probeDir, grep: process.env.QUANTLENS_INTEGRATION_GREP };
  let session: Session | undefined;
  try {
    session = await startSession({
      workspace,
      install: (extensionsDir) => {
        installExtensionUnderTest(extensionsDir);
        installUnpackedExtension(extensionsDir, RUNNER_DIR, {
          copy: ['package.json', 'extension.js'],
          write: { 'runner-config.json': JSON.stringify(config) },
        });
      },
    });
    const server = session.server;
    const deadline = Date.now() + SUITE_TIMEOUT_MS;
    let exited: number | null | undefined;
    void server.exited.then((code) => (exited = code));
    while (!fs.existsSync(results)) {
      if (exited !== undefined) {
        throw new Error(`code-server exited (${exited}) before the suite reported:\n${server.output()}`);
      }
      if (Date.now() > deadline) {
        const shot = await saveFailureArtifacts(session, 'integration-timeout');
        throw new Error(
          `the integration suite wrote no results within ${SUITE_TIMEOUT_MS} ms ` +
            `(did the test-runner extension activate?). Screenshot: ${shot ?? 'none'}; ` +
            `code-server log in ${TEST_RESULTS_DIR}.\n${server.output().slice(-4000)}`,
        );
      }
      await answerWorkbenchQuestions(session.page, probeDir);
      await new Promise((r) => setTimeout(r, 100));
    }
    const report = JSON.parse(fs.readFileSync(results, 'utf8')) as SuiteReport;
    fs.mkdirSync(TEST_RESULTS_DIR, { recursive: true });
    fs.copyFileSync(results, path.join(TEST_RESULTS_DIR, 'integration-results.json'));
    if (report.failed > 0) await saveFailureArtifacts(session, 'integration-failed');
    return report;
  } finally {
    await session?.close();
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
}

describe('integration suite in code-server\'s extension host', async () => {
  const started = Date.now();
  const report = await runInCodeServer();
  const host = `VS Code ${report.host.vscodeVersion ?? '?'} on Node ${report.host.node}`;
  console.log(`integration: ${host}; suite ${report.durationMs} ms, total ${Date.now() - started} ms`);
  if (report.fatal) throw new Error(`the suite could not run in the extension host:\n${report.fatal}`);
  if (report.tests.length === 0) throw new Error('the suite reported no tests');

  for (const t of report.tests) {
    it(t.fullTitle, { skip: t.state === 'pending' ? 'pending in mocha' : false }, () => {
      if (t.state === 'failed') {
        const err = new Error(t.error?.message ?? 'failed');
        if (t.error?.stack) err.stack = t.error.stack;
        throw err;
      }
    });
  }
  // A failed hook ends a mocha suite early: then some planned tests never reported.
  const reported = report.tests.filter((t) => !t.title.includes('hook')).length;
  if (reported < report.planned) {
    it('every planned mocha test ran', () => {
      throw new Error(`only ${reported} of ${report.planned} planned tests reported a result`);
    });
  }
});
