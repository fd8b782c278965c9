/**
 * Every message between the extension host and the QuantLens webview, in both directions.
 * Both sides import only this file (and plain data types), so a change here is checked on both.
 *
 * Shape: requests carry an id and get exactly one response ({ok} or {err}); events and
 * notifications are one-way. Notifications that describe document state carry `revision`, and the
 * webview drops any older than what it already has.
 */
import type { GraphView } from './core/graphView';
import type { TensorStats } from './core/tensor';
import type { ModelSummary } from './core/summary';
import type { Precision as CorePrecision } from './core/quant/plan';
import type { Reply } from './shared/requests';

export const PROTOCOL_VERSION = 1;

// ---- webview -> host ------------------------------------------------------------------------

/** The webview finished loading its script and asks for the snapshot. */
export interface ReadyMessage {
  type: 'ready';
  protocolVersion: number;
}

export interface RequestMessage<M extends keyof HostRequests = keyof HostRequests> {
  type: 'request';
  id: number;
  method: M;
  params: HostRequests[M]['params'];
}

/** A client-side problem worth logging in the host's output channel. */
export interface WebviewLogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** The webview painted the state of `revision` (used for time-to-first-view measurements). */
export interface RenderedMessage {
  type: 'rendered';
  revision: number;
  stateKind: ViewState['kind'];
}

/** A request of any method, discriminated by `method` so a switch narrows `params`. */
export type AnyRequestMessage = { [M in keyof HostRequests]: RequestMessage<M> }[keyof HostRequests];

/** The nodes selected in the graph, so palette commands (Mark Selected Layers As…) act on them. */
export interface SelectionMessage {
  type: 'selection';
  nodes: string[];
}

/**
 * Compare view, only while linked: after the user moved the view, the node nearest its centre and
 * the zoom (debounced), so the host can move the linked editor to the matching node.
 */
export interface ViewportMessage {
  type: 'viewport';
  center: string;
  zoom: number;
}

/** Compare view: the user ended the link from the toolbar. */
export interface UnlinkCompareMessage {
  type: 'unlinkCompare';
}

/** Zooms a viewport report may carry (the canvas keeps to 0.01–4; fitting a huge graph goes lower). */
export const MIN_VIEW_ZOOM = 1e-4;
export const MAX_VIEW_ZOOM = 64;

/** The answer to captureGraph `id`: the graph with its overlay as SVG, or why there is none. */
export interface GraphImageMessage {
  type: 'graphImage';
  id: number;
  svg?: string;
  error?: string;
}
/** Largest graph image the host accepts for a report (UTF-16 code units). */
export const MAX_GRAPH_IMAGE = 20 * 1024 * 1024;

export type WebviewToHost = ReadyMessage | AnyRequestMessage | WebviewLogMessage | RenderedMessage | SelectionMessage | ViewportMessage | UnlinkCompareMessage | GraphImageMessage;

/** Requests the webview can make, with their parameter and result types. */
export interface HostRequests {
  /** Ask the host to reveal the model file in the explorer / open it as text, etc. */
  revealInExplorer: { params: Record<string, never>; result: null };
  /** Statistics and histogram of one constant of the main graph (issue 4). */
  tensorStats: { params: { tensor: string }; result: TensorStats };
  /** One page of a constant's values, in flat (row-major) order. */
  tensorValues: { params: { tensor: string; start: number; count: number }; result: TensorValuesPage };
  /** The graph view model again, with or without Q/DQ folding. */
  graphView: { params: { foldQdq: boolean }; result: GraphView };
  /** Save the current view as an image: the webview made the bytes, the host asks where to save. */
  exportImage: { params: ExportImageParams; result: { saved: boolean } };
  /**
   * An intent: mark these nodes with a precision (null clears their marks). The host makes it one
   * undoable edit labelled with `label` when given; the result says how many marks changed.
   */
  setMarks: { params: SetMarksParams; result: { changed: number } };
}

export interface SetMarksParams {
  nodes: string[];
  precision: Precision | null;
  /** What the user did, for the undo stack ("Set every Conv to int16"); the host makes one otherwise. */
  label?: string;
}

/** Precisions a layer can be marked with (the recipe's plan values; the core's list, checked below). */
export const PRECISIONS = ['int8', 'int16', 'fp16', 'float', 'skip'] as const;
export type Precision = (typeof PRECISIONS)[number];
// Compile-time check that this list is exactly the core's Precision (the webview cannot import core).
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const precisionsMatchCore: SameSet<Precision, CorePrecision> = true;
void precisionsMatchCore;
/** Most nodes one intent may name (a 50,000-node graph marked whole is one intent). */
export const MAX_MARK_NODES = 200_000;

