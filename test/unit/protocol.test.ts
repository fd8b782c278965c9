/** The host validates every webview message as untrusted input. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWebviewMessage, PROTOCOL_VERSION } from '../../src/protocol';

test('accepts well-formed messages', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready', protocolVersion: PROTOCOL_VERSION }), { type: 'ready', protocolVersion: PROTOCOL_VERSION });
  assert.deepEqual(parseWebviewMessage({ type: 'rendered', revision: 3, stateKind: 'loaded' }), { type: 'rendered', revision: 3, stateKind: 'loaded' });
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 7, method: 'revealInExplorer', params: {} }), { type: 'request', id: 7, method: 'revealInExplorer', params: {} });
  assert.deepEqual(parseWebviewMessage({ type: 'log', level: 'warn', message: 'x' }), { type: 'log', level: 'warn', message: 'x' });
});

test('drops malformed or hostile messages', () => {
  const bad: unknown[] = [
    null, undefined, 42, 'ready', [], {},
    { type: 'ready' },
    { type: 'ready', protocolVersion: '1' },
    { type: 'request', id: 1, method: 'constructor', params: {} },
    { type: 'request', id: 1, method: '__proto__', params: {} },
    { type: 'request', id: 1.5, method: 'revealInExplorer', params: {} },
    { type: 'request', id: 1, method: 'revealInExplorer', params: { path: '/etc/passwd' } },
    { type: 'request', id: 1, method: 'revealInExplorer' },
    { type: 'rendered', revision: 1, stateKind: 'pwned' },
    { type: 'log', level: 'debug', message: 'x' },
    { type: 'log', level: 'info', message: { toString: 1 } },
    { type: 'unknown' },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
});

test('truncates oversized log messages', () => {
  const m = parseWebviewMessage({ type: 'log', level: 'info', message: 'x'.repeat(100_000) });
  assert.equal(m?.type === 'log' && m.message.length, 2000);
});
