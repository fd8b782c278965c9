/**
 * The HTML report opens in Chromium (playwright-core, Debian's /usr/bin/chromium) with its charts
 * drawn as SVG, no console errors, no request beyond the file itself, and model strings as text.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { exportReport, mergeReports, parseResultsJson, type ResultsReport } from '../../src/core/report';
import { launchChromium } from '../helpers/browser';
import { REPO_ROOT } from '../helpers/paths';

const FIX = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-report-html-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the HTML report opens in Chromium: three SVG charts, no console errors, no requests, a <script> node name shown as text', async () => {
  const r: ResultsReport = mergeReports(['layers', 'sensitivity', 'evaluate'].map((k) => parseResultsJson(fs.readFileSync(path.join(FIX, `mnist-${k}.json`), 'utf8'), `mnist-${k}.json`)));
  r.layers.push({ node: '<script>document.title="pwned"</script>', opType: 'Conv', metrics: { sensitivity: 9, sqnrDb: 10 } });
  r.curves.push({ title: 'Accuracy against size', x: 'size (KiB)', y: 'top-1', points: [{ x: 9.4, y: 0.99, label: 'int8' }, { x: 14, y: 0.993, label: 'mixed' }, { x: 25.5, y: 0.995, label: 'float' }] });
  const file = path.join(dir, 'report.html');
  await exportReport(r, 'html', file);
  const html = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<script/i, 'the report carries no script');
  assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, 'no external references');

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (q) => requests.push(q.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    const info = await page.evaluate(() => ({
      svgs: [...document.querySelectorAll('figure svg')].map((s) => ({ marks: s.querySelectorAll('path, rect, line').length, w: s.getBoundingClientRect().width })),
      captions: [...document.querySelectorAll('figcaption')].map((c) => c.textContent),
      scripts: document.querySelectorAll('script').length,
      title: document.title,
      firstBars: [...document.querySelectorAll('figure svg')][1]?.textContent ?? '',
      cells: [...document.querySelectorAll('td')].map((td) => td.textContent),
    }));
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [url]);
    assert.deepEqual(info.captions, ['Float vs quantized metrics', 'Layers by sensitivity (recovery when kept float)', 'Accuracy against size']);
    assert.ok(info.svgs.every((s) => s.marks > 5 && s.w > 100), JSON.stringify(info.svgs));
    assert.equal(info.scripts, 0);
    assert.match(info.title, /^QuantLens report: mnist-12\.onnx vs mnist-int8\.onnx$/);
    assert.ok(info.cells.includes('<script>document.title="pwned"</script>'), 'the hostile name is a table cell\'s text');
    assert.ok(info.firstBars.includes('<script>document.title='), 'and an axis label of the bar chart (vega shortens long labels with …)');
  } finally {
    await browser.close();
  }
});
