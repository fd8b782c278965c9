/**
 * Per-layer results drawn on the graph: results of one run merge by node as they stream in (any
 * order; a new run id starts over), node boxes take a colour-blind-safe sequential colour
 * (viridis) for the chosen metric, oriented so the "worse" end is always the bright yellow end
 * (higher is worse, except SQNR where lower is worse), a legend shows the scale with min and max,
 * and a picker lists the metrics present. Collapsed groups take their worst member's colour.
 */
import { LAYER_METRICS, type LayerMetric, type LayerResultsMessage } from '../../src/protocol';
import { h } from '../dom';
import { fmt } from './tensorPanel';
import { textOn } from './precision';

export const METRIC_TEXT: Record<LayerMetric, string> = {
  sensitivity: 'Sensitivity', sqnrDb: 'SQNR (dB)', mse: 'MSE', saturation: 'Saturation', deltaMetric: 'Δ metric',
};

/** Whether a lower value is worse (SQNR); for the others a higher value is worse. */
export const LOWER_IS_WORSE: Record<LayerMetric, boolean> = { sensitivity: false, sqnrDb: true, mse: false, saturation: false, deltaMetric: false };

// matplotlib's viridis at 9 stops; interpolated into a 256-entry table.
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#fde725'];
const hex = (s: string): number[] => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
export const SCALE: string[] = Array.from({ length: 256 }, (_, i) => {
  const t = (i / 255) * (VIRIDIS.length - 1);
  const a = Math.floor(t);
  const b = Math.min(VIRIDIS.length - 1, a + 1);
  const f = t - a;
  const ca = hex(VIRIDIS[a]);
  const cb = hex(VIRIDIS[b]);
  return '#' + ca.map((v, j) => Math.round(v + (cb[j] - v) * f).toString(16).padStart(2, '0')).join('');
});
export const SCALE_TEXT = SCALE.map(textOn);

/** 0 (best) .. 1 (worst) of value `v` in [min, max] for `metric`. */
export function badness(metric: LayerMetric, v: number, min: number, max: number): number {
  const t = max > min ? (v - min) / (max - min) : 1;
  const c = Math.max(0, Math.min(1, t));
  return LOWER_IS_WORSE[metric] ? 1 - c : c;
}

export class LayerOverlay {
  run: string | undefined;
  source = '';
  done = false;
  /** The metric shown; undefined = overlay off. */
  metric: LayerMetric | undefined;
  /** Whether the user chose the metric (then a run's suggestion does not override it). */
  private chosen = false;
  /** Node id -> its results (this run). */
  readonly values = new Map<number, Partial<Record<LayerMetric, number>>>();
  readonly present = new Set<LayerMetric>();
  min = NaN;
  max = NaN;
  /** Node id -> badness 0..1 for the metric shown, NaN without a value (brought up to date by refresh()). */
  badNode = new Float32Array(0);
  /** Nodes whose values arrived since the last refresh; `allDirty` when every node's badness may have moved. */
  private readonly touched = new Set<number>();
  private allDirty = true;
  /** The metric and range badNode was computed for. */
  private scaleOf = '';
  readonly element: HTMLElement;
  private readonly picker: HTMLSelectElement;
  private readonly minEl: HTMLElement;
  private readonly maxEl: HTMLElement;
  private readonly title: HTMLElement;
  onChange: (() => void) | undefined;

  constructor(private readonly nodeCount: number, private readonly nodeId: (name: string) => number | undefined) {
    this.picker = h('select', { class: 'qlg-select', 'aria-label': 'Overlay metric', 'data-testid': 'overlay-metric' });
    this.picker.addEventListener('change', () => {
      this.metric = (this.picker.value || undefined) as LayerMetric | undefined;
      this.chosen = true;
      this.allDirty = true;
      this.onChange?.();
    });
    const bar = h('canvas', { class: 'qlg-scale', width: 128, height: 10, 'aria-hidden': 'true', 'data-testid': 'overlay-scale' });
    const ctx = bar.getContext('2d');
    if (ctx) SCALE.forEach((c, i) => { ctx.fillStyle = c; ctx.fillRect(i / 2, 0, 1, 10); });
    this.minEl = h('span', { 'data-testid': 'overlay-min' });
    this.maxEl = h('span', { 'data-testid': 'overlay-max' });
    this.title = h('div', { class: 'qlg-legend-title', 'data-testid': 'overlay-title' });
    this.element = h('div', { class: 'qlg-legend-part', 'data-testid': 'overlay-legend', hidden: true },
      this.title, this.picker, bar, h('div', { class: 'qlg-scale-ends' }, this.minEl, this.maxEl));
  }

