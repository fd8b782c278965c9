/**
 * Request/response bookkeeping for every channel that sends a request with an id and waits for one
 * answer: the webview's requests to the host, the host's model worker, the webview's layout worker,
 * the quantization worker pool. It allocates ids, keeps the pending map, settles each request once,
 * times out or cancels one, and rejects everything still waiting when the other side goes away.
 *
 * Environment-neutral (no Node, DOM or vscode imports): src/core, src/host and the webview all
 * import it. The transport (postMessage, a job queue) stays with each channel.
 */

/** A channel's methods: name -> parameter and result types. */
export type MethodTable<Ms> = { [M in keyof Ms]: { params: unknown; result: unknown } };

/** A request on the wire. */
export interface Request<Ms extends MethodTable<Ms>, M extends keyof Ms = keyof Ms> {
  id: number;
  method: M;
  params: Ms[M]['params'];
}

/** An answer on the wire: the result of request `id`, or an error of type E. */
export type Reply<R, E = string> = { id: number; ok: R; err?: undefined } | { id: number; err: E; ok?: undefined };

/** The result type of any method of a channel (what a reply may carry). */
export type AnyResult<Ms extends MethodTable<Ms>> = Ms[keyof Ms]['result'];

/** A request given up by the caller (AbortSignal) or the channel (cancel). */
export class AbortError extends Error {
  constructor(message = 'The operation was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

/** A request that got no answer in time. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export interface StartOptions {
  /** Reject with a TimeoutError when no answer came within this many milliseconds. */
  timeoutMs?: number;
  /** Reject with an AbortError when this fires (and do not send at all if it already has). */
  signal?: AbortSignal;
  /** Called when the request ends without an answer (timeout, abort), so the channel can drop or stop its work. */
  onAbandon?: (id: number, reason: Error) => void;
}

interface Entry {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** Undoes the timer and the abort listener. */
  cleanup: () => void;
}

/** The pending requests of one channel. Ids start at 1 and only grow, so a larger id is a newer request. */
export class PendingRequests {
  private nextId = 1;
  private readonly entries = new Map<number, Entry>();
  private closedWith: Error | undefined;

  /** How many requests wait for an answer. */
  get size(): number {
    return this.entries.size;
  }

  /** The ids waiting for an answer, oldest first. */
  ids(): number[] {
    return [...this.entries.keys()];
  }

  /** The error every request has been refused with since close(), if closed. */
  get closed(): Error | undefined {
    return this.closedWith;
  }

  /**
   * Allocates an id, records the request and calls `send(id)` to put it on the wire. The promise
   * settles once: with the answer, an error, a timeout, an abort, or the channel's close. A throw
   * from `send` rejects it.
   */
  start<R>(send: (id: number) => void, options: StartOptions = {}): Promise<R> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal, timeoutMs, onAbandon } = options;
    if (signal?.aborted) return Promise.reject(new AbortError());
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const abandon = (reason: Error): void => {
        if (this.reject(id, reason)) onAbandon?.(id, reason);
      };
      const onAbort = (): void => abandon(new AbortError());
      const entry: Entry = {
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.entries.set(id, entry);
      if (timeoutMs !== undefined) timer = setTimeout(() => abandon(new TimeoutError(`No answer within ${timeoutMs} ms.`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        send(id);
      } catch (e) {
        this.reject(id, e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Settles request `id` with `value`; false when it is not waiting (stale, duplicated, unknown). */
  resolve(id: number, value: unknown): boolean {
    const e = this.take(id);
    e?.resolve(value);
    return e !== undefined;
  }

  /** Fails request `id`; false when it is not waiting. */
  reject(id: number, error: Error): boolean {
    const e = this.take(id);
    e?.reject(error);
    return e !== undefined;
  }

  /**
   * Settles request `reply.id` from a reply, turning its error into an Error with `toError`. The
   * result's type is the one its request was started with: a reply is matched by id, not by type.
   */
  settle<E>(reply: { id: number; ok?: unknown; err?: E }, toError: (err: E) => Error): boolean {
    return reply.err !== undefined ? this.reject(reply.id, toError(reply.err)) : this.resolve(reply.id, reply.ok);
  }

  /** Settles every waiting request with `value` (for channels where an abandoned request means "no result"). */
  resolveAll(value: unknown): void {
    for (const id of this.ids()) this.resolve(id, value);
  }

  /** Fails every waiting request (the other side restarted or went away); new requests still go out. */
  rejectAll(error: Error): void {
    for (const id of this.ids()) this.reject(id, error);
  }

  /** Fails every waiting request and refuses new ones. The first close's error is the one that stays. */
  close(error: Error): void {
    this.closedWith ??= error;
    this.rejectAll(this.closedWith);
  }

  private take(id: number): Entry | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    e.cleanup();
    return e;
  }
}

/**
 * Typed calls over a PendingRequests: `call('open', params)` resolves to that method's result type,
 * and `handle(reply)` settles the request a reply answers.
 */
export class RequestClient<Ms extends MethodTable<Ms>, E = string> {
  readonly pending = new PendingRequests();

  constructor(
    private readonly post: (request: Request<Ms>) => void,
    private readonly toError: (err: E) => Error,
  ) {}

  call<M extends keyof Ms>(method: M, params: Ms[M]['params'], options?: StartOptions): Promise<Ms[M]['result']> {
    return this.pending.start<Ms[M]['result']>((id) => this.post({ id, method, params }), options);
  }

  /** Settles the request `reply` answers; unknown ids (stale, duplicated) are ignored. */
  handle(reply: { id: number; ok?: unknown; err?: E }): void {
    this.pending.settle(reply, this.toError);
  }
}

/** One handler per method, each returning that method's result. */
export type Handlers<Ms extends MethodTable<Ms>> = { [M in keyof Ms]: (params: Ms[M]['params']) => Promise<Ms[M]['result']> | Ms[M]['result'] };

/** Runs the handler a request names and answers it: its result, or `toErr` of what it threw. */
export async function answer<Ms extends MethodTable<Ms>, E>(
  handlers: Handlers<Ms>, request: Request<Ms>, toErr: (e: unknown) => E,
): Promise<Reply<AnyResult<Ms>, E>> {
  try {
    const handler = Object.hasOwn(handlers, request.method) ? handlers[request.method] as (p: unknown) => Promise<AnyResult<Ms>> | AnyResult<Ms> : undefined;
    if (typeof handler !== 'function') throw new Error(`Unknown method '${String(request.method).slice(0, 100)}'.`);
    return { id: request.id, ok: await handler(request.params) };
  } catch (e) {
    return { id: request.id, err: toErr(e) };
  }
}
