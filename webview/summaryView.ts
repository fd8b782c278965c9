/** The first view of a model: format, inputs/outputs, node count and the operator histogram. */
import type { IoSummary, ModelSummary } from '../src/protocol';
import { h } from './dom';

const FORMAT_LABEL: Record<ModelSummary['format'], string> = { onnx: 'ONNX', tflite: 'TFLite' };

export function formatShape(shape: IoSummary['shape']): string {
  if (shape === null) return '?';
  return '[' + shape.map((d) => (d === null ? '?' : String(d))).join(',') + ']';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

function ioTable(testId: string, caption: string, rows: IoSummary[]): HTMLElement {
  return h('section', { class: 'ql-section', 'aria-label': caption },
    h('h2', {}, caption),
    h('table', { class: 'ql-table', 'data-testid': testId },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Shape'))),
      h('tbody', {}, ...rows.map((r) => {
        const shape = formatShape(r.shape);
        return h('tr', { 'data-testid': 'io-row', 'data-name': r.name, 'data-dtype': r.dtype, 'data-shape': shape },
          h('td', { class: 'ql-mono' }, r.name), h('td', {}, r.dtype), h('td', { class: 'ql-mono' }, shape));
      })),
    ),
  );
}

/** Style attributes are blocked by the CSP; CSSOM properties are not. */
function bar(fraction: number): HTMLElement {
  const el = h('div', { class: 'ql-bar' });
  el.style.width = `${Math.max(2, Math.round(fraction * 100))}%`;
  return el;
}

function histogram(summary: ModelSummary): HTMLElement {
  const entries = Object.entries(summary.opHistogram).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const max = entries.length ? entries[0][1] : 1;
  return h('section', { class: 'ql-section', 'aria-label': 'Operators' },
    h('h2', {}, `Operators (${entries.length} types)`),
    h('table', { class: 'ql-table ql-hist', 'data-testid': 'op-histogram' },
      h('tbody', {}, ...entries.map(([op, count]) =>
        h('tr', { 'data-testid': 'op-row', 'data-op': op, 'data-count': count },
          h('td', { class: 'ql-mono' }, op),
          h('td', { class: 'ql-num' }, String(count)),
          h('td', { class: 'ql-bar-cell', 'aria-hidden': 'true' }, bar(count / max)),
        ))),
    ),
  );
}

function fact(label: string, value: string, testId?: string): HTMLElement {
  return h('div', { class: 'ql-fact' }, h('dt', {}, label), h('dd', { 'data-testid': testId }, value));
}

/**
 * Tables fit their container whatever the names: fixed layout at full width, long names wrap
 * (anywhere: tensor names have no spaces), so no column is ever pushed out of view. A constructed
 * sheet, as the graph's styles (the CSP allows no inline styles).
 */
const SUMMARY_CSS = `
.ql-table { width: 100%; max-width: 100%; table-layout: fixed; }
.ql-table th, .ql-table td { overflow-wrap: anywhere; }
.ql-table th:nth-child(2), .ql-table td:nth-child(2) { width: 22%; }
.ql-table th:nth-child(3), .ql-table td:nth-child(3) { width: 32%; }
.ql-hist td:nth-child(1) { width: auto; }
.ql-hist td.ql-num { width: 4.5em; }
.ql-hist td.ql-bar-cell { width: 35%; }
`;
let summaryStyles = false;

function installSummaryStyles(): void {
  if (summaryStyles) return;
  summaryStyles = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(SUMMARY_CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

export function renderSummary(fileName: string, summary: ModelSummary): HTMLElement {
  installSummaryStyles();
  const q = summary.quantization;
  const version = summary.format === 'onnx' ? `opset ${summary.opsetOrVersion} · IR ${summary.formatVersion}` : `schema v${summary.formatVersion}`;
  return h('main', { class: 'ql-summary', 'data-testid': 'model-view' },
    h('header', { class: 'ql-header' },
      h('h1', {}, h('span', { class: 'codicon codicon-circuit-board', 'aria-hidden': 'true' }), ' ', fileName),
      h('span', { class: 'ql-badge', 'data-testid': 'model-format' }, FORMAT_LABEL[summary.format]),
      q.scheme !== 'none' ? h('span', { class: 'ql-badge ql-badge-quant', 'data-testid': 'quant-scheme', title: 'Quantization already in the model' }, q.scheme) : null,
    ),
    h('dl', { class: 'ql-facts' },
      fact('Nodes', String(summary.nodeCount), 'node-count'),
      fact('Producer', summary.producer || '—', 'producer'),
      fact('Version', version, 'version'),
      fact('Parameters', summary.parameterCount.toLocaleString('en-US'), 'parameter-count'),
      fact('Initializers', String(summary.initializerCount), 'initializer-count'),
      fact('Subgraphs', String(summary.subgraphCount), 'subgraph-count'),
      fact('File size', formatBytes(summary.fileSize), 'file-size'),
    ),
    ioTable('inputs', `Inputs (${summary.inputs.length})`, summary.inputs),
    ioTable('outputs', `Outputs (${summary.outputs.length})`, summary.outputs),
    histogram(summary),
  );
}

export function renderError(fileName: string, message: string, code: string): HTMLElement {
  return h('main', { class: 'ql-error', role: 'alert', 'data-testid': 'error-view', 'data-code': code },
    h('h1', {}, h('span', { class: 'codicon codicon-error', 'aria-hidden': 'true' }), ` Cannot open ${fileName}`),
    h('p', { 'data-testid': 'error-message' }, message),
  );
}
