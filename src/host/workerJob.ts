/**
 * One long job in its own worker thread (quantization, analysis): start message in, messages out
 * until one settles the job, Cancel forwarded as a `cancel` message, the thread ended when the job
 * settles. A thread that dies or exits early rejects with what happened.
 */
import { Worker } from 'node:worker_threads';
import type * as vscode from 'vscode';

/** What a message from the job means: nothing yet, the result, or a failure. */
export type JobOutcome<R> = undefined | { done: R } | { failed: string; cancelled: boolean };

export function runWorkerJob<M, R>(
  file: string, start: unknown, token: vscode.CancellationToken, onMessage: (m: M) => JobOutcome<R>, what: string,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(file);
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate();
    };
    const cancelSub = token.onCancellationRequested(() => worker.postMessage({ type: 'cancel' }));
    worker.on('message', (m: M) => {
      const o = onMessage(m);
      if (!o) return;
      if ('done' in o) finish(() => resolve(o.done));
      else finish(() => reject(Object.assign(new Error(o.failed), { cancelled: o.cancelled })));
    });
    worker.on('error', (e) => finish(() => reject(new Error(`The ${what} stopped: ${e.message}`))));
    worker.on('exit', (code) => finish(() => reject(new Error(`The ${what} exited (code ${code}) before it finished.`))));
    worker.once('exit', () => cancelSub.dispose());
    worker.postMessage(start);
  });
}
