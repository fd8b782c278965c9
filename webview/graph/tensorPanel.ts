/**
 * Properties-panel sections for tensors: a constant's statistics and histogram and a paged view of
 * its values (fetched from the host on demand, one tensor at a time), and quantization parameters
 * (per-channel as a summary plus a chart). Charts are canvases in the theme's colours, each with a
 * text alternative: an aria-label and a table behind a disclosure.
 */
import type { GvQuant, GvTensor, TensorStats, TensorValuesPage } from '../../src/protocol';
import { h } from '../dom';
import { formatShape } from '../summaryView';
import type { RequestFn } from './rpc';

/** Values per page of the value view (the host caps a request at MAX_VALUES_PAGE). */
export const VALUES_PAGE = 100;

export function fmt(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? x.toExponential(4) : String(Number(x.toPrecision(6)));
}

function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Draws bars (heights relative to the largest) on a canvas sized in CSS pixels. */
function barChart(values: readonly number[], label: string, testId: string, log = false): HTMLCanvasElement {
  const canvas = h('canvas', { role: 'img', 'aria-label': label, 'data-testid': testId, class: 'qlg-chart' });
  const w = 280, hh = 72;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hh * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hh}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx || values.length === 0) return canvas;
  ctx.scale(dpr, dpr);
  const f = (v: number): number => (log ? Math.log1p(Math.max(0, v)) : Math.max(0, v));
  const top = Math.max(...values.map(f)) || 1;
  const bw = w / values.length;
  ctx.fillStyle = themeColour('--vscode-charts-blue', '#3794ff');
  values.forEach((v, i) => {
    const bh = (f(v) / top) * (hh - 2);
    if (bh > 0) ctx.fillRect(i * bw, hh - bh, Math.max(1, bw - (bw > 3 ? 1 : 0)), Math.max(1, bh));
  });
  ctx.fillStyle = themeColour('--vscode-descriptionForeground', '#999999');
  ctx.fillRect(0, hh - 1, w, 1);
  return canvas;
}

function textTable(caption: string, head: [string, string], rows: [string, string][], testId: string, cap = 256): HTMLElement {
  const shown = rows.slice(0, cap);
  return h('details', { class: 'qlg-alt' },
    h('summary', {}, caption),
    h('table', { 'data-testid': testId },
      h('thead', {}, h('tr', {}, h('th', {}, head[0]), h('th', {}, head[1]))),
      h('tbody', {}, ...shown.map(([a, b]) => h('tr', {}, h('td', { class: 'qlg-mono' }, a), h('td', { class: 'qlg-mono' }, b))))),
    rows.length > cap ? h('p', { class: 'qlg-muted' }, `First ${cap} of ${rows.length} shown.`) : null);
}

// ---- quantization -----------------------------------------------------------------------------

/** Scale and zero point of one tensor; per-channel as count, ranges and a chart of the scales. */
export function renderQuant(t: GvTensor, q: GvQuant): HTMLElement {
  const type = q.type ? ` · ${q.type}` : '';
  const el = h('div', { class: 'qlg-quant', 'data-testid': 'quant-param', 'data-name': t.name, 'data-channels': q.scale.length },
    h('div', { class: 'qlg-mono' }, t.name, h('span', { class: 'qlg-muted' }, ` (${q.origin}${type}${t.folded ? ', folded' : ''})`)));
  if (q.scale.length === 1) {
    el.append(h('dl', { class: 'qlg-stats' },
      h('dt', {}, 'scale'), h('dd', { 'data-stat': 'scale' }, fmt(q.scale[0])),
      h('dt', {}, 'zero point'), h('dd', { 'data-stat': 'zero-point' }, fmt(q.zeroPoint[0] ?? 0))));
    return el;
  }
  let lo = Infinity, hi = -Infinity, zlo = Infinity, zhi = -Infinity;
  for (const s of q.scale) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
  for (const z of q.zeroPoint) { zlo = Math.min(zlo, z); zhi = Math.max(zhi, z); }
  if (q.zeroPoint.length === 0) zlo = zhi = 0;
  el.append(
    h('dl', { class: 'qlg-stats' },
      h('dt', {}, 'channels'), h('dd', { 'data-stat': 'channels' }, String(q.scale.length)),
      h('dt', {}, 'axis'), h('dd', { 'data-stat': 'axis' }, q.axis === undefined ? '—' : String(q.axis)),
      h('dt', {}, 'scale min'), h('dd', { 'data-stat': 'scale-min' }, fmt(lo)),
      h('dt', {}, 'scale max'), h('dd', { 'data-stat': 'scale-max' }, fmt(hi)),
      h('dt', {}, 'zero point'), h('dd', { 'data-stat': 'zero-point' }, zlo === zhi ? fmt(zlo) : `${fmt(zlo)} … ${fmt(zhi)}`)),
    barChart(q.scale, `Per-channel scales of ${t.name}: ${q.scale.length} channels, from ${fmt(lo)} to ${fmt(hi)}.`, 'quant-chart'),
    textTable('Scales as text', ['channel', 'scale'], q.scale.map((s, i) => [String(i), fmt(s)]), 'quant-table'),
  );
  return el;
}

