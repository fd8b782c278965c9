/**
 * The legend over the canvas: planned precision (the document's marks: filled swatches, counts,
 * marks on nodes this model lacks), actual precision (what an already quantized model runs in:
 * outlined swatches, counts) and the results overlay's scale (overlay.ts). Hidden when empty.
 */
import { h } from '../dom';
import { ACTUAL_BADGE, ACTUAL_COLOUR_KEY } from './actualPrecision';
import { BADGE_TEXT, PRECISIONS, type BadgeColours, type Precision } from './precision';

export class GraphLegend {
  readonly element: HTMLElement;
  private readonly planned: HTMLElement;
  private readonly actual: HTMLElement;

  constructor(private readonly overlay: HTMLElement) {
    this.planned = h('div', { class: 'qlg-legend-part', 'data-testid': 'marks-legend', hidden: true });
    this.actual = h('div', { class: 'qlg-legend-part', 'data-testid': 'actual-legend', hidden: true });
    this.element = h('div', { class: 'qlg-legend', 'aria-label': 'Legend', role: 'group', 'data-testid': 'graph-legend', hidden: true }, this.actual, this.planned, overlay);
  }

  /** Planned precision: one row per precision marked, and the marks on nodes this model lacks. */
  showPlanned(mark: Int8Array, unknown: string[], c: BadgeColours): void {
    const counts = new Map<Precision, number>();
    for (const m of mark) if (m >= 0) counts.set(PRECISIONS[m], (counts.get(PRECISIONS[m]) ?? 0) + 1);
    const rows: HTMLElement[] = PRECISIONS.filter((p) => counts.has(p)).map((p) => {
      const sw = h('span', { class: 'qlg-swatch', 'aria-hidden': 'true' }, BADGE_TEXT[p]);
      sw.style.background = c.bg[p];
      sw.style.color = c.fg[p];
      return h('div', { class: 'qlg-legend-row', 'data-precision': p, 'data-count': counts.get(p) }, sw, ` ${p} × ${counts.get(p)}`);
    });
    if (unknown.length) {
      const shown = unknown.slice(0, 40).join('\n') + (unknown.length > 40 ? `\n… and ${unknown.length - 40} more` : '');
      rows.push(h('div', { class: 'qlg-legend-row qlg-legend-missing', 'data-testid': 'marks-missing', 'data-count': unknown.length, title: `Marked, but not in this model:\n${shown}`, tabindex: 0 },
        `${unknown.length} mark${unknown.length === 1 ? '' : 's'} on missing nodes`));
    }
    this.planned.replaceChildren(...(rows.length ? [h('div', { class: 'qlg-legend-title' }, 'Planned precision (marks)'), ...rows] : []));
    this.planned.hidden = !rows.length;
    this.updateVisibility();
  }

  /** Actual precision: one row per precision the model's nodes run in. */
  showActual(actual: readonly (string | undefined)[], c: BadgeColours): void {
    const counts = new Map<string, number>();
    for (const a of actual) if (a) counts.set(a, (counts.get(a) ?? 0) + 1);
    const rows = [...counts].sort((a, b) => b[1] - a[1]).map(([p, n]) => {
      const sw = h('span', { class: 'qlg-swatch qlg-swatch-actual', 'aria-hidden': 'true' }, ACTUAL_BADGE[p] ?? p);
      sw.style.borderColor = c.bg[ACTUAL_COLOUR_KEY[p] ?? 'skip'];
      return h('div', { class: 'qlg-legend-row', 'data-precision': p, 'data-count': n }, sw, ` ${p} × ${n}`);
    });
    this.actual.replaceChildren(...(rows.length ? [h('div', { class: 'qlg-legend-title' }, 'Actual precision (in the model)'), ...rows] : []));
    this.actual.hidden = !rows.length;
    this.updateVisibility();
  }

  /** Shown while any part has something to say (the overlay part hides itself). */
  updateVisibility(): void {
    this.element.hidden = this.planned.hidden && this.actual.hidden && this.overlay.hidden;
  }
}
