/** Calibration and evaluation data: loaders, formats and sample tensors. */
export * from './errors';
export * from './tensor';
export * from './shape';
export * from './npy';
export * from './idx';
export * from './tensorproto';
export * from './image';
export * from './text';
export * from './loader';
export * from './prefetch';
