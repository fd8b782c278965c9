/** Webview entry: handshake, then render whatever snapshot the host sends. */
import { PROTOCOL_VERSION, unpackSnapshot, type HostToWebview, type LayerResultsMessage, type MarksState, type SnapshotMessage } from '../src/protocol';
import { h } from './dom';
import type { GraphView } from '../src/protocol';
import { GraphPanel, initialExpanded, stateKey, testHooksRequested, type GraphViewState } from './graph/graphPanel';
import { Rpc } from './graph/rpc';
import { prewarmLayoutWorker } from './graph/layoutClient';
import { renderError, renderSummary } from './summaryView';
import { vscode } from './vscodeApi';

const app = document.getElementById('app')!;
let revision = -1;
/** The graph view of the current snapshot, if it has a graph (disposed when replaced). */
let graphPanel: GraphPanel | undefined;
const rpc = new Rpc((m) => vscode.postMessage(m));
/** The last snapshot, so the graph can be rebuilt (Q/DQ folding) without a new one. */
let current: SnapshotMessage | undefined;
/** The newest marks (a snapshot's or a later `marks` message), handed to every graph view mounted. */
let marks: MarksState | undefined;
/** The current results run, replayed into a graph view mounted later (a Q/DQ fold, a new snapshot). */
let results: LayerResultsMessage[] = [];
/** A revealNode that arrived before the graph view. */
let pendingReveal: string | undefined;
/** The compare link (Compare Models…), replayed into a graph view mounted later. */
let compareLink: { peer: string; enabled: boolean } | undefined;

function acceptMarks(m: MarksState | undefined): void {
  if (m && (!marks || m.revision >= marks.revision)) marks = m;
}

/** Mounts the graph view of `graph` (the snapshot's, or its Q/DQ-folded twin). */
function mountGraph(msg: SnapshotMessage, graph: GraphView, foldQdq: boolean, state: GraphViewState | undefined = vscode.getState()?.graph): GraphPanel | undefined {
  const s = msg.state;
  if (s.kind !== 'loaded') return undefined;
  graphPanel?.dispose();
  graphPanel = new GraphPanel({
    fileName: msg.fileName, summary: s.summary, graph,
    log: (level, message) => vscode.postMessage({ type: 'log', level, message }),
    state,
    onState: (g) => vscode.setState({ ...vscode.getState(), graph: g }),
    request: rpc.request,
    foldQdq,
    onFoldQdq: (fold) => void toggleFold(msg, fold),
    testHooks: testHooksRequested(),
    marks,
    postSelection: (nodes) => vscode.postMessage({ type: 'selection', nodes }),
    postViewport: (center, zoom) => vscode.postMessage({ type: 'viewport', center, zoom }),
    postUnlink: () => vscode.postMessage({ type: 'unlinkCompare' }),
  });
  if (compareLink) graphPanel.compareLink(compareLink.peer, compareLink.enabled);
  for (const r of results) graphPanel.layerResults(r);
  if (pendingReveal !== undefined) void graphPanel.revealNode(pendingReveal);
  pendingReveal = undefined;
  return graphPanel;
}

/** The fold toggle is kept beside the rest of the webview state (a field only this file uses). */
function savedFold(): boolean {
  return vscode.getState()?.foldQdq === true;
}

function saveFold(fold: boolean): void {
  vscode.setState({ ...vscode.getState(), foldQdq: fold });
}

