/** Messages between the graph view and its layout worker (internal to the webview). */
import type { LayoutInput, LayoutResult } from './layout';

export type ToLayoutWorker =
  /** Compile the layout code before the first real request (sent when the worker is pre-started). */
  | { type: 'warmup' }
  | { type: 'init'; input: LayoutInput }
  | { type: 'layout'; seq: number; expanded: number[] };

export type FromLayoutWorker =
  | { type: 'result'; seq: number; result: LayoutResult }
  | { type: 'error'; seq: number; message: string };
