/**
 * The precision an already quantized model actually runs in, drawn per node: outlined badges on
 * the canvas (planned marks stay filled), "actual …" in the outline's accessible labels, a legend
 * part of its own and a line in the hover card. Real Chromium with the int8 (QOperator), float16
 * and float MNIST models; a float model shows none. The expected types are read off the model
 * files by hand (QLinearConv's input is the uint8 output of QuantizeLinear; fp16 Conv reads float16).
 *   node --import tsx --test test/webview/graph-actual.test.ts
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildGraphView, type GraphView } from '../../src/core/graphView';
import type { Model } from '../../src/core/model';
import { openModelFile } from '../../src/core/open';
import type { MarksState } from '../../src/protocol';
import { actualPrecisions } from '../../webview/graph/actualPrecision';
import { SAMPLE_MODEL, sharedModel } from '../helpers/paths';
import { canvasPixel, cssColour, openGraphPage } from './graphPage';
import { cspViolations, startHarness, type WebviewHarness } from './harness';

let harness: WebviewHarness;
before(async () => (harness = await startHarness()));
after(async () => harness?.close());

type Rect = { x: number; y: number; w: number; h: number };
interface Hook {
  nodeClientRect(n: number): Rect | undefined;
  itemDecor(n: number): { fill: string | null; badge: string | null; actual: string | null } | undefined;
  drawFrame(): number;
  viewport(): { x: number; y: number; k: number };
}

const openGraph = (model: Model, fileName: string, graph: GraphView, marks?: MarksState): Promise<Page> => openGraphPage(harness, model, fileName, graph, marks);

const actualOf = (page: Page, node: number): Promise<string | null> =>
  page.evaluate((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.itemDecor(n)?.actual ?? null, node);
const row = (page: Page, name: string) => page.locator(`[data-testid="graph-outline"] [role="treeitem"][data-kind="node"]:text-is("${name}")`);
const legendRows = (page: Page): Promise<string[]> =>
  page.$$eval('[data-testid="actual-legend"] [data-precision]', (els) => els.map((e) => `${e.getAttribute('data-precision')}:${e.getAttribute('data-count')}`));

describe('actual precision of a quantized model', () => {
  test('int8 QOperator MNIST: uint8 on the quantized ops and Q/DQ, none on the float tail; labels, legend, hover card; planned marks stay apart', async () => {
    const model = await openModelFile(sharedModel('onnx', 'mnist', 'mnist-12-int8.onnx'));
    const view = buildGraphView(model);
    const byName = (n: string): number => view.nodes.find((x) => x.name === n)!.id;
    const page = await openGraph(model, 'mnist-12-int8.onnx', view, { plan: { Convolution110_quant: 'int16' }, unknown: [], revision: 1 });
    const uint8 = ['Input3_Convolution28_QuantizeLinear', 'Convolution28_quant', 'Pooling66_quant', 'Convolution110_quant', 'Convolution110_DequantizeLinear_0', 'gemm_MatMul_quant', 'gemm_Add_quant'];
    for (const n of uint8) assert.equal(await actualOf(page, byName(n)), 'u8', n);
    // MaxPool and Reshape after the DequantizeLinear run in float: no badge.
    for (const n of ['Pooling160', 'Times212_reshape0']) assert.equal(await actualOf(page, byName(n)), null, n);
    assert.equal(await row(page, 'Convolution28_quant').getAttribute('aria-label'), 'Convolution28_quant, QLinearConv, actual uint8');
    assert.equal(await row(page, 'Pooling160').getAttribute('aria-label'), 'Pooling160, MaxPool');
    // Actual and planned side by side: outlined actual, filled planned, both in the label.
    assert.equal(await row(page, 'Convolution110_quant').getAttribute('aria-label'), 'Convolution110_quant, QLinearConv, actual uint8, marked int16');
    const d = await page.evaluate((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.itemDecor(n)!, byName('Convolution110_quant'));
    assert.deepEqual([d.actual, d.badge], ['u8', 'i16']);
    const ops = view.nodes.filter((n) => n.kind === 'op').length;
    assert.deepEqual(await legendRows(page), [`uint8:${uint8.length + 2}`]);
    assert.ok(uint8.length + 2 < ops, 'not every op is counted');
    assert.match(await page.textContent('[data-testid="actual-legend"]') ?? '', /Actual precision/);
    assert.match(await page.textContent('[data-testid="marks-legend"]') ?? '', /Planned precision/);
    assert.deepEqual(await page.$$eval('[data-testid="marks-legend"] [data-precision]', (els) => els.map((e) => e.getAttribute('data-precision'))), ['int16']);
    // On the canvas: the badge's outline is drawn in the int8 family's colour, its inside is not filled with it.
    const target = byName('Convolution28_quant');
    await row(page, 'Convolution28_quant').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="prop-name"]')?.textContent === 'Convolution28_quant');
    const { r, k } = await page.evaluate((n) => { const h = (window as unknown as { __qlGraph: Hook }).__qlGraph; return { r: h.nodeClientRect(n)!, k: h.viewport().k }; }, target);
    const px = (x: number, y: number): Promise<number[]> => canvasPixel(page, x, y);
    const want = await cssColour(page, '--ql-prec-int8', '#3794ff');
    // Badge box: world (x - 6, y - 9.5) size 34 × 15; its left edge at x - 6, a text-free spot inside near its bottom-left.
    const edge = await px(r.x - 6 * k, r.y - 2 * k);
    const inside = await px(r.x - 3 * k, r.y + 3 * k);
    const close = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - b[i]) <= 40);
    assert.ok(close(edge, want), `outline ${edge} in ${want}`);
    assert.ok(!close(inside, want), `inside ${inside} not filled`);
    // The hover card says it.
    await page.mouse.move(r.x + r.w / 2, r.y + r.h / 2);
    await page.waitForSelector('[data-testid="tooltip-actual"]');
    assert.equal(await page.textContent('[data-testid="tooltip-actual"] [data-metric="actual"]'), 'Actualuint8 (in the model)');
    assert.deepEqual(await cspViolations(page), []);
    await page.close();
  });

  test('float16 MNIST shows fp16 on its half-precision ops; the float model shows none', async () => {
    const half = await openModelFile(sharedModel('onnx', 'mnist', 'mnist-12-float16.onnx'));
    const hv = buildGraphView(half);
    let page = await openGraph(half, 'mnist-12-float16.onnx', hv);
    const conv = hv.nodes.find((n) => n.opType === 'Conv')!;
    assert.equal(await actualOf(page, conv.id), 'f16');
    assert.equal(await row(page, conv.name).getAttribute('aria-label'), `${conv.name}, Conv, actual fp16`);
    // The Cast from the float32 graph input is not half precision.
    assert.equal(await actualOf(page, hv.nodes.find((n) => n.name === 'graph_input_cast0')!.id), null);
    assert.equal((await legendRows(page))[0]?.split(':')[0], 'fp16');
    await page.close();

    const float = await openModelFile(SAMPLE_MODEL);
    const fv = buildGraphView(float);
    page = await openGraph(float, 'mnist-12.onnx', fv);
    const none = await page.evaluate((ids) => ids.filter((n) => (window as unknown as { __qlGraph: Hook }).__qlGraph.itemDecor(n)?.actual), fv.nodes.map((n) => n.id));
    assert.deepEqual(none, []);
    assert.ok(await page.isHidden('[data-testid="actual-legend"]'));
    const labels = await page.$$eval('[data-testid="graph-outline"] [role="treeitem"]', (els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    assert.ok(labels.length > 5 && labels.every((l) => !l.includes('actual')), labels.join(' | '));
    await page.close();
  });

  test('a QDQ node unit runs in its DequantizeLinear\'s type; an op after a lone DequantizeLinear runs in float', () => {
    // x(float) → Q → DQ → Conv(w = DQ(int8 const)) → Q → DQ → Relu → output
    const t = (name: string, dtype: string, producer: number, constant = false) => ({ name, dtype, shape: null, constant, producer });
    const n = (id: number, opType: string, inputs: number[], outputs: number[]) => ({ id, name: `n${id}`, opType, domain: '', kind: 'op' as const, group: 0, inputs, outputs, attrs: [] });
    const view = {
      graphName: 'qdq', opCount: 7, edges: [], groups: [{ id: 0, label: '', path: '', parent: -1, depth: 0, synthetic: false, groups: [], nodes: [0, 1, 2, 3, 4, 5, 6], size: 7, opMix: [] }],
      tensors: [t('x', 'float32', -1), t('xq', 'int8', 0), t('xdq', 'float32', 1), t('w', 'int8', -1, true), t('wdq', 'float32', 2), t('y', 'float32', 3), t('yq', 'int8', 4), t('ydq', 'float32', 5), t('z', 'float32', 6)],
      nodes: [n(0, 'QuantizeLinear', [0], [1]), n(1, 'DequantizeLinear', [1], [2]), n(2, 'DequantizeLinear', [3], [4]), n(3, 'Conv', [2, 4], [5]), n(4, 'QuantizeLinear', [5], [6]), n(5, 'DequantizeLinear', [6], [7]), n(6, 'Relu', [7], [8])],
    } as unknown as GraphView;
    assert.deepEqual(actualPrecisions(view), ['int8', 'int8', 'int8', 'int8', 'int8', 'int8', undefined]);
  });
});
