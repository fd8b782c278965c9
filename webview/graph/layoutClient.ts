/**
 * Runs layouts in a Web Worker started from a blob: URL (VS Code webviews cannot start workers
 * from their resource URLs; the CSP allows `worker-src blob:`). If no worker can start, the same
 * engine runs on the main thread so the view still works. Only the newest request's result is
 * delivered; older ones are dropped.
 */
import workerSource from './layoutWorker?worker-source';
import { LayoutEngine, type LayoutInput, type LayoutResult } from './layout';
import type { FromLayoutWorker, ToLayoutWorker } from './layoutMessages';
import { PendingRequests } from '../../src/shared/requests';

/** A worker started (and warmed up) before any graph arrives, taken by the next LayoutClient. */
let spare: { worker: Worker; url: string } | undefined;

function startWorker(): { worker: Worker; url: string } {
  const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  try {
    return { worker: new Worker(url), url };
  } catch (e) {
    URL.revokeObjectURL(url);
    throw e;
  }
}

/**
 * Starts the layout worker ahead of time (at webview start-up, while the host is still reading the
 * model), so parsing and compiling the layout code is off the critical path to the first view.
 */
export function prewarmLayoutWorker(): void {
  if (spare) return;
  try {
    spare = startWorker();
    spare.worker.postMessage({ type: 'warmup' } satisfies ToLayoutWorker);
  } catch {
    spare = undefined; // LayoutClient will report the failure and fall back.
  }
}

/** A layout running longer than this is cancelled when a newer request arrives. */
const CANCEL_AFTER_MS = 150;

export class LayoutClient {
  private worker: Worker | undefined;
  private url: string | undefined;
  private engine: LayoutEngine | undefined;
  /** Counts layout() calls: only the newest one's result is delivered. */
  private calls = 0;
  /** Layouts sent to the worker, by the `seq` they carry. */
  private readonly waiting = new PendingRequests();
  /** 'worker' or 'main-thread' (the fallback), for diagnostics and tests. */
  mode: 'worker' | 'main-thread' = 'worker';

  constructor(private readonly input: LayoutInput, private readonly onFallback?: (why: string) => void) {
    try {
      const w = spare ?? startWorker();
      spare = undefined;
      this.url = w.url;
      this.attach(w);
    } catch (e) {
      this.fallBack(`layout worker could not start: ${e instanceof Error ? e.message : String(e)}`, onFallback);
    }
  }

  private post(msg: ToLayoutWorker): void {
    this.worker?.postMessage(msg);
  }

  private fallBack(why: string, onFallback?: (why: string) => void): void {
    this.disposeWorker();
    this.mode = 'main-thread';
    this.engine ??= new LayoutEngine(this.input);
    onFallback?.(why);
    // Anything in flight is re-run on the main thread (newest only).
    const older = this.waiting.ids();
    const newest = older.pop();
    for (const seq of older) this.waiting.resolve(seq, undefined);
    if (newest === undefined) return;
    if (!this.lastExpanded) this.waiting.resolve(newest, undefined);
    else void this.layout(this.lastExpanded).then((r) => this.waiting.resolve(newest, r), (e: Error) => this.waiting.reject(newest, e));
  }

  private lastExpanded: number[] | undefined;
  /** The oldest request the worker has not answered, and since when. */
  private inflight: { seq: number; since: number } | undefined;
  /** How many times a layout was cancelled by restarting the worker (diagnostics, tests). */
  restarts = 0;

  private onResult(msg: FromLayoutWorker): void {
    // The worker answers the newest request it had; anything still waiting was queued after it.
    const next = this.waiting.ids().filter((s) => s > msg.seq);
    this.inflight = next.length ? { seq: Math.min(...next), since: performance.now() } : undefined;
    // Requests older than this one were coalesced away by the worker: they resolve to nothing.
    for (const seq of this.waiting.ids()) if (seq < msg.seq) this.waiting.resolve(seq, undefined);
    if (msg.type === 'result') this.waiting.resolve(msg.seq, msg.result);
    else this.waiting.reject(msg.seq, new Error(msg.message));
  }

  /**
   * Lays out the graph with `expanded` groups open. Resolves to undefined when a newer request
   * replaced this one before it finished.
   */
  layout(expanded: number[]): Promise<LayoutResult | undefined> {
    const call = ++this.calls;
    this.lastExpanded = expanded;
    if (!this.worker) {
      const engine = (this.engine ??= new LayoutEngine(this.input));
      return new Promise((resolve, reject) => setTimeout(() => {
        if (call !== this.calls) return resolve(undefined);
        try {
          engine.setExpanded(expanded);
          resolve(engine.run());
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }, 0));
    }
    // A long layout still running (say, every group of a big graph opened at once) is cancelled
    // by restarting the worker: a worker cannot be interrupted mid-computation. The cost is the
    // worker's layout cache, so short layouts are left to finish and be coalesced instead.
    if (this.inflight && performance.now() - this.inflight.since > CANCEL_AFTER_MS) this.cancel();
    return this.waiting.start<LayoutResult | undefined>((seq) => {
      this.inflight ??= { seq, since: performance.now() };
      this.post({ type: 'layout', seq, expanded });
    });
  }

  /** Abandons any layout in flight (they resolve to undefined) and restarts the worker. */
  cancel(): void {
    if (!this.worker) return;
    this.disposeWorker();
    this.waiting.resolveAll(undefined);
    this.inflight = undefined;
    this.restarts++;
    try {
      this.attach(startWorker());
    } catch (e) {
      this.fallBack(`layout worker could not restart: ${e instanceof Error ? e.message : String(e)}`, this.onFallback);
    }
  }

  private attach(w: { worker: Worker; url: string }): void {
    this.worker = w.worker;
    this.url = w.url;
    this.worker.onmessage = (ev: MessageEvent<FromLayoutWorker>) => this.onResult(ev.data);
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.fallBack(`layout worker failed: ${ev.message}`, this.onFallback);
    };
    this.post({ type: 'init', input: this.input });
  }

  private disposeWorker(): void {
    this.worker?.terminate();
    this.worker = undefined;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = undefined;
  }

  dispose(): void {
    this.disposeWorker();
    this.waiting.resolveAll(undefined);
  }
}
