/** Webview entry: handshake, then render whatever snapshot the host sends. */
import { PROTOCOL_VERSION, type HostToWebview, type SnapshotMessage } from '../src/protocol';
import { h } from './dom';
import { GraphPanel } from './graph/graphPanel';
import { prewarmLayoutWorker } from './graph/layoutClient';
import { renderError, renderSummary } from './summaryView';
import { vscode } from './vscodeApi';

const app = document.getElementById('app')!;
let revision = -1;
/** The graph view of the current snapshot, if it has a graph (disposed when replaced). */
let graphPanel: GraphPanel | undefined;

function render(msg: SnapshotMessage): void {
  // Stale snapshots (an older revision arriving late) are dropped.
  if (msg.revision < revision) return;
  revision = msg.revision;
  const s = msg.state;
  graphPanel?.dispose();
  graphPanel = undefined;
  if (s.kind === 'loaded' && s.graph) {
    // The graph view, with the summary in its side panel.
    graphPanel = new GraphPanel({
      fileName: msg.fileName, summary: s.summary, graph: s.graph,
      log: (level, message) => vscode.postMessage({ type: 'log', level, message }),
      state: vscode.getState()?.graph,
      onState: (graph) => vscode.setState({ ...vscode.getState(), graph }),
    });
  }
  const view =
    graphPanel ? graphPanel.element
    : s.kind === 'loaded' ? renderSummary(msg.fileName, s.summary)
    : s.kind === 'error' ? renderError(msg.fileName, s.message, s.code)
    : h('p', { class: 'ql-muted', 'data-testid': 'loading' }, `Loading ${msg.fileName}…`);
  app.replaceChildren(view);
  void graphPanel?.start();
  const saved = vscode.getState();
  if (saved?.scrollTop) document.scrollingElement?.scrollTo(0, saved.scrollTop);
  // Report after the browser has painted, so the host can time the first real view.
  requestAnimationFrame(() => setTimeout(() => vscode.postMessage({ type: 'rendered', revision: msg.revision, stateKind: s.kind }), 0));
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const msg = event.data;
  switch (msg?.type) {
    case 'snapshot':
      render(msg);
      break;
    case 'response':
      break;
    default:
      break;
  }
});

let scrollTimer: number | undefined;
window.addEventListener('scroll', () => {
  clearTimeout(scrollTimer);
  scrollTimer = window.setTimeout(() => vscode.setState({ ...vscode.getState(), scrollTop: document.scrollingElement?.scrollTop ?? 0 }), 150);
});

vscode.postMessage({ type: 'ready', protocolVersion: PROTOCOL_VERSION });
// The graph's layout worker starts while the host reads the model.
prewarmLayoutWorker();