// ---- constants: statistics, histogram, values ----------------------------------------------------

/**
 * One constant input of the selected node: dtype and shape at once; statistics, histogram and
 * values fetched when the section is opened (it starts open for the node's first constant).
 */
export function renderConstant(t: GvTensor, request: RequestFn | undefined, open: boolean): HTMLElement {
  const body = h('div', { class: 'qlg-const-body' });
  const details = h('details', { class: 'qlg-const', 'data-testid': 'tensor-detail', 'data-name': t.name, open },
    h('summary', {}, h('span', { class: 'qlg-mono' }, t.name), ' ',
      h('span', { class: 'qlg-muted', 'data-testid': 'tensor-type' }, `${t.dtype}${formatShape(t.shape)}`)),
    body);
  let loaded = false;
  const load = (): void => {
    if (loaded || !details.open) return;
    loaded = true;
    // Computed by a folded constant-only node: its values exist only when the model runs it.
    const by = t.computedBy;
    if (by) {
      body.append(h('p', { class: 'qlg-muted', 'data-testid': 'tensor-computed-by' }, `Computed by ${by.opType} node `, h('span', { class: 'qlg-mono' }, by.name), ', folded into this node.'));
      if (by.attrs.length) body.append(h('table', {}, h('tbody', {}, ...by.attrs.map((a) => h('tr', { 'data-name': a.name }, h('td', { class: 'qlg-mono' }, a.name), h('td', { class: 'qlg-mono' }, a.value))))));
      return;
    }
    if (!request) {
      body.append(h('p', { class: 'qlg-muted' }, 'Statistics are not available here.'));
      return;
    }
    body.append(statsSection(t, request), valuesSection(t, request));
  };
  details.addEventListener('toggle', load);
  // Opened ones load as soon as they are in the document (the caller appends synchronously).
  if (open) queueMicrotask(load);
  return details;
}

function errorBox(e: unknown): HTMLElement {
  return h('p', { role: 'alert', class: 'qlg-error', 'data-testid': 'tensor-error' }, e instanceof Error ? e.message : String(e));
}

