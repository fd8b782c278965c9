/**
 * The properties panel: a group's size and op mix, or a node's attributes, inputs and outputs
 * (dtype, shape, quantization), its quantization parameters and its constants (statistics and
 * values fetched from the host on request). Model strings go in as text.
 */
import type { GraphView, GvTensor } from '../../src/protocol';
import { h } from '../dom';
import { formatShape } from '../summaryView';
import type { RequestFn } from './rpc';
import { renderConstant, renderQuant } from './tensorPanel';

export type Selection = { kind: 'node' | 'group'; id: number } | null;

function shapeText(t: GvTensor): string {
  return formatShape(t.shape);
}

export function renderProperties(props: HTMLElement, g: GraphView, s: Selection, request: RequestFn | undefined): void {
  if (!s) {
    props.replaceChildren(h('p', { class: 'qlg-muted' }, 'Select a node to see its properties.'));
    return;
  }
  if (s.kind === 'group') {
    const grp = g.groups[s.id];
    props.replaceChildren(
      h('h2', { 'data-testid': 'prop-name' }, grp.label),
      h('div', { class: 'qlg-mono qlg-muted', 'data-testid': 'prop-scope' }, grp.synthetic ? `${g.groups[grp.parent]?.path || '/'} (part)` : grp.path || '/'),
      h('div', { 'data-testid': 'prop-op' }, `Group · ${grp.size} nodes`),
      h('h3', {}, 'Operators'),
      h('table', { 'data-testid': 'prop-opmix' }, h('tbody', {}, ...grp.opMix.map(([op, n]) => h('tr', { 'data-name': op }, h('td', { class: 'qlg-mono' }, op), h('td', {}, String(n)))))),
    );
    return;
  }
  const node = g.nodes[s.id];
  const tensorRows = (ids: number[]): HTMLElement =>
    h('tbody', {}, ...ids.map((t) => {
      if (t < 0) return h('tr', { 'data-testid': 'prop-tensor', 'data-name': '' }, h('td', { class: 'qlg-muted' }, '(omitted)'), h('td', {}), h('td', {}));
      const x = g.tensors[t];
      return h('tr', { 'data-testid': 'prop-tensor', 'data-name': x.name, 'data-dtype': x.dtype, 'data-shape': shapeText(x), 'data-constant': x.constant ? 'true' : 'false' },
        h('td', { class: 'qlg-mono' }, x.name, x.constant ? h('span', { class: 'qlg-muted' }, x.computedBy ? ` (${x.computedBy.opType})` : ' (const)') : null),
        h('td', {}, x.dtype),
        h('td', { class: 'qlg-mono' }, shapeText(x), x.quant ? h('div', { class: 'qlg-muted' }, x.quant) : null));
    }));
  const tensorsOf = [...new Set([...node.inputs, ...node.outputs].filter((t) => t >= 0))];
  const quantized = tensorsOf.filter((t) => g.tensors[t].q);
  // Only real data can be fetched: declared-but-empty constants still show their type above.
  const constants = [...new Set(node.inputs.filter((t) => t >= 0 && g.tensors[t].constant))];
  // The biggest constant (the weight, not a scale or zero point) opens and loads at once.
  const elements = (t: number): number => (g.tensors[t].shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
  const biggest = constants.reduce((best, t) => (best < 0 || elements(t) > elements(best) ? t : best), -1);
  props.replaceChildren(h('div', {},
    h('h2', { 'data-testid': 'prop-name' }, node.name),
    h('div', { 'data-testid': 'prop-op' }, node.kind === 'op' ? node.opType + (node.domain ? ` · ${node.domain}` : '') : node.kind === 'input' ? 'Graph input' : 'Graph output'),
    h('div', { class: 'qlg-mono qlg-muted', 'data-testid': 'prop-scope' }, g.groups[node.group].path || '/'),
    node.attrs.length ? h('h3', {}, 'Attributes') : null,
    node.attrs.length ? h('table', { 'data-testid': 'prop-attrs' }, h('tbody', {}, ...node.attrs.map((a) =>
      h('tr', { 'data-name': a.name, 'data-value': a.value }, h('td', { class: 'qlg-mono' }, a.name), h('td', { class: 'qlg-mono' }, a.value))))) : null,
    node.inputs.length ? h('h3', {}, 'Inputs') : null,
    node.inputs.length ? h('table', { 'data-testid': 'prop-inputs' }, tensorRows(node.inputs)) : null,
    node.outputs.length ? h('h3', {}, 'Outputs') : null,
    node.outputs.length ? h('table', { 'data-testid': 'prop-outputs' }, tensorRows(node.outputs)) : null,
    quantized.length ? h('h3', {}, 'Quantization') : null,
    quantized.length ? h('div', { 'data-testid': 'prop-quant' }, ...quantized.map((t) => renderQuant(g.tensors[t], g.tensors[t].q!))) : null,
    constants.length ? h('h3', {}, 'Constants') : null,
    constants.length ? h('div', { 'data-testid': 'prop-constants' }, ...constants.map((t) => renderConstant(g.tensors[t], request, t === biggest))) : null,
  ));
}

/** The panel itself: its element, and the content for a selection with the node's precision control under the op line. */
export class PropertiesPanel {
  readonly element: HTMLElement = h('section', { class: 'qlg-props', 'aria-label': 'Properties', 'data-testid': 'graph-properties' },
    h('p', { class: 'qlg-muted' }, 'Select a node to see its properties.'));

  constructor(private readonly g: GraphView, private readonly request: RequestFn | undefined) {}

  show(s: Selection, control: HTMLElement | null): void {
    renderProperties(this.element, this.g, s, this.request);
    if (control) this.element.querySelector('[data-testid="prop-op"]')?.after(control);
  }
}
