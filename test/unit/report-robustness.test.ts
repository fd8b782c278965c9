/** The robustness table as Markdown: one row per condition, fragile ones marked, names escaped. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RobustnessReport } from '../../src/core/eval/robustness';
import { robustnessMarkdown } from '../../src/core/report/write/robustness';

test('robustness Markdown lists every condition in order and marks the fragile ones', () => {
  const r: RobustnessReport = {
    float: '/m/float.onnx', quantized: '/m/q|uant.onnx', data: '/d/x.npy', offset: 0, samples: 10, task: 'classification', metric: 'top1', output: 'y',
    dataStd: { x: 1 }, seed: 1, threshold: 0.01, warnings: ['blur skipped'],
    rows: [
      { kind: 'none', level: 0, float: 0.99, quantized: 0.98, delta: 0.01, top1Agreement: 1, sqnrDb: 38.5, fragile: false },
      { kind: 'noise', level: 0.5, float: 0.9, quantized: 0.8, delta: 0.1, top1Agreement: 0.85, sqnrDb: Infinity, fragile: true },
    ],
  };
  const md = robustnessMarkdown(r);
  const rows = md.split('\n').filter((l) => /^\| (none|noise) /.test(l));
  assert.deepEqual(rows, [
    '| none | 0 | 99.0 % | 98.0 % | 100.0 % | 38.50 |  |',
    '| noise | 0.5 | 90.0 % | 80.0 % | 85.0 % | ∞ | **fragile** |',
  ]);
  assert.match(md, /q\\\|uant\.onnx/, 'a | in a name is escaped');
  assert.match(md, /- blur skipped/);
});