  /** Merges a message; returns whether anything changed. */
  apply(msg: LayerResultsMessage): boolean {
    if (msg.run !== this.run) {
      this.run = msg.run;
      this.values.clear();
      this.present.clear();
      this.done = false;
      this.allDirty = true;
    }
    this.source = msg.source;
    this.done ||= msg.done;
    if (!this.chosen && LAYER_METRICS.includes(msg.metric)) this.metric = msg.metric;
    for (const r of Array.isArray(msg.results) ? msg.results : []) {
      const id = typeof r?.node === 'string' ? this.nodeId(r.node) : undefined;
      if (id === undefined || !r.values || typeof r.values !== 'object') continue;
      const cur = this.values.get(id) ?? {};
      for (const m of LAYER_METRICS) {
        const v = r.values[m];
        if (typeof v === 'number' && Number.isFinite(v)) {
          cur[m] = v;
          this.present.add(m);
        }
      }
      this.values.set(id, cur);
      this.touched.add(id);
    }
    return true;
  }

  /**
   * Brings the range, the legend and the per-node badness up to date; returns the nodes whose
   * badness changed, or 'all' when the metric or the range moved (every colour is relative to them).
   */
  refresh(): Iterable<number> | 'all' {
    const m = this.metric && this.present.has(this.metric) ? this.metric : [...this.present][0];
    if (!this.chosen || !this.present.has(this.metric!)) this.metric = m;
    let min = Infinity;
    let max = -Infinity;
    if (m) for (const v of this.values.values()) {
      const x = v[m];
      if (x === undefined) continue;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    this.min = min;
    this.max = max;
    const scale = `${m}|${min}|${max}`;
    const all = this.allDirty || scale !== this.scaleOf || this.badNode.length !== this.nodeCount;
    this.scaleOf = scale;
    this.allDirty = false;
    if (this.badNode.length !== this.nodeCount) this.badNode = new Float32Array(this.nodeCount);
    const changed: Iterable<number> | 'all' = all ? 'all' : [...this.touched];
    this.touched.clear();
    const value = (id: number): number => {
      const x = m && min <= max ? this.values.get(id)?.[m] : undefined;
      return x !== undefined ? badness(m!, x, min, max) : NaN;
    };
    if (changed === 'all') {
      this.badNode.fill(NaN);
      if (m && min <= max) for (const id of this.values.keys()) this.badNode[id] = value(id);
    } else for (const id of changed) this.badNode[id] = value(id);
    this.renderLegend();
    return changed;
  }

  colourOf(bad: number): string {
    return SCALE[Math.round(bad * 255)];
  }

  textOf(bad: number): string {
    return SCALE_TEXT[Math.round(bad * 255)];
  }

  private renderLegend(): void {
    const m = this.metric;
    this.element.hidden = !m;
    if (!m) return;
    const want = LAYER_METRICS.filter((x) => this.present.has(x));
    if (this.picker.options.length !== want.length || want.some((x, i) => this.picker.options[i].value !== x)) {
      this.picker.replaceChildren(...want.map((x) => h('option', { value: x }, METRIC_TEXT[x])));
    }
    this.picker.value = m;
    const worse = LOWER_IS_WORSE[m] ? 'lower is worse' : 'higher is worse';
    this.title.textContent = `${this.source || 'Results'}: ${this.values.size} layers${this.done ? '' : ' (running…)'} · ${worse}`;
    const lo = LOWER_IS_WORSE[m] ? this.max : this.min;
    const hi = LOWER_IS_WORSE[m] ? this.min : this.max;
    this.minEl.textContent = Number.isFinite(lo) ? `${fmt(lo)} better` : '';
    this.maxEl.textContent = Number.isFinite(hi) ? `worse ${fmt(hi)}` : '';
    this.element.dataset.metric = m;
    this.element.dataset.min = String(this.min);
    this.element.dataset.max = String(this.max);
  }

  /** Tooltip lines: one per metric this node has. */
  lines(node: number): [string, string][] {
    const v = this.values.get(node);
    if (!v) return [];
    return LAYER_METRICS.filter((m) => v[m] !== undefined).map((m) => [METRIC_TEXT[m], fmt(v[m]!)]);
  }
}
