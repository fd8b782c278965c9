/** Quantization maths, calibration statistics and the worker pool. */
export * from './math';
export * from './histogram';
export * from './calibrators';
export * from './workers';
export {
  entropyKernel, histogramKernel, histogramMse, minMaxKernel, mseSearchKernel, quantizeKernel, scaleZeroPoint,
} from './kernels';