/** Longest tensor name the host accepts in a request. */
export const MAX_TENSOR_NAME = 4096;
/** Most values one tensorValues request may ask for. */
export const MAX_VALUES_PAGE = 1000;
/** Largest exported image the host accepts (bytes for PNG, UTF-16 code units for SVG). */
export const MAX_EXPORT_BYTES = 64 * 1024 * 1024;

export interface TensorValuesPage {
  tensor: string;
  dtype: string;
  shape: number[];
  /** Element count of the whole tensor. */
  total: number;
  start: number;
  /** The values as a typed array (structured-cloned, not a JSON number array). */
  values: Float64Array;
}

export type ExportImageParams =
  | { format: 'svg'; data: string; name: string }
  | { format: 'png'; data: Uint8Array; name: string };

// ---- host -> webview ------------------------------------------------------------------------

/** The first message after `ready`: everything the view needs, no model data in the HTML. */
export interface SnapshotMessage {
  type: 'snapshot';
  revision: number;
  fileName: string;
  state: ViewState;
  /** The precision marks (absent while the model loads). */
  marks?: MarksState;
  /**
   * The loaded state's graph as UTF-8 JSON, sent beside `state` instead of inside it: one buffer
   * crosses the extension host -> workbench -> webview hops as it is, where a 5,000-node view as
   * objects costs a JSON round trip and a structured clone of ~100k objects per hop.
   */
  graphJson?: Uint8Array;
}

/** The graph view as UTF-8 JSON bytes. */
export function encodeGraphView(view: GraphView): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(view));
}

/** A graph view from its UTF-8 JSON bytes (throws on bytes that are not JSON). */
export function decodeGraphView(bytes: Uint8Array): GraphView {
  return JSON.parse(new TextDecoder().decode(bytes)) as GraphView;
}

/** The snapshot as the webview renders it: `graphJson`, when sent, decoded into the loaded state's graph. */
export function unpackSnapshot(msg: SnapshotMessage): SnapshotMessage {
  const { graphJson, ...rest } = msg;
  if (!graphJson || rest.state.kind !== 'loaded') return rest;
  return { ...rest, state: { ...rest.state, graph: decodeGraphView(graphJson) } };
}

/** The document's precision marks, as the webviews mirror them. */
export interface MarksState {
  /** Node name -> precision. */
  plan: Record<string, Precision>;
  /** Marked names the model does not have (the model changed since the marks were made). */
  unknown: string[];
  revision: number;
}

/** The marks changed (an edit, undo, redo, revert or a recipe changed on disk). */
export interface MarksMessage {
  type: 'marks';
  marks: MarksState;
}

export type ViewState =
  | { kind: 'loading' }
  | { kind: 'loaded'; summary: ModelSummary; openTimeMs: number; /** Graph view model (see the block at the end). */ graph?: GraphView }
  | { kind: 'error'; message: string; code: string };

/** A method's result, any method: what a response may carry. */
export type HostResult = HostRequests[keyof HostRequests]['result'];

/** The answer to request `id`: its result (`ok`), or a message the webview shows as it is (`err`). */
export type ResponseMessage = { type: 'response' } & Reply<HostResult, string>;

/** Per-layer numbers an analysis measured, drawn as an overlay (colour, legend, tooltip line). */
export type LayerMetric = 'sensitivity' | 'sqnrDb' | 'mse' | 'saturation' | 'deltaMetric';
export const LAYER_METRICS: readonly LayerMetric[] = ['sensitivity', 'sqnrDb', 'mse', 'saturation', 'deltaMetric'];

export interface LayerResult {
  node: string;
  /** The metrics measured for this node (any subset). */
  values: Partial<Record<LayerMetric, number>>;
}

/**
 * Results streaming in while an analysis runs: each message adds (or replaces, by node) results of
 * run `run`; a message with a new `run` id starts over. `done` marks the run's last message.
 * Derived data: it never makes the document dirty.
 */
export interface LayerResultsMessage {
  type: 'layerResults';
  run: string;
  /** What produced them ('sensitivity', 'layers', an imported file's name). */
  source: string;
  /** The metric the overlay shows first. */
  metric: LayerMetric;
  results: LayerResult[];
  done: boolean;
}

/** Select a node and bring it into view (a recipe's "Show in graph", a results chart). */
export interface RevealNodeMessage {
  type: 'revealNode';
  node: string;
}

