/**
 * Questions the suite, running inside the extension host, asks the harness that drives the
 * workbench (Playwright on code-server, test/integration/integration.test.ts) about what the user
 * sees: the rows of the open quick input, an explorer item's context menu, the notifications.
 * The extension API cannot read menus or notification severity, so these go through the page.
 * Each question is a file `q-<n>.json` in the probe folder; the answer comes back as `a-<n>.json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PROBE_ENV = 'QUANTLENS_WORKBENCH_PROBE';

export type WorkbenchQuestion =
  /** The labels of the rows the open quick input (command palette) lists, once they stop changing. */
  | { kind: 'quickInputRows' }
  /** Right-clicks `file` in the explorer and returns the context menu's entries (then closes it). */
  | { kind: 'explorerMenu'; file: string }
  /** The notifications on screen and in the notification centre. */
  | { kind: 'notifications' };

export interface NotificationSeen {
  severity: 'info' | 'warning' | 'error' | 'unknown';
  message: string;
}

export type WorkbenchAnswer = { ok: string[] | NotificationSeen[] } | { err: string };

let next = 0;

export async function askWorkbench(q: { kind: 'notifications' }): Promise<NotificationSeen[]>;
export async function askWorkbench(q: WorkbenchQuestion): Promise<string[]>;
export async function askWorkbench(q: WorkbenchQuestion): Promise<string[] | NotificationSeen[]> {
  const dir = process.env[PROBE_ENV];
  if (!dir) throw new Error(`${PROBE_ENV} is not set: workbench questions need the harness that drives code-server`);
  const n = next++;
  const question = path.join(dir, `q-${n}.json`);
  const answer = path.join(dir, `a-${n}.json`);
  fs.writeFileSync(`${question}.tmp`, JSON.stringify(q));
  fs.renameSync(`${question}.tmp`, question);
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(answer)) {
    if (Date.now() > deadline) throw new Error(`the harness did not answer ${JSON.stringify(q)} within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const a = JSON.parse(fs.readFileSync(answer, 'utf8')) as WorkbenchAnswer;
  if ('err' in a) throw new Error(`the harness could not answer ${JSON.stringify(q)}: ${a.err}`);
  return a.ok;
}
