/**
 * The layout worker: holds the graph's structure and a LayoutEngine, and answers layout requests.
 * Requests that queue up while one runs are coalesced: only the newest is laid out.
 */
import { LayoutEngine } from './layout';
import type { FromLayoutWorker, ToLayoutWorker } from './layoutMessages';

let engine: LayoutEngine | undefined;
let pending: { seq: number; expanded: number[] } | undefined;
let scheduled = false;

function post(msg: FromLayoutWorker): void {
  (self as unknown as Worker).postMessage(msg);
}

function runPending(): void {
  scheduled = false;
  const req = pending;
  pending = undefined;
  if (!req || !engine) return;
  try {
    engine.setExpanded(req.expanded);
    post({ type: 'result', seq: req.seq, result: engine.run() });
  } catch (e) {
    post({ type: 'error', seq: req.seq, message: e instanceof Error ? e.message : String(e) });
  }
}

/** A tiny scoped graph laid out once at start-up, so dagre is compiled before the real request. */
function warmUp(): void {
  const n = 24;
  const groups = [{ parent: -1, groups: [1, 2], nodes: [] as number[], label: '', size: n }];
  groups.push({ parent: 0, groups: [], nodes: Array.from({ length: n / 2 }, (_, i) => i), label: 'a', size: n / 2 });
  groups.push({ parent: 0, groups: [], nodes: Array.from({ length: n / 2 }, (_, i) => i + n / 2), label: 'b', size: n / 2 });
  const edges: number[] = [];
  for (let i = 1; i < n; i++) edges.push(i - 1, i, Math.max(0, i - 3), i);
  const e = new LayoutEngine({ opTypes: Array.from({ length: n }, () => 'MatMul'), nodeGroup: Array.from({ length: n }, (_, i) => (i < n / 2 ? 1 : 2)), groups, edges });
  for (let r = 0; r < 3; r++) {
    e.setExpanded(r % 2 ? [0] : [0, 1, 2]);
    e.run();
  }
}

self.addEventListener('message', (ev: MessageEvent<ToLayoutWorker>) => {
  const msg = ev.data;
  if (msg.type === 'warmup') {
    if (!engine) warmUp();
  } else if (msg.type === 'init') {
    engine = new LayoutEngine(msg.input);
    pending = undefined;
  } else if (msg.type === 'layout') {
    pending = { seq: msg.seq, expanded: msg.expanded };
    if (!scheduled) {
      scheduled = true;
      // A macrotask lets newer queued requests replace this one before it runs.
      setTimeout(runPending, 0);
    }
  }
});
