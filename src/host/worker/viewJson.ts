/**
 * Graph views travel as UTF-8 JSON bytes (see SnapshotMessage.graphJson): the model worker sends
 * them that way, and the same bytes go on to the webview, so the view is encoded once per open.
 */
import type { GraphView } from '../../core/graphView';
import { encodeGraphView, type ViewState } from '../../protocol';

const encoded = new WeakMap<GraphView, Uint8Array>();

/** Records `bytes` as the encoding of `graph` (they arrived together from the worker). */
export function rememberGraphJson(graph: GraphView, bytes: Uint8Array): void {
  encoded.set(graph, bytes);
}

/** The bytes of `graph`, encoded now if they are not known. */
export function graphJson(graph: GraphView): Uint8Array {
  let bytes = encoded.get(graph);
  if (!bytes) {
    bytes = encodeGraphView(graph);
    encoded.set(graph, bytes);
  }
  return bytes;
}

/** A state ready to post: a loaded state's graph moved out as `graphJson`. */
export function packState(state: ViewState): { state: ViewState; graphJson?: Uint8Array } {
  if (state.kind !== 'loaded' || !state.graph) return { state };
  const { graph, ...rest } = state;
  return { state: rest, graphJson: graphJson(graph) };
}
