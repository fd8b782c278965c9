/** The host validates every webview message as untrusted input. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EXPORT_BYTES, MAX_GRAPH_IMAGE, MAX_MARK_NODES, MAX_TENSOR_NAME, MAX_VALUES_PAGE, MAX_VIEW_ZOOM, MIN_VIEW_ZOOM, parseWebviewMessage, PROTOCOL_VERSION } from '../../src/protocol';

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

// ---- graph view requests (issue 4) ----

test('tensorStats / tensorValues / graphView / exportImage: well-formed params pass through', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 1, method: 'tensorStats', params: { tensor: 'Parameter5' } }),
    { type: 'request', id: 1, method: 'tensorStats', params: { tensor: 'Parameter5' } });
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 2, method: 'tensorValues', params: { tensor: 'w', start: 0, count: MAX_VALUES_PAGE } }),
    { type: 'request', id: 2, method: 'tensorValues', params: { tensor: 'w', start: 0, count: MAX_VALUES_PAGE } });
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 3, method: 'graphView', params: { foldQdq: true } }),
    { type: 'request', id: 3, method: 'graphView', params: { foldQdq: true } });
  const svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>';
  assert.deepEqual(parseWebviewMessage({ type: 'request', id: 4, method: 'exportImage', params: { format: 'svg', data: svg, name: 'm-graph.svg' } }),
    { type: 'request', id: 4, method: 'exportImage', params: { format: 'svg', data: svg, name: 'm-graph.svg' } });
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  const m = parseWebviewMessage({ type: 'request', id: 5, method: 'exportImage', params: { format: 'png', data: png, name: 'm.png' } });
  assert.ok(m?.type === 'request' && m.method === 'exportImage' && m.params.format === 'png');
  assert.deepEqual([...(m.params.data as Uint8Array)], [...png]);
  // An ArrayBuffer (how some hosts deliver binary) is accepted as bytes.
  const m2 = parseWebviewMessage({ type: 'request', id: 6, method: 'exportImage', params: { format: 'png', data: png.buffer, name: 'm.png' } });
  assert.ok(m2?.type === 'request' && m2.method === 'exportImage' && m2.params.data instanceof Uint8Array);
});

test('graph view requests with bad params are dropped', () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const bad: unknown[] = [
    { method: 'tensorStats', params: {} },
    { method: 'tensorStats', params: { tensor: '' } },
    { method: 'tensorStats', params: { tensor: 7 } },
    { method: 'tensorStats', params: { tensor: 'x'.repeat(MAX_TENSOR_NAME + 1) } },
    { method: 'tensorStats', params: { tensor: 'w', extra: 1 } },
    { method: 'tensorValues', params: { tensor: 'w', start: -1, count: 10 } },
    { method: 'tensorValues', params: { tensor: 'w', start: 0.5, count: 10 } },
    { method: 'tensorValues', params: { tensor: 'w', start: 0, count: 0 } },
    { method: 'tensorValues', params: { tensor: 'w', start: 0, count: MAX_VALUES_PAGE + 1 } },
    { method: 'tensorValues', params: { tensor: 'w', start: 2 ** 60, count: 10 } },
    { method: 'tensorValues', params: { tensor: 'w', start: '0', count: 10 } },
    { method: 'tensorValues', params: { tensor: 'w', count: 10 } },
    { method: 'graphView', params: { foldQdq: 'yes' } },
    { method: 'graphView', params: {} },
    { method: 'exportImage', params: { format: 'svg', data: '<html><script>alert(1)</script>', name: 'x.svg' } },
    { method: 'exportImage', params: { format: 'svg', data: '', name: 'x.svg' } },
    { method: 'exportImage', params: { format: 'svg', data: '<svg>' + 'x'.repeat(MAX_EXPORT_BYTES), name: 'x.svg' } },
    { method: 'exportImage', params: { format: 'png', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), name: 'x.png' } },
    { method: 'exportImage', params: { format: 'png', data: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], name: 'x.png' } },
    { method: 'exportImage', params: { format: 'png', data: png, name: '../../.bashrc' } },
    { method: 'exportImage', params: { format: 'png', data: png, name: 'a\\b.png' } },
    { method: 'exportImage', params: { format: 'png', data: png, name: '' } },
    { method: 'exportImage', params: { format: 'gif', data: png, name: 'x.gif' } },
    { method: 'exportImage', params: { format: 'png', data: png } },
  ];
  for (const r of bad) assert.equal(parseWebviewMessage({ type: 'request', id: 1, ...(r as object) }), undefined, JSON.stringify(r));
});

test('mark intents and selections are accepted only in their exact shape', () => {
  const ok = parseWebviewMessage({ type: 'request', id: 3, method: 'setMarks', params: { nodes: ['Conv_1', 'Conv_2'], precision: 'int16' } });
  assert.deepEqual(ok, { type: 'request', id: 3, method: 'setMarks', params: { nodes: ['Conv_1', 'Conv_2'], precision: 'int16' } });
  assert.deepEqual(
    parseWebviewMessage({ type: 'request', id: 4, method: 'setMarks', params: { nodes: ['a'], precision: null, label: 'Clear every Relu' } }),
    { type: 'request', id: 4, method: 'setMarks', params: { nodes: ['a'], precision: null, label: 'Clear every Relu' } },
  );
  assert.deepEqual(parseWebviewMessage({ type: 'selection', nodes: ['a', 'b'] }), { type: 'selection', nodes: ['a', 'b'] });
  assert.deepEqual(parseWebviewMessage({ type: 'selection', nodes: [] }), { type: 'selection', nodes: [] });
  const bad: unknown[] = [
    { method: 'setMarks', params: { nodes: ['a'], precision: 'int4' } },
    { method: 'setMarks', params: { nodes: ['a'], precision: 'INT8' } },
    { method: 'setMarks', params: { nodes: [], precision: 'int8' } },
    { method: 'setMarks', params: { nodes: [''], precision: 'int8' } },
    { method: 'setMarks', params: { nodes: 'a', precision: 'int8' } },
    { method: 'setMarks', params: { nodes: [1], precision: 'int8' } },
    { method: 'setMarks', params: { nodes: ['a'] } },
    { method: 'setMarks', params: { nodes: ['a'], precision: 'int8', label: '' } },
    { method: 'setMarks', params: { nodes: ['a'], precision: 'int8', label: 'x'.repeat(201) } },
    { method: 'setMarks', params: { nodes: ['a'], precision: 'int8', extra: true } },
    { method: 'setMarks', params: { nodes: new Array(MAX_MARK_NODES + 1).fill('n'), precision: 'int8' } },
  ];
  for (const r of bad) assert.equal(parseWebviewMessage({ type: 'request', id: 1, ...(r as object) }), undefined, JSON.stringify(r).slice(0, 120));
  assert.equal(parseWebviewMessage({ type: 'selection', nodes: 'a' }), undefined);
  assert.equal(parseWebviewMessage({ type: 'selection', nodes: ['a'], extra: 1 }), undefined);
});

test('compare view: a viewport report needs a sane node name and a finite zoom in range; unlink has no fields', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'viewport', center: 'Convolution110', zoom: 1.25 }), { type: 'viewport', center: 'Convolution110', zoom: 1.25 });
  assert.deepEqual(parseWebviewMessage({ type: 'viewport', center: 'n', zoom: MIN_VIEW_ZOOM }), { type: 'viewport', center: 'n', zoom: MIN_VIEW_ZOOM });
  assert.deepEqual(parseWebviewMessage({ type: 'viewport', center: 'n', zoom: MAX_VIEW_ZOOM }), { type: 'viewport', center: 'n', zoom: MAX_VIEW_ZOOM });
  assert.deepEqual(parseWebviewMessage({ type: 'unlinkCompare' }), { type: 'unlinkCompare' });
  const bad: unknown[] = [
    { type: 'viewport', center: 'n', zoom: Number.NaN },
    { type: 'viewport', center: 'n', zoom: Number.POSITIVE_INFINITY },
    { type: 'viewport', center: 'n', zoom: 0 },
    { type: 'viewport', center: 'n', zoom: -1 },
    { type: 'viewport', center: 'n', zoom: MIN_VIEW_ZOOM / 2 },
    { type: 'viewport', center: 'n', zoom: MAX_VIEW_ZOOM * 2 },
    { type: 'viewport', center: 'n', zoom: '1' },
    { type: 'viewport', center: 'n' },
    { type: 'viewport', center: '', zoom: 1 },
    { type: 'viewport', center: 'x'.repeat(MAX_TENSOR_NAME + 1), zoom: 1 },
    { type: 'viewport', center: 42, zoom: 1 },
    { type: 'viewport', center: ['n'], zoom: 1 },
    { type: 'viewport', zoom: 1 },
    { type: 'viewport', center: 'n', zoom: 1, extra: true },
    { type: 'unlinkCompare', peer: 'x' },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m).slice(0, 120));
});

test('graph image for a report: an SVG under the size cap or an error sentence, nothing else', () => {
  const svg = '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>';
  assert.deepEqual(parseWebviewMessage({ type: 'graphImage', id: 3, svg }), { type: 'graphImage', id: 3, svg });
  assert.deepEqual(parseWebviewMessage({ type: 'graphImage', id: 4, error: 'no graph' }), { type: 'graphImage', id: 4, error: 'no graph' });
  const bad: unknown[] = [
    { type: 'graphImage', id: 1.5, svg },
    { type: 'graphImage', id: '1', svg },
    { type: 'graphImage', id: 1 },
    { type: 'graphImage', id: 1, svg: '' },
    { type: 'graphImage', id: 1, svg: 42 },
    { type: 'graphImage', id: 1, svg: '<html><svg></svg></html>' },
    { type: 'graphImage', id: 1, svg, error: 'both' },
    { type: 'graphImage', id: 1, error: '' },
    { type: 'graphImage', id: 1, svg, extra: true },
    { type: 'graphImage', id: 1, svg: '<svg>' + ' '.repeat(MAX_GRAPH_IMAGE) + '</svg>' },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m).slice(0, 120));
  const long = parseWebviewMessage({ type: 'graphImage', id: 5, error: 'x'.repeat(5000) });
  assert.equal(long?.type === 'graphImage' && long.error?.length, 500);
});
