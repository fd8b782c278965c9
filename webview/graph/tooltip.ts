/**
 * The hover card of the graph canvas: what a node is (op type, name), what flows in and out (tensor
 * names, types, shapes) and its quantization parameters. The card is a list of sections, each a
 * function of the node: precision marks and sensitivity results add their own section later
 * (`addSection`) instead of editing this one. Everything from the model goes in as text.
 */
import type { GraphView, GvNode, GvTensor } from '../../src/protocol';
import { h } from '../dom';
import { formatShape } from '../summaryView';
import { fmt } from './tensorPanel';

/** One section of the card, or null when it has nothing to say about this node. */
export type TooltipSection = (view: GraphView, node: GvNode) => HTMLElement | null;

function quantText(t: GvTensor): string | null {
  const q = t.q;
  if (!q) return t.quant ?? null;
  const type = q.type ? `${q.type} ` : '';
  if (q.scale.length === 1) return `${type}scale ${fmt(q.scale[0])} · zero point ${q.zeroPoint[0] ?? 0}`;
  return `${type}per-channel (${q.scale.length})${q.axis !== undefined ? ` axis ${q.axis}` : ''} · scale ${fmt(Math.min(...q.scale))}…${fmt(Math.max(...q.scale))}`;
}

function tensorRows(view: GraphView, ids: number[], testId: string): HTMLElement | null {
  const rows = ids.filter((t) => t >= 0).map((t) => {
    const x = view.tensors[t];
    const note = x.computedBy ? ` (${x.computedBy.opType})` : x.constant ? ' (const)' : '';
    return h('tr', { 'data-name': x.name, 'data-type': `${x.dtype}${formatShape(x.shape)}` },
      h('td', { class: 'qlg-mono' }, x.name, h('span', { class: 'qlg-muted' }, note)),
      h('td', { class: 'qlg-mono' }, `${x.dtype}${formatShape(x.shape)}`));
  });
  return rows.length ? h('table', { 'data-testid': testId }, h('tbody', {}, ...rows)) : null;
}

const identity: TooltipSection = (_view, node) =>
  h('div', { class: 'qlg-tip-head' },
    h('strong', { 'data-testid': 'tooltip-op' }, node.kind === 'op' ? node.opType : node.kind === 'input' ? 'Graph input' : 'Graph output'),
    node.keyAttrs ? h('span', { class: 'qlg-muted' }, ` ${node.keyAttrs}`) : null,
    h('div', { class: 'qlg-mono', 'data-testid': 'tooltip-name' }, node.name));

const tensors: TooltipSection = (view, node) => {
  const ins = tensorRows(view, node.inputs, 'tooltip-inputs');
  const outs = tensorRows(view, node.outputs, 'tooltip-outputs');
  if (!ins && !outs) return null;
  return h('div', {}, ins ? h('div', { class: 'qlg-tip-title' }, 'Inputs') : null, ins, outs ? h('div', { class: 'qlg-tip-title' }, 'Outputs') : null, outs);
};

const quantization: TooltipSection = (view, node) => {
  const seen = new Set<number>();
  const rows: HTMLElement[] = [];
  for (const t of [...node.inputs, ...node.outputs]) {
    if (t < 0 || seen.has(t)) continue;
    seen.add(t);
    const text = quantText(view.tensors[t]);
    if (text) rows.push(h('tr', { 'data-name': view.tensors[t].name }, h('td', { class: 'qlg-mono' }, view.tensors[t].name), h('td', {}, text)));
  }
  return rows.length ? h('div', {}, h('div', { class: 'qlg-tip-title' }, 'Quantization'), h('table', { 'data-testid': 'tooltip-quant' }, h('tbody', {}, ...rows))) : null;
};

export class NodeTooltip {
  readonly element: HTMLElement;
  private readonly sections: TooltipSection[] = [identity, tensors, quantization];
  private timer: number | undefined;
  /** The node shown (or about to be), -1 for none. */
  private node = -1;

  constructor(private readonly view: GraphView, private readonly delayMs = 250) {
    this.element = h('div', { class: 'qlg-tooltip', role: 'tooltip', id: 'qlg-tooltip', 'data-testid': 'graph-tooltip', hidden: true });
  }

  /** Adds a section at the end of the card (precision, sensitivity, ...). */
  addSection(section: TooltipSection): void {
    this.sections.push(section);
  }

  /** Shows the card of `node` near (x, y) in the parent's coordinates after a short rest; -1 hides it. */
  hover(node: number, x: number, y: number, bounds: { w: number; h: number }): void {
    if (node === this.node) return;
    this.hide();
    if (node < 0) return;
    this.node = node;
    this.timer = window.setTimeout(() => this.show(node, x, y, bounds), this.delayMs);
  }

  /** Shows the card of `node` at once (keyboard selection). */
  showNow(node: number, x: number, y: number, bounds: { w: number; h: number }): void {
    this.hide();
    this.node = node;
    this.show(node, x, y, bounds);
  }

  private show(node: number, x: number, y: number, bounds: { w: number; h: number }): void {
    const n = this.view.nodes[node];
    if (!n) return;
    this.element.replaceChildren(...this.sections.map((s) => s(this.view, n)).filter((e): e is HTMLElement => e !== null));
    this.element.dataset.node = String(node);
    this.element.hidden = false;
    // Below-right of the pointer, flipped to stay inside the canvas.
    const r = this.element.getBoundingClientRect();
    const left = x + 14 + r.width > bounds.w ? Math.max(0, x - 14 - r.width) : x + 14;
    const top = y + 18 + r.height > bounds.h ? Math.max(0, y - 8 - r.height) : y + 18;
    this.element.style.left = `${left}px`;
    this.element.style.top = `${top}px`;
  }

  hide(): void {
    clearTimeout(this.timer);
    this.node = -1;
    this.element.hidden = true;
    delete this.element.dataset.node;
  }
}
