/**
 * The request/response helper every channel uses: ids, one settlement per request, typed calls,
 * errors, timeouts, cancel, and what happens to waiting requests when the other side goes away.
 * The "other side" here is a plain queue of posted requests answered by hand, or a real
 * MessageChannel (the same structured-clone transport the workers use).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import {
  AbortError, answer, PendingRequests, RequestClient, TimeoutError, type Handlers, type Reply, type Request,
} from '../../src/shared/requests';

interface Calc {
  add: { params: { a: number; b: number }; result: number };
  upper: { params: { s: string }; result: { text: string } };
  fail: { params: Record<string, never>; result: null };
}

class CalcError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

function manualClient(): { client: RequestClient<Calc, { message: string; code: string }>; sent: Request<Calc>[] } {
  const sent: Request<Calc>[] = [];
  const client = new RequestClient<Calc, { message: string; code: string }>((r) => sent.push(r), (e) => new CalcError(e.message, e.code));
  return { client, sent };
}

test('each call gets a new id and is settled by the reply with that id, in any order', async () => {
  const { client, sent } = manualClient();
  const sum = client.call('add', { a: 2, b: 3 });
  const up = client.call('upper', { s: 'ab' });
  assert.deepEqual(sent.map((r) => [r.id, r.method]), [[1, 'add'], [2, 'upper']]);
  assert.deepEqual(sent[0].params, { a: 2, b: 3 });
  client.handle({ id: sent[1].id, ok: { text: 'AB' } });
  client.handle({ id: sent[0].id, ok: 5 });
  assert.equal(await sum, 5);
  assert.deepEqual(await up, { text: 'AB' });
  assert.equal(client.pending.size, 0);
});

test('an error reply rejects with the channel\'s error type; stale and duplicate replies are ignored', async () => {
  const { client, sent } = manualClient();
  const p = client.call('fail', {});
  client.handle({ id: sent[0].id, err: { message: 'bad input', code: 'request' } });
  await assert.rejects(p, (e: unknown) => e instanceof CalcError && e.code === 'request' && e.message === 'bad input');
  // The same id again, and an id never sent: nothing to settle, nothing thrown.
  assert.equal(client.pending.settle({ id: sent[0].id, ok: null }, () => new Error('x')), false);
  assert.equal(client.pending.resolve(99, 1), false);
});

test('a request settles once: a late answer after a timeout is dropped, and the channel is told', async () => {
  const pending = new PendingRequests();
  const abandoned: [number, string][] = [];
  let sentId = 0;
  const t0 = Date.now();
  const p = pending.start<number>((id) => { sentId = id; }, { timeoutMs: 30, onAbandon: (id, why) => abandoned.push([id, why.name]) });
  await assert.rejects(p, TimeoutError);
  assert.ok(Date.now() - t0 >= 25, 'the timeout waited');
  assert.deepEqual(abandoned, [[sentId, 'TimeoutError']]);
  assert.equal(pending.resolve(sentId, 1), false);
  assert.equal(pending.size, 0);
});

test('an answer before the timeout wins and the timer is cleared', async () => {
  const pending = new PendingRequests();
  let abandoned = 0;
  const p = pending.start<string>((id) => setTimeout(() => pending.resolve(id, 'done'), 5), { timeoutMs: 200, onAbandon: () => abandoned++ });
  assert.equal(await p, 'done');
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(abandoned, 0);
});

test('an AbortSignal cancels a waiting request; an already aborted one is never sent', async () => {
  const pending = new PendingRequests();
  const ctl = new AbortController();
  const abandoned: number[] = [];
  let sentId = -1;
  const p = pending.start((id) => { sentId = id; }, { signal: ctl.signal, onAbandon: (id) => abandoned.push(id) });
  ctl.abort();
  await assert.rejects(p, AbortError);
  assert.deepEqual(abandoned, [sentId]);
  let sent = false;
  await assert.rejects(pending.start(() => { sent = true; }, { signal: ctl.signal }), AbortError);
  assert.equal(sent, false);
  // A settled request no longer listens: aborting afterwards changes nothing.
  const ctl2 = new AbortController();
  const q = pending.start<number>((id) => pending.resolve(id, 7), { signal: ctl2.signal, onAbandon: () => abandoned.push(-1) });
  assert.equal(await q, 7);
  ctl2.abort();
  assert.deepEqual(abandoned, [sentId]);
});

test('a send that throws rejects its request and leaves nothing pending', async () => {
  const pending = new PendingRequests();
  await assert.rejects(pending.start(() => { throw new Error('port closed'); }), /port closed/);
  assert.equal(pending.size, 0);
});

test('close rejects every waiting request and every later one with the first close\'s error', async () => {
  const { client } = manualClient();
  const a = client.call('add', { a: 1, b: 1 });
  const b = client.call('upper', { s: 'x' });
  client.pending.close(new Error('the worker exited (code 1)'));
  client.pending.close(new Error('closed'));
  await assert.rejects(a, /exited \(code 1\)/);
  await assert.rejects(b, /exited \(code 1\)/);
  await assert.rejects(client.call('add', { a: 1, b: 2 }), /exited \(code 1\)/);
  assert.equal(client.pending.size, 0);
});

test('rejectAll and resolveAll empty the map but keep the channel open', async () => {
  const pending = new PendingRequests();
  const a = pending.start(() => {});
  const b = pending.start(() => {});
  assert.deepEqual(pending.ids(), [1, 2]);
  pending.rejectAll(new Error('restarted'));
  await assert.rejects(a, /restarted/);
  await assert.rejects(b, /restarted/);
  const c = pending.start<number | undefined>(() => {});
  pending.resolveAll(undefined);
  assert.equal(await c, undefined);
  assert.equal(pending.closed, undefined);
});

test('answer runs the named handler and turns a throw (or an unknown method) into an error reply', async () => {
  const handlers: Handlers<Calc> = {
    add: ({ a, b }) => a + b,
    upper: async ({ s }) => ({ text: s.toUpperCase() }),
    fail: () => { throw new Error('no'); },
  };
  const toErr = (e: unknown) => ({ message: e instanceof Error ? e.message : String(e), code: 'internal' });
  assert.deepEqual(await answer(handlers, { id: 4, method: 'add', params: { a: 2, b: 40 } }, toErr), { id: 4, ok: 42 });
  assert.deepEqual(await answer(handlers, { id: 5, method: 'fail', params: {} }, toErr), { id: 5, err: { message: 'no', code: 'internal' } });
  for (const method of ['nope', 'constructor', '__proto__']) {
    const r = await answer(handlers, { id: 6, method, params: {} } as unknown as Request<Calc>, toErr);
    assert.equal(r.err?.code, 'internal', method);
    assert.match(r.err?.message ?? '', /Unknown method/);
  }
});

test('both ends over a real MessageChannel: calls and errors round-trip', async () => {
  const { port1, port2 } = new MessageChannel();
  const handlers: Handlers<Calc> = {
    add: ({ a, b }) => a + b,
    upper: ({ s }) => ({ text: s.toUpperCase() }),
    fail: () => { throw new Error('refused'); },
  };
  port2.on('message', (req: Request<Calc>) => void answer(handlers, req, (e) => ({ message: String((e as Error).message), code: 'x' })).then((r) => port2.postMessage(r)));
  const client = new RequestClient<Calc, { message: string; code: string }>((r) => port1.postMessage(r), (e) => new CalcError(e.message, e.code));
  port1.on('message', (r: Reply<unknown, { message: string; code: string }>) => client.handle(r));
  try {
    const results = await Promise.all([client.call('add', { a: 1, b: 2 }), client.call('upper', { s: 'quant' }), client.call('add', { a: -5, b: 5 })]);
    assert.deepEqual(results, [3, { text: 'QUANT' }, 0]);
    await assert.rejects(client.call('fail', {}), (e: unknown) => e instanceof CalcError && e.message === 'refused');
  } finally {
    port1.close();
    port2.close();
  }
});