/** Compare view: this editor is linked with (enabled) or no longer linked with the editor of `peer` (a file name). */
export interface CompareLinkMessage {
  type: 'compareLink';
  peer: string;
  enabled: boolean;
}

/** Compare view: the linked editor moved; centre `node` at `zoom` without moving the selection or reporting back. */
export interface FollowViewportMessage {
  type: 'followViewport';
  node: string;
  zoom: number;
}

/**
 * Compare view: the linked editor's selection, matched to this graph (the op first, then its
 * quantizers); an empty list clears the selection. The view moves only when the first is out of
 * sight, and does not report that move back.
 */
export interface SelectNodesMessage {
  type: 'selectNodes';
  nodes: string[];
}

/** Report export: draw the whole graph with its overlay as SVG and answer with graphImage `id`. */
export interface CaptureGraphMessage {
  type: 'captureGraph';
  id: number;
}

export type HostToWebview =
  | SnapshotMessage | ResponseMessage | MarksMessage | RevealNodeMessage | LayerResultsMessage
  | CompareLinkMessage | FollowViewportMessage | SelectNodesMessage | CaptureGraphMessage;

// ---- validation of untrusted input from the webview ------------------------------------------

const REQUEST_METHODS: ReadonlySet<string> = new Set<keyof HostRequests>(['revealInExplorer', 'tensorStats', 'tensorValues', 'graphView', 'exportImage', 'setMarks']);

