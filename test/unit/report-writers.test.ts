/**
 * Writers, checked by reading what they wrote back: CSV through Python's csv module (an independent
 * parser), Model Explorer node data through the importer, JSON through the results reader, and the
 * Markdown table's rows against the worst layers in order. Node names are data: `<script>` and `|`
 * must come out as text.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  emptyReport, importResultsText, mergeReports, parseResultsJson, renderReport, worstLayers, writeCsv, writeJson, writeMarkdown, writeModelExplorer,
  type NodeIndex, type ResultsReport,
} from '../../src/core/report';
import { REPO_ROOT, SYSTEM_PYTHON } from '../helpers/paths';

const FIX = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
const fixture = (k: string): ResultsReport => parseResultsJson(fs.readFileSync(path.join(FIX, `mnist-${k}.json`), 'utf8'), `mnist-${k}.json`, { date: '2026-12-06T00:00:00.000Z' });

/** A report with hostile names and an Infinity SQNR. */
function hostile(): ResultsReport {
  const r = emptyReport();
  r.models = { float: 'a.onnx', quantized: 'a-int8.onnx' };
  r.layers = [
    { node: '<script>alert(1)</script>', opType: 'Conv', metrics: { sqnrDb: 12.5, mse: 0.5 } },
    { node: 'a|b, "quoted"\nline', opType: 'Add', metrics: { sqnrDb: 30, mse: 0.01 } },
    { node: 'identical', opType: 'Relu', metrics: { sqnrDb: Infinity, mse: 0 } },
    { node: 'conv_2', opType: 'Conv', metrics: { sqnrDb: 20.25, mse: 0.1 } },
  ];
  r.sources = [{ tool: 'test', date: '2026-12-06', metrics: ['sqnrDb', 'mse'] }];
  return r;
}

test('builders: layers, sensitivity and evaluate JSON join into one report by node name', () => {
  const r = mergeReports(['layers', 'sensitivity', 'evaluate'].map(fixture));
  assert.deepEqual(r.models, { float: 'mnist-12.onnx', quantized: 'mnist-int8.onnx' });
  assert.equal(r.layers.length, 8);
  const fc = r.layers.find((l) => l.node === 'Times212/MatMulAddFusion')!;
  assert.ok(fc.metrics.sensitivity > 4 && fc.metrics.sqnrDb > 39 && fc.metrics.sqnrDb < 40, JSON.stringify(fc.metrics));
  assert.equal(r.evaluation?.models.length, 2);
  assert.deepEqual(r.evaluation?.deltas.map((d) => d.metric), ['top1', 'top5', 'macroF1']);
  assert.deepEqual(r.sources.map((s) => s.tool), ['quantlens layers', 'quantlens sensitivity (sqnr)', 'quantlens evaluate']);
  assert.throws(() => parseResultsJson('{"layers": 3}', 'odd.json'), (e: Error) => /^odd\.json: not QuantLens results/.test(e.message));
});

test('CSV: Python\'s csv module reads back one row per layer, names and numbers intact', () => {
  const r = hostile();
  const py = spawnSync(SYSTEM_PYTHON, ['-c', 'import csv, json, sys; print(json.dumps(list(csv.DictReader(sys.stdin))))'], { input: writeCsv(r), encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const rows = JSON.parse(py.stdout) as Record<string, string>[];
  assert.deepEqual(rows.map((x) => x.node), r.layers.map((l) => l.node));
  assert.deepEqual(rows.map((x) => Number(x.sqnrDb)), [12.5, 30, Infinity, 20.25]);
  assert.deepEqual(Object.keys(rows[0]), ['node', 'op_type', 'tensor', 'sqnrDb', 'mse', 'notes']);
});

test('Model Explorer node data round-trips through the importer; Infinity is left out and said', () => {
  const r = hostile();
  const { data, skipped } = writeModelExplorer(r, { metric: 'sqnrDb', graphId: 'main' });
  assert.deepEqual(skipped, ['identical']);
  assert.equal(data.main.gradient[0].stop, 0);
  const idx: NodeIndex = { nodes: new Map(r.layers.map((l) => [l.node, l.opType!])), producers: new Map(), consumers: new Map() };
  const back = importResultsText(JSON.stringify(data), 'nd.json', idx);
  assert.deepEqual(back.layers.map((l) => [l.node, l.metrics]), r.layers.filter((l) => l.node !== 'identical').map((l) => [l.node, { sqnrDb: l.metrics.sqnrDb }]));
  assert.deepEqual(back.unmatched, []);
});

test('JSON round-trips through the results reader, Infinity included', () => {
  const r = mergeReports([hostile(), fixture('evaluate')]);
  const back = parseResultsJson(writeJson(r), 'r.json');
  assert.deepEqual(back, r);
});

test('Markdown: the worst layers in order, names escaped (no raw <script>, no extra cell from |)', () => {
  const r = hostile();
  const text = writeMarkdown(r, { metric: 'sqnrDb', top: 3 });
  assert.doesNotMatch(text, /<script>/);
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith('| # | layer |'));
  assert.ok(head > 0, text);
  // split on unescaped pipes only
  const cells = (l: string) => l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
  const body = lines.slice(head + 2).filter((l) => l.startsWith('|')).map(cells);
  assert.deepEqual(body.map((c) => c[0]), ['1', '2', '3']);
  assert.ok(body.every((c) => c.length === cells(lines[head]).length));
  const unescape = (s: string) => s.replace(/\\(.)/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  assert.deepEqual(body.map((c) => unescape(c[1])), worstLayers(r, 'sqnrDb', 3).map((l) => l.node.replace(/\n/g, ' ')));
  assert.deepEqual(body.map((c) => unescape(c[1])), ['<script>alert(1)</script>', 'conv_2', 'a|b, "quoted" line']);
});

test('Markdown of the MNIST results ranks by sensitivity by default (the 6 layers sensitivity measured) and shows the float/quantized table', async () => {
  const r = mergeReports(['layers', 'sensitivity', 'evaluate'].map(fixture));
  const { text } = await renderReport(r, 'md');
  assert.match(text, /\| top1 \| 99\.50 % \| 99\.50 % \| 0\.00 % \[0\.00 %, 0\.00 %\] \|/);
  assert.match(text, /\*\*Worst 6 of 8 layers by sensitivity/);
  const first = text.split('\n').find((l) => l.startsWith('| 1 |'));
  assert.match(first ?? '', /^\| 1 \| Times212\/MatMulAddFusion \| Gemm \|/);
});