async function toggleFold(msg: SnapshotMessage, fold: boolean): Promise<void> {
  if (msg !== current || msg.state.kind !== 'loaded' || !msg.state.graph) return;
  let graph: GraphView;
  try {
    graph = fold ? await rpc.request('graphView', { foldQdq: true }) : msg.state.graph;
  } catch (e) {
    vscode.postMessage({ type: 'log', level: 'warn', message: `Q/DQ folding failed: ${e instanceof Error ? e.message : String(e)}` });
    if (msg !== current || graphPanel) return;
    graph = msg.state.graph;
    fold = false;
  }
  if (msg !== current) return; // a newer snapshot arrived meanwhile
  saveFold(fold);
  // The selected node stays selected in the other view when it is still there (Q/DQ nodes are not).
  const name = graphPanel?.selectedNodeName();
  const id = name === undefined ? -1 : graph.nodes.findIndex((n) => n.name === name);
  const carried: GraphViewState | undefined = id >= 0 ? { key: stateKey(msg.fileName, graph), expanded: initialExpanded(graph).filter((g) => g !== 0), selection: { kind: 'node', id } } : undefined;
  const panel = mountGraph(msg, graph, fold, carried ?? vscode.getState()?.graph);
  if (panel) {
    app.replaceChildren(panel.element);
    void panel.start();
  }
}

/** Answers a captureGraph request; a graph still being mounted (a snapshot just arrived) is waited for, up to 5 s. */
async function captureGraph(id: number): Promise<void> {
  for (let waited = 0; !graphPanel && current?.state.kind !== 'error' && waited < 5_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  if (!graphPanel) {
    vscode.postMessage({ type: 'graphImage', id, error: 'the editor shows no graph' });
    return;
  }
  try {
    vscode.postMessage({ type: 'graphImage', id, svg: await graphPanel.captureSvg() });
  } catch (e) {
    vscode.postMessage({ type: 'graphImage', id, error: String((e as Error)?.message ?? e) });
  }
}

function render(msg: SnapshotMessage): void {
  // Stale snapshots (an older revision arriving late) are dropped.
  if (msg.revision < revision) return;
  revision = msg.revision;
  current = msg;
  acceptMarks(msg.marks);
  const s = msg.state;
  graphPanel?.dispose();
  graphPanel = undefined;
  // Folding survives a reload: ask for the folded view straight away instead of the plain one.
  const refold = s.kind === 'loaded' && !!s.graph && (s.graph.qdqFoldable ?? 0) > 0 && savedFold();
  // The graph view, with the summary in its side panel.
  const panel = s.kind === 'loaded' && s.graph && !refold ? mountGraph(msg, s.graph, false) : undefined;
  const view =
    panel ? panel.element
    : refold ? h('p', { class: 'ql-muted', 'data-testid': 'loading' }, `Folding Q/DQ nodes of ${msg.fileName}…`)
    : s.kind === 'loaded' ? renderSummary(msg.fileName, s.summary)
    : s.kind === 'error' ? renderError(msg.fileName, s.message, s.code)
    : h('p', { class: 'ql-muted', 'data-testid': 'loading' }, `Loading ${msg.fileName}…`);
  app.replaceChildren(view);
  void panel?.start();
  if (refold) void toggleFold(msg, true);
  const saved = vscode.getState();
  if (saved?.scrollTop) document.scrollingElement?.scrollTo(0, saved.scrollTop);
  // Report after the browser has painted, so the host can time the first real view.
  requestAnimationFrame(() => setTimeout(() => vscode.postMessage({ type: 'rendered', revision: msg.revision, stateKind: s.kind }), 0));
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const msg = event.data;
  switch (msg?.type) {
    case 'snapshot':
      render(unpackSnapshot(msg));
      break;
    case 'response':
      rpc.handle(msg);
      break;
    case 'marks':
      acceptMarks(msg.marks);
      if (marks === msg.marks) graphPanel?.setMarks(msg.marks);
      break;
    case 'layerResults':
      if (results[0]?.run !== msg.run) results = [];
      results.push(msg);
      graphPanel?.layerResults(msg);
      break;
    case 'revealNode':
      if (graphPanel) void graphPanel.revealNode(msg.node);
      else pendingReveal = msg.node;
      break;
    case 'compareLink':
      compareLink = { peer: msg.peer, enabled: msg.enabled };
      graphPanel?.compareLink(msg.peer, msg.enabled);
      break;
    case 'followViewport':
      void graphPanel?.followViewport(msg.node, msg.zoom);
      break;
    case 'selectNodes':
      void graphPanel?.selectLinked(msg.nodes);
      break;
    case 'captureGraph':
      void captureGraph(msg.id);
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