/** A list of node names from the webview: strings of sane length, at most MAX_MARK_NODES. */
function isNodeList(x: unknown): x is string[] {
  return Array.isArray(x) && x.length <= MAX_MARK_NODES && x.every(isTensorName);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function hasOnlyKeys(x: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(x).every((k) => keys.includes(k)) && keys.every((k) => Object.hasOwn(x, k));
}

function isTensorName(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= MAX_TENSOR_NAME;
}

/** A file name to suggest in the save dialog: no path separators, no control characters. */
function isFileName(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= 255 && !/[/\\\x00-\x1f]/.test(x) && x !== '.' && x !== '..';
}

/** Checks a request's params against its method; undefined when they do not fit. */
function parseParams(method: keyof HostRequests, p: Record<string, unknown>): HostRequests[keyof HostRequests]['params'] | undefined {
  switch (method) {
    case 'revealInExplorer':
      return Object.keys(p).length === 0 ? {} : undefined;
    case 'tensorStats':
      return hasOnlyKeys(p, ['tensor']) && isTensorName(p.tensor) ? { tensor: p.tensor } : undefined;
    case 'tensorValues': {
      if (!hasOnlyKeys(p, ['tensor', 'start', 'count']) || !isTensorName(p.tensor)) return undefined;
      const { start, count } = p;
      if (!Number.isSafeInteger(start) || (start as number) < 0) return undefined;
      if (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > MAX_VALUES_PAGE) return undefined;
      return { tensor: p.tensor, start: start as number, count: count as number };
    }
    case 'graphView':
      return hasOnlyKeys(p, ['foldQdq']) && typeof p.foldQdq === 'boolean' ? { foldQdq: p.foldQdq } : undefined;
    case 'exportImage': {
      if (!hasOnlyKeys(p, ['format', 'data', 'name']) || !isFileName(p.name)) return undefined;
      if (p.format === 'svg') {
        if (typeof p.data !== 'string' || p.data.length === 0 || p.data.length > MAX_EXPORT_BYTES) return undefined;
        if (!/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(p.data.slice(0, 512))) return undefined;
        return { format: 'svg', data: p.data, name: p.name };
      }
      if (p.format === 'png') {
        const bytes = p.data instanceof Uint8Array ? p.data : p.data instanceof ArrayBuffer ? new Uint8Array(p.data) : undefined;
        if (!bytes || bytes.length < PNG_SIGNATURE.length || bytes.length > MAX_EXPORT_BYTES) return undefined;
        if (PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
        return { format: 'png', data: bytes, name: p.name };
      }
      return undefined;
    }
    case 'setMarks': {
      const keys = Object.hasOwn(p, 'label') ? ['nodes', 'precision', 'label'] : ['nodes', 'precision'];
      if (!hasOnlyKeys(p, keys) || !isNodeList(p.nodes) || p.nodes.length === 0) return undefined;
      const precision = p.precision;
      if (precision !== null && !(typeof precision === 'string' && (PRECISIONS as readonly string[]).includes(precision))) return undefined;
      if (p.label !== undefined && (typeof p.label !== 'string' || p.label.length === 0 || p.label.length > 200)) return undefined;
      return { nodes: p.nodes, precision: precision as Precision | null, ...(p.label !== undefined ? { label: p.label as string } : {}) };
    }
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Checks a message from the webview before the host acts on it. Returns the typed message, or
 * undefined for anything malformed (which the host logs and drops).
 */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (!isRecord(raw) || typeof raw.type !== 'string') return undefined;
  switch (raw.type) {
    case 'ready':
      return typeof raw.protocolVersion === 'number' ? { type: 'ready', protocolVersion: raw.protocolVersion } : undefined;
    case 'log': {
      const level = raw.level;
      if ((level !== 'info' && level !== 'warn' && level !== 'error') || typeof raw.message !== 'string') return undefined;
      return { type: 'log', level, message: raw.message.slice(0, 2000) };
    }
    case 'rendered': {
      const k = raw.stateKind;
      if (!Number.isSafeInteger(raw.revision) || (k !== 'loading' && k !== 'loaded' && k !== 'error')) return undefined;
      return { type: 'rendered', revision: raw.revision as number, stateKind: k };
    }
    case 'selection':
      return hasOnlyKeys(raw, ['type', 'nodes']) && isNodeList(raw.nodes) ? { type: 'selection', nodes: raw.nodes } : undefined;
    case 'viewport': {
      const { center, zoom } = raw;
      if (!hasOnlyKeys(raw, ['type', 'center', 'zoom']) || !isTensorName(center)) return undefined;
      if (typeof zoom !== 'number' || !Number.isFinite(zoom) || zoom < MIN_VIEW_ZOOM || zoom > MAX_VIEW_ZOOM) return undefined;
      return { type: 'viewport', center, zoom };
    }
    case 'unlinkCompare':
      return hasOnlyKeys(raw, ['type']) ? { type: 'unlinkCompare' } : undefined;
    case 'graphImage': {
      const { id, svg, error } = raw;
      if (!Number.isSafeInteger(id) || Object.keys(raw).some((k) => !['type', 'id', 'svg', 'error'].includes(k))) return undefined;
      if (svg !== undefined) {
        if (typeof svg !== 'string' || svg.length === 0 || svg.length > MAX_GRAPH_IMAGE || error !== undefined) return undefined;
        if (!/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg.slice(0, 512))) return undefined;
        return { type: 'graphImage', id: id as number, svg };
      }
      if (typeof error !== 'string' || error.length === 0) return undefined;
      return { type: 'graphImage', id: id as number, error: error.slice(0, 500) };
    }
    case 'request': {
      if (!Number.isSafeInteger(raw.id) || typeof raw.method !== 'string' || !REQUEST_METHODS.has(raw.method)) return undefined;
      if (!isRecord(raw.params)) return undefined;
      const method = raw.method as keyof HostRequests;
      const params = parseParams(method, raw.params);
      if (!params) return undefined;
      return { type: 'request', id: raw.id as number, method, params } as AnyRequestMessage;
    }
    default:
      return undefined;
  }
}

/** Compile-time exhaustiveness helper for switches over message unions. */
export function assertNever(x: never): never {
  throw new Error(`Unhandled message: ${JSON.stringify(x)}`);
}

// ---- layer histograms (issue 14) ----------------------------------------------------------------
// For the selected layer: histograms of its float weights and of its output activations over the
// calibration samples, with the quantizer's grid (scales, zero points, the representable range as
// the clipping range, drawable grid lines) and the share of values each grid clips. Built by the
// core (src/core/eval/histograms.ts) in the analysis worker (src/host/histogramJob.ts); plain
// JSON-able data (128 bin counts per histogram). Bin i covers [start + i*width, start + (i+1)*width).
export type { ActivationHistogram, LayerHistograms, WeightHistogram } from './core/eval/histograms';
export type { ClipShare, HistogramBins, QuantGrid } from './core/eval/histogramBins';
import type { LayerHistograms } from './core/eval/histograms';

/**
 * The selected layer's histograms for the results panel: `running` while the job computes them,
 * then `histograms`, or `error` (a clear sentence; also when the job was cancelled).
 */
export interface LayerHistogramsMessage {
  type: 'layerHistograms';
  node: string;
  running: boolean;
  histograms?: LayerHistograms;
  error?: string;
}

// ---- graph view (issue 4) ---------------------------------------------------------------------
// The `loaded` state carries the main graph as a compact view model built by the core
// (src/core/graphView.ts: plain arrays, structured-clones cheaply). It is optional so a host that
// failed to build it still shows the summary. The webview imports the types from here, never
// from core.
export type { GraphView, GvEdge, GvGroup, GvNode, GvNodeKind, GvQuant, GvTensor } from './core/graphView';
export type { TensorStats } from './core/tensor';
export type { IoSummary, ModelSummary } from './core/summary';

// ---- results panel (issue 14) -----------------------------------------------------------------
// A webview panel per model, beside the graph (src/host/resultsPanel.ts, webview/results/): float
// against quantized, per-layer bars, the autotune Pareto curve and the robustness curves. It has
// its own message unions; the host checks every message from it with parseResultsPanelMessage.
export type { EvaluationSummary, MetricDelta, ModelRun } from './core/report/model';
import type { EvaluationSummary } from './core/report/model';

/** A per-layer metric as the panel names and sorts it. */
export interface ResultsMetricInfo {
  key: string;
  label: string;
  /** Which end is bad: bars sort worst first. */
  worse: 'low' | 'high';
}

export interface ResultsLayer {
  /** The node's name in the graph. */
  node: string;
  opType?: string;
  metrics: Record<string, number>;
}

/** The newest per-layer results of the model (a sensitivity run, a layer comparison, an import). */
export interface ResultsLayerSet {
  source: string;
  /** True while an analysis is still streaming layers in. */
  running: boolean;
  metrics: ResultsMetricInfo[];
  /** The metric the bars show first. */
  metric: string;
  layers: ResultsLayer[];
}

/** One measured plan of the mixed-precision search. */
export interface ParetoPointView {
  x: number;
  y: number;
  label: string;
  /** The layers the plan keeps above int8 (graph names). */
  nodes: string[];
  pareto: boolean;
  met: boolean;
  chosen: boolean;
}

export interface ParetoView {
  x: string;
  y: string;
  budget: string;
  points: ParetoPointView[];
}

export interface RobustnessPointView {
  kind: string;
  level: number;
  model: 'float' | 'quantized';
  value: number;
  fragile: boolean;
}

export interface RobustnessView {
  /** What `value` is: 'top-1 accuracy', 'MSE' or 'top-1 agreement' (no labels). */
  metric: string;
  threshold: number;
  samples: number;
  points: RobustnessPointView[];
}

/** Everything the panel shows; sections without results are absent. */
export interface ResultsPanelState {
  fileName: string;
  /** Grows with every state the host sends: the panel drops older ones. */
  revision: number;
  evaluation?: EvaluationSummary;
  layers?: ResultsLayerSet;
  pareto?: ParetoView;
  robustness?: RobustnessView;
  /** The nodes selected in the model's graph. */
  selected: string[];
}

export interface ResultsStateMessage {
  type: 'resultsState';
  state: ResultsPanelState;
}

/** The graph's selection changed: the panel highlights those layers. */
export interface ResultsSelectionMessage {
  type: 'resultsSelection';
  nodes: string[];
}

export type HostToResultsPanel = ResultsStateMessage | ResultsSelectionMessage | LayerHistogramsMessage;

/** A bar, a Pareto point or a row of the layer table was chosen: select these layers in the graph. */
export interface SelectLayersMessage {
  type: 'selectLayers';
  nodes: string[];
}

/** The panel drew state `revision`: `bars` per-layer bars are on screen (the host's tests wait for it). */
export interface ResultsRenderedMessage {
  type: 'resultsRendered';
  revision: number;
  bars: number;
}

export type ResultsPanelToHost = ReadyMessage | SelectLayersMessage | ResultsRenderedMessage | WebviewLogMessage;

/** Checks a message from the results panel; undefined for anything malformed (logged and dropped). */
export function parseResultsPanelMessage(raw: unknown): ResultsPanelToHost | undefined {
  if (!isRecord(raw) || typeof raw.type !== 'string') return undefined;
  switch (raw.type) {
    case 'ready':
    case 'log': {
      const m = parseWebviewMessage(raw);
      return m?.type === 'ready' || m?.type === 'log' ? m : undefined;
    }
    case 'selectLayers':
      return hasOnlyKeys(raw, ['type', 'nodes']) && isNodeList(raw.nodes) && raw.nodes.length > 0 ? { type: 'selectLayers', nodes: raw.nodes } : undefined;
    case 'resultsRendered': {
      const { revision, bars } = raw;
      if (!hasOnlyKeys(raw, ['type', 'revision', 'bars']) || !Number.isSafeInteger(revision) || !Number.isSafeInteger(bars) || (bars as number) < 0) return undefined;
      return { type: 'resultsRendered', revision: revision as number, bars: bars as number };
    }
    default:
      return undefined;
  }
}
