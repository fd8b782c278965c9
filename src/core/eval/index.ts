/**
 * Evaluation of models on data: metrics (pure functions), bootstrap intervals, labels, run-time
 * measurements and the orchestration that runs float and quantized sessions. Per-layer error,
 * sensitivity, autotune and robustness join as modules beside these, reusing the metrics.
 */
export * from './metrics';
export * from './bootstrap';
export * from './labels';
export * from './measure';
export * from './scores';
export * from './evaluate';
