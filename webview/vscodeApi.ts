/** The one handle on the host. Typed by the protocol; tests replace acquireVsCodeApi with a stand-in. */
import type { WebviewToHost } from '../src/protocol';
import type { GraphViewState } from './graph/graphPanel';

interface VsCodeApi<S> {
  postMessage(msg: WebviewToHost): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S = unknown>(): VsCodeApi<S>;

export interface PersistedState {
  /** Scroll position of the summary view, restored when the tab comes back. */
  scrollTop?: number;
  /** Graph view: viewport, selection and open groups (webview/graph/graphPanel.ts). */
  graph?: GraphViewState;
  /** Whether Q/DQ pairs are folded into edges. */
  foldQdq?: boolean;
}

export const vscode: VsCodeApi<PersistedState> = acquireVsCodeApi<PersistedState>();
