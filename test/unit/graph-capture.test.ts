/** The host's captureGraph requests: answered by id, a timeout or a closed editor yields an error, never a hang. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CaptureGraphMessage } from '../../src/protocol';
import { GraphCaptures } from '../../src/host/graphCapture';

test('each request resolves with the answer carrying its id; other ids and late answers change nothing', async () => {
  const c = new GraphCaptures();
  const sent: CaptureGraphMessage[] = [];
  const post = async (m: CaptureGraphMessage) => (sent.push(m), true);
  const a = c.request(post, 5000);
  const b = c.request(post, 5000);
  await Promise.resolve();
  assert.equal(sent.length, 2);
  assert.notEqual(sent[0].id, sent[1].id);
  c.answer({ type: 'graphImage', id: 9999, svg: '<svg/>' });
  c.answer({ type: 'graphImage', id: sent[1].id, error: 'the editor shows no graph' });
  c.answer({ type: 'graphImage', id: sent[0].id, svg: '<svg>a</svg>' });
  c.answer({ type: 'graphImage', id: sent[0].id, svg: '<svg>late</svg>' });
  assert.deepEqual(await a, { svg: '<svg>a</svg>' });
  assert.deepEqual(await b, { error: 'the editor shows no graph' });
});

test('no answer in time, a closed editor and a failing post each give an error', async () => {
  const c = new GraphCaptures();
  const t0 = Date.now();
  const r = await c.request(async () => true, 50);
  assert.ok('error' in r && /did not answer/.test(r.error), JSON.stringify(r));
  assert.ok(Date.now() - t0 >= 45 && Date.now() - t0 < 2000);
  assert.deepEqual(await c.request(async () => false, 5000), { error: 'the graph editor is closed' });
  const failed = await c.request(async () => { throw new Error('disposed'); }, 5000);
  assert.ok('error' in failed && /disposed/.test(failed.error));
});
