/** The HTML report embeds the editor's graph image as an <img> data URL that decodes back to the same SVG. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseResultsJson, renderReport } from '../../src/core/report';
import { REPO_ROOT } from '../helpers/paths';

const FIX = path.join(REPO_ROOT, 'test', 'fixtures', 'report');

test('a given graph SVG is embedded as a base64 data URL in a "Graph" section, with an alt naming the metric', async () => {
  const r = parseResultsJson(fs.readFileSync(path.join(FIX, 'mnist-sensitivity.json'), 'utf8'), 'mnist-sensitivity.json');
  // Non-ASCII and markup-looking text: the image must carry the bytes through unchanged.
  const svg = '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>Δ &lt;script&gt; ×2</title><rect width="4" height="4" fill="#fde725"/></svg>';
  const { text } = await renderReport(r, 'html', { graphSvg: svg });
  const imgs = [...text.matchAll(/<img alt="([^"]*)" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)">/g)];
  assert.equal(imgs.length, 1, 'one graph image');
  assert.equal(Buffer.from(imgs[0][2], 'base64').toString('utf8'), svg);
  assert.match(imgs[0][1], /^Graph with the .+ overlay$/);
  assert.ok(text.indexOf('<h2>Graph</h2>') >= 0 && text.indexOf('<h2>Graph</h2>') < text.indexOf(imgs[0][0]), 'under a Graph heading');
  assert.doesNotMatch(text, /<script/i);

  // The alt names the metric the image's legend shows, when it has one.
  const withLegend = svg.replace('</svg>', '<g class="legend" data-metric="sqnrDb"></g></svg>');
  assert.match((await renderReport(r, 'html', { graphSvg: withLegend })).text, /<img alt="Graph with the SQNR[^"]* overlay"/);

  const without = (await renderReport(r, 'html')).text;
  assert.doesNotMatch(without, /<h2>Graph<\/h2>|<img/, 'no graph section without an image');
});
