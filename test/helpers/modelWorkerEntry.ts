/** The model worker as shipped (dist/modelWorker.js), built first when missing. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

export const MODEL_WORKER_ENTRY = path.join(REPO_ROOT, 'dist', 'modelWorker.js');

export function ensureModelWorkerBuilt(): void {
  if (fs.existsSync(MODEL_WORKER_ENTRY)) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}
