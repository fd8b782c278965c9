/** Requests to the host: `{type:'request', id, method, params}` answered by one `{type:'response', id, ok|err}`. */
import type { HostRequests, ResponseMessage, WebviewToHost } from '../../src/protocol';
import { RequestClient } from '../../src/shared/requests';

export type RequestFn = <M extends keyof HostRequests>(method: M, params: HostRequests[M]['params']) => Promise<HostRequests[M]['result']>;

export class Rpc {
  private readonly client: RequestClient<HostRequests>;

  constructor(post: (m: WebviewToHost) => void) {
    this.client = new RequestClient<HostRequests>((req) => post({ type: 'request', ...req } as WebviewToHost), (err) => new Error(err));
  }

  readonly request: RequestFn = (method, params) => this.client.call(method, params);

  /** Settles the request a response answers; unknown ids (stale, duplicated) are ignored. */
  handle(msg: ResponseMessage): void {
    this.client.handle(msg);
  }
}
