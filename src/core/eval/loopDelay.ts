/**
 * How well the caller's event loop keeps turning while a long run (evaluation, sensitivity) goes
 * on in the same thread: the loop's delay as perf_hooks measures it, and how many times a timer
 * of a fixed period fired against how many periods passed.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  /** Longest, 99th percentile and mean delay of the event loop beyond a 10 ms sampling timer's period, ms. */
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  /** Timer callbacks that ran, and the periods of `periodMs` that passed. */
  ticks: number;
  periods: number;
  periodMs: number;
  durationMs: number;
}

/** Starts watching; `stop()` ends it and gives the figures. */
export function watchEventLoop(periodMs = 20): { stop: () => LoopDelay } {
  const resolution = 10;
  const h = monitorEventLoopDelay({ resolution });
  h.enable();
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, periodMs);
  const t0 = performance.now();
  return {
    stop: () => {
      const durationMs = performance.now() - t0;
      clearInterval(timer);
      h.disable();
      // the histogram holds the sampling timer's whole interval: the delay is what exceeds it
      const ms = (ns: number): number => Math.max(0, ns / 1e6 - resolution);
      return {
        maxMs: ms(h.max), p99Ms: ms(h.percentile(99)), meanMs: ms(h.mean),
        ticks, periods: Math.floor(durationMs / periodMs), periodMs, durationMs,
      };
    },
  };
}

/** One line for a benchmark's table. */
export const loopDelayText = (d: LoopDelay): string =>
  `max ${d.maxMs.toFixed(0)} ms, p99 ${d.p99Ms.toFixed(0)} ms, mean ${d.meanMs.toFixed(1)} ms; ${d.ticks} of ${d.periods} ${d.periodMs} ms timer ticks`;
