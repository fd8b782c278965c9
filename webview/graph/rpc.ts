/** Requests to the host: `{type:'request', id, method, params}` answered by one `{type:'response', id, ok|err}`. */
import type { HostRequests, ResponseMessage, WebviewToHost } from '../../src/protocol';

export type RequestFn = <M extends keyof HostRequests>(method: M, params: HostRequests[M]['params']) => Promise<HostRequests[M]['result']>;

export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly post: (m: WebviewToHost) => void) {}

  readonly request: RequestFn = (method, params) =>
    new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ type: 'request', id, method, params } as WebviewToHost);
    });

  /** Settles the request a response answers; unknown ids (stale, duplicated) are ignored. */
  handle(msg: ResponseMessage): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (typeof msg.err === 'string') p.reject(new Error(msg.err));
    else p.resolve(msg.ok);
  }
}
