/**
 * The selected layer's section: histograms of its float weights and of its output activations over
 * the calibration samples, with the quantizer's grid lines and clipping range drawn over them, and
 * the share of values each grid clips (the activation's saturation share).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ClipShare, HistogramBins, LayerHistogramsMessage, QuantGrid } from '../../src/protocol';
import { h } from '../dom';
import { chartConfig, type Theme } from './specs';

/** One histogram as bars (a symlog count axis keeps the tails visible), the grid's levels and its clipping range as rules. */
export function histogramSpec(title: string, bins: HistogramBins, grid: QuantGrid | undefined, width: number, t: Theme): TopLevelSpec {
  const values = bins.counts.map((count, i) => ({ x0: bins.start + i * bins.width, x1: bins.start + (i + 1) * bins.width, count }));
  const x = { field: 'x0', type: 'quantitative', title: 'value', scale: { zero: false, nice: false } } as const;
  const layer: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [
    {
      data: { values },
      mark: { type: 'bar', color: t.bar },
      encoding: { x, x2: { field: 'x1' }, y: { field: 'count', type: 'quantitative', title: 'values', scale: { type: 'symlog' } }, y2: { datum: 0 }, tooltip: [{ field: 'x0', title: 'from', format: '.4~g' }, { field: 'x1', title: 'to', format: '.4~g' }, { field: 'count' }] },
    },
  ];
  if (grid?.lines.length) {
    layer.push({ data: { values: grid.lines.map((v) => ({ level: v })) }, mark: { type: 'rule', color: t.muted, opacity: 0.35 }, encoding: { x: { field: 'level', type: 'quantitative' } } });
  }
  if (grid) {
    layer.push({
      data: { values: [{ edge: 'clipping range low', at: grid.low }, { edge: 'clipping range high', at: grid.high }] },
      mark: { type: 'rule', color: t.alt, strokeWidth: 2, strokeDash: [4, 3] },
      encoding: { x: { field: 'at', type: 'quantitative' }, tooltip: [{ field: 'edge' }, { field: 'at', format: '.4~g' }] },
    });
  }
  return { config: chartConfig(t), title, width, height: 120, layer };
}

const pct = (s: ClipShare | undefined): string => (s && Number.isFinite(s.share) ? `${(100 * s.share).toPrecision(3)} %` : '—');

function gridText(g: QuantGrid | undefined): string {
  if (!g) return 'no quantizer of its own';
  const scale = g.scales.length === 1 ? `scale ${g.scales[0]!.toPrecision(4)}, zero point ${g.zeroPoints[0]}` : `${g.scales.length} per-channel scales (axis ${g.axis}), ${g.stepMin.toPrecision(3)}–${g.step.toPrecision(3)}`;
  return `${g.dtype} [${g.qmin}, ${g.qmax}], ${scale}; clipping range [${g.low.toPrecision(4)}, ${g.high.toPrecision(4)}]`;
}

/** The section for `msg` (computing, failed, or the histograms); charts to draw are pushed on `draws`. */
export function layerDetailSection(msg: LayerHistogramsMessage, width: number, t: Theme, draws: Array<[HTMLElement, TopLevelSpec]>): HTMLElement {
  const body: Array<Node | string> = [];
  const hist = msg.histograms;
  if (msg.running) body.push(h('p', { class: 'ql-muted', 'data-testid': 'results-detail-status' }, `Computing the histograms of ${msg.node}…`));
  else if (msg.error || !hist) body.push(h('p', { class: 'ql-muted', 'data-testid': 'results-detail-status' }, msg.error ?? `No histograms for ${msg.node}.`));
  else {
    const a = hist.activation;
    body.push(h('p', {}, `${hist.opType}, ${hist.quantized ? 'quantized' : 'not quantized'}; grids from ${hist.gridSource === 'recipe' ? 'the quantization QuantLens runs (the marks, else static int8)' : 'the quantized model'}; ${a.samples} samples of ${hist.data}.`));
    body.push(h('p', { 'data-testid': 'results-saturation' }, `Saturation: ${pct(a.saturation)} of the output values fall outside its quantizer's range${a.evaluation ? ` (${pct(a.evaluation)} on ${a.evaluation.data})` : ''}.`));
    // Biases are stored on int32 grids far wider than their values: a line of text says what matters.
    for (const w of hist.weights.filter((x) => x.input === 2)) body.push(h('p', { class: 'ql-muted' }, `Bias ${w.tensor}: ${gridText(w.grid)}; clipped ${pct(w.clipped)}.`));
    for (const w of hist.weights.filter((x) => x.input !== 2)) {
      const box = h('div', { class: 'ql-chart', 'data-testid': 'results-weight-histogram', role: 'figure', 'aria-label': `Histogram of ${w.tensor}` });
      draws.push([box, histogramSpec(`Weights ${w.tensor} [${w.shape.join('×')}]`, w.histogram, w.grid, width, t)]);
      body.push(box, h('p', { class: 'ql-muted' }, `${gridText(w.grid)}; clipped ${pct(w.clipped)}.`));
    }
    const box = h('div', { class: 'ql-chart', 'data-testid': 'results-activation-histogram', role: 'figure', 'aria-label': `Histogram of ${a.tensor}` });
    draws.push([box, histogramSpec(`Activations ${a.tensor}`, a.histogram, a.grid, width, t)]);
    body.push(box, h('p', { class: 'ql-muted' }, `${gridText(a.grid)}${a.calibrated ? `; calibrated (${a.calibrated.method}) [${a.calibrated.min.toPrecision(4)}, ${a.calibrated.max.toPrecision(4)}]` : ''}.`));
    for (const n of hist.notes) body.push(h('p', { class: 'ql-muted' }, n));
  }
  return h('section', { class: 'ql-results-section', 'data-testid': 'results-detail', 'data-node': msg.node, 'aria-label': `Selected layer ${msg.node}` }, h('h2', {}, `Selected layer: ${msg.node}`), ...body);
}
