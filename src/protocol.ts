/**
 * Every message between the extension host and the QuantLens webview, in both directions.
 * Both sides import only this file (and plain data types), so a change here is checked on both.
 *
 * Shape: requests carry an id and get exactly one response ({ok} or {err}); events and
 * notifications are one-way. Notifications that describe document state carry `revision`, and the
 * webview drops any older than what it already has.
 */
import type { GraphView } from './core/graphView';
import type { ModelSummary } from './core/summary';

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

export type WebviewToHost = ReadyMessage | RequestMessage | WebviewLogMessage | RenderedMessage;

/** Requests the webview can make, with their parameter and result types. */
export interface HostRequests {
  /** Ask the host to reveal the model file in the explorer / open it as text, etc. */
  revealInExplorer: { params: Record<string, never>; result: null };
}

// ---- host -> webview ------------------------------------------------------------------------

/** The first message after `ready`: everything the view needs, no model data in the HTML. */
export interface SnapshotMessage {
  type: 'snapshot';
  revision: number;
  fileName: string;
  state: ViewState;
}

export type ViewState =
  | { kind: 'loading' }
  | { kind: 'loaded'; summary: ModelSummary; openTimeMs: number; /** Graph view model (see the block at the end). */ graph?: GraphView }
  | { kind: 'error'; message: string; code: string };

export interface ResponseMessage {
  type: 'response';
  id: number;
  ok?: unknown;
  err?: string;
}

export type HostToWebview = SnapshotMessage | ResponseMessage;

// ---- validation of untrusted input from the webview ------------------------------------------

const REQUEST_METHODS: ReadonlySet<string> = new Set<keyof HostRequests>(['revealInExplorer']);

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
    case 'request': {
      if (!Number.isSafeInteger(raw.id) || typeof raw.method !== 'string' || !REQUEST_METHODS.has(raw.method)) return undefined;
      if (!isRecord(raw.params) || Object.keys(raw.params).length > 0) return undefined;
      return { type: 'request', id: raw.id as number, method: raw.method as keyof HostRequests, params: {} };
    }
    default:
      return undefined;
  }
}

/** Compile-time exhaustiveness helper for switches over message unions. */
export function assertNever(x: never): never {
  throw new Error(`Unhandled message: ${JSON.stringify(x)}`);
}

// ---- graph view (issue 4) ---------------------------------------------------------------------
// The `loaded` state carries the main graph as a compact view model built by the core
// (src/core/graphView.ts: plain arrays, structured-clones cheaply). It is optional so a host that
// failed to build it still shows the summary. The webview imports the types from here, never
// from core.
export type { GraphView, GvEdge, GvGroup, GvNode, GvNodeKind, GvTensor } from './core/graphView';
