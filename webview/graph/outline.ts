/**
 * The outline: one treeitem per laid-out node or group, drawn like VS Code's own trees (22 px rows,
 * indentation guides, a twistie, a codicon per op kind in the symbol colours, list hover, focus and
 * selection colours from the theme). Names go in as text only.
 */
import type { GraphView, GvNode } from '../../src/protocol';
import { h } from '../dom';
import { ItemKind, type LayoutResult } from './layout';
import { CATEGORY } from './renderer';

/** Codicon and symbol colour per op category (the canvas's colour bands), so both views agree. */
const CATEGORY_ICON: Record<string, string> = {
  blue: 'symbol-method', // Conv, MatMul, Gemm: the layers that carry weights
  purple: 'pulse', // activations
  green: 'symbol-ruler', // normalisation
  orange: 'symbol-numeric', // quantize / dequantize
  yellow: 'symbol-array', // reshapes and the like
  red: 'arrow-small-down', // pooling
};

export function nodeIcon(node: Pick<GvNode, 'kind' | 'opType'>): string {
  if (node.kind === 'input') return 'sign-in';
  if (node.kind === 'output') return 'sign-out';
  return CATEGORY_ICON[CATEGORY[node.opType] ?? ''] ?? 'symbol-misc';
}

function guides(depth: number): HTMLElement {
  const el = h('span', { class: 'qlg-indent', 'aria-hidden': 'true' });
  for (let i = 0; i < depth; i++) el.append(h('span', { class: 'qlg-guide' }));
  return el;
}

/** Builds the outline's rows; returns the tree's content and the treeitems in order. */
export function buildOutline(layout: LayoutResult, view: GraphView): { content: DocumentFragment; items: HTMLElement[] } {
  const containers: HTMLElement[] = [];
  const items: HTMLElement[] = [];
  const content = document.createDocumentFragment();
  layout.items.forEach((it, i) => {
    const parentEl = it.parent < 0 ? content : containers[it.parent];
    let el: HTMLElement;
    if (it.kind === ItemKind.Node) {
      const node = view.nodes[it.id];
      // The leaf is its own row and holds its name as its only text, so it reads (and is found) as the name.
      el = h('div', { role: 'treeitem', class: 'qlg-row qlg-leaf', 'aria-level': it.depth + 1, 'aria-selected': 'false', tabindex: -1, 'data-item': i, 'data-kind': 'node', 'data-id': it.id, 'data-op': node.opType, title: `${node.opType} · ${node.name}` },
        guides(it.depth), h('span', { class: 'qlg-twistie', 'aria-hidden': 'true' }),
        h('span', { class: `codicon codicon-${nodeIcon(node)}`, 'aria-hidden': 'true' }),
        node.name);
    } else {
      const grp = view.groups[it.id];
      const open = it.kind === ItemKind.Frame;
      const row = h('span', { class: 'qlg-row' },
        guides(it.depth),
        h('span', { class: `qlg-twistie codicon codicon-chevron-${open ? 'down' : 'right'}`, 'aria-hidden': 'true', 'data-toggle': 'true' }),
        h('span', { class: `codicon codicon-${grp.synthetic ? 'symbol-structure' : 'symbol-namespace'}`, 'aria-hidden': 'true' }),
        h('span', { class: 'qlg-label' }, grp.label), ' ',
        h('span', { class: 'qlg-muted qlg-desc' }, `${grp.size}`));
      el = h('div', { role: 'treeitem', 'aria-level': it.depth + 1, 'aria-expanded': open ? 'true' : 'false', 'aria-selected': 'false', tabindex: -1, 'data-item': i, 'data-kind': 'group', 'data-id': it.id, 'data-path': grp.path }, row);
      if (open) {
        const kids = h('div', { role: 'group', class: 'qlg-kids' });
        el.append(kids);
        containers[i] = kids;
      }
    }
    parentEl.append(el);
    items.push(el);
  });
  // An open group's rows are skipped while off screen (styles.ts): give each its height until it was drawn once.
  const rows = new Array<number>(layout.items.length).fill(0);
  for (let i = layout.items.length - 1; i >= 0; i--) {
    const p = layout.items[i].parent;
    if (p >= 0) rows[p] += rows[i] + 1;
  }
  containers.forEach((kids, i) => kids.style.setProperty('contain-intrinsic-block-size', `auto ${rows[i] * 22}px`));
  return { content, items };
}