function statsSection(t: GvTensor, request: RequestFn): HTMLElement {
  const el = h('div', { 'data-testid': 'tensor-stats', 'data-state': 'loading', 'aria-busy': 'true' }, h('p', { class: 'qlg-muted' }, 'Computing statistics…'));
  request('tensorStats', { tensor: t.name }).then((s: TensorStats) => {
    el.dataset.state = 'ready';
    el.removeAttribute('aria-busy');
    const row = (label: string, key: string, v: string): HTMLElement[] => [h('dt', {}, label), h('dd', { 'data-stat': key, class: 'qlg-mono' }, v)];
    const uniq = s.uniqueCapped ? `> ${s.uniqueCount.toLocaleString('en-US')}` : s.uniqueCount.toLocaleString('en-US');
    const hist = s.histogram;
    const width = hist.counts.length ? (hist.max - hist.min) / hist.counts.length : 0;
    const bins: [string, string][] = hist.counts.map((c, i) => [`${fmt(hist.min + i * width)} … ${fmt(hist.min + (i + 1) * width)}`, String(c)]);
    let peak = 0;
    hist.counts.forEach((c, i) => { if (c > hist.counts[peak]) peak = i; });
    const label = `Histogram of ${s.count.toLocaleString('en-US')} values from ${fmt(hist.min)} to ${fmt(hist.max)} in ${hist.counts.length} bins` +
      (hist.counts.length ? `; the fullest bin, ${bins[peak][0]}, holds ${hist.counts[peak].toLocaleString('en-US')}.` : '.');
    el.replaceChildren(
      h('dl', { class: 'qlg-stats' },
        ...row('elements', 'count', s.count.toLocaleString('en-US')),
        ...row('min', 'min', fmt(s.min)),
        ...row('max', 'max', fmt(s.max)),
        ...row('mean', 'mean', fmt(s.mean)),
        ...row('std', 'std', fmt(s.std)),
        ...row('sparsity', 'sparsity', `${(s.sparsity * 100).toFixed(2)} %`),
        ...row('unique', 'unique', uniq),
        ...(s.nanCount || s.infCount ? row('NaN / ∞', 'nonfinite', `${s.nanCount} / ${s.infCount}`) : []),
      ),
      barChart(hist.counts, label, 'tensor-histogram', true),
      textTable('Histogram as text', ['range', 'count'], bins, 'tensor-histogram-table'),
    );
  }, (e: unknown) => {
    el.dataset.state = 'error';
    el.removeAttribute('aria-busy');
    el.replaceChildren(errorBox(e));
  });
  return el;
}

function valuesSection(t: GvTensor, request: RequestFn): HTMLElement {
  const list = h('ol', { class: 'qlg-values qlg-mono', 'data-testid': 'values-list' });
  const range = h('span', { class: 'qlg-muted', 'data-testid': 'values-range', 'aria-live': 'polite' }, 'Loading values…');
  const prev = h('button', { type: 'button', class: 'qlg-btn', 'data-testid': 'values-prev', 'aria-label': 'Previous values' }, h('span', { class: 'codicon codicon-chevron-left', 'aria-hidden': 'true' }));
  const next = h('button', { type: 'button', class: 'qlg-btn', 'data-testid': 'values-next', 'aria-label': 'Next values' }, h('span', { class: 'codicon codicon-chevron-right', 'aria-hidden': 'true' }));
  const region = h('div', { role: 'region', 'aria-label': `Values of ${t.name}`, tabindex: 0, class: 'qlg-values-region', 'data-testid': 'tensor-values', 'data-state': 'loading' },
    h('div', { class: 'qlg-pager' }, prev, range, next), list);
  let start = 0;
  let total = -1;
  let seq = 0;
  const go = (to: number): void => {
    if (total >= 0) to = Math.max(0, Math.min(to, Math.max(0, total - 1)));
    to -= to % VALUES_PAGE;
    const mine = ++seq;
    region.dataset.state = 'loading';
    request('tensorValues', { tensor: t.name, start: to, count: VALUES_PAGE }).then((p: TensorValuesPage) => {
      if (mine !== seq) return; // a newer page was asked for meanwhile
      start = p.start;
      total = p.total;
      const vals = p.values;
      list.start = start;
      list.replaceChildren(...Array.from(vals, (v, i) => h('li', { value: start + i, 'data-index': start + i }, fmt(v))));
      range.textContent = total === 0 ? 'No values' : `${(start + 1).toLocaleString('en-US')}–${(start + vals.length).toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`;
      prev.disabled = start <= 0;
      next.disabled = start + vals.length >= total;
      region.dataset.state = 'ready';
      region.dataset.start = String(start);
    }, (e: unknown) => {
      if (mine !== seq) return;
      region.dataset.state = 'error';
      range.textContent = '';
      list.replaceChildren(errorBox(e));
    });
  };
  prev.addEventListener('click', () => go(start - VALUES_PAGE));
  next.addEventListener('click', () => go(start + VALUES_PAGE));
  region.addEventListener('keydown', (ev) => {
    if (ev.target !== region) return;
    switch (ev.key) {
      case 'PageDown': case 'ArrowRight': go(start + VALUES_PAGE); break;
      case 'PageUp': case 'ArrowLeft': go(start - VALUES_PAGE); break;
      case 'Home': go(0); break;
      case 'End': if (total > 0) go(total - 1); break;
      default: return;
    }
    ev.preventDefault();
  });
  go(0);
  return region;
}
