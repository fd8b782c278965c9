/**
 * Reading calibration data ahead of its consumer: the file is opened and the first samples are
 * decoded while the caller does other work (pre-processing the model), instead of after it.
 */
import type { CalibrationData } from './options';
import type { Sample } from './tensor';

export interface PrefetchedData extends CalibrationData {
  /** Stops reading and closes the files (for a consumer that will never iterate). */
  close(): Promise<void>;
}

/**
 * `data`, whose single iteration has already begun: up to `ahead` samples are requested at once
 * and kept requested as the consumer takes them. Errors surface at the consumer's `next()`, in
 * order. It can be iterated once.
 */
export function prefetch(data: CalibrationData, ahead: number): PrefetchedData {
  const it = data[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<Sample>>[] = [];
  let ended = false;
  let taken = false;
  const request = (): void => {
    while (!ended && queue.length < ahead) {
      const p = it.next();
      // a failure is rethrown to the consumer from the queue; marking it handled here keeps a
      // read that fails before anyone asks from counting as an unhandled rejection
      p.then((r) => { if (r.done) ended = true; }, () => { ended = true; });
      queue.push(p);
    }
  };
  request();
  const close = async (): Promise<void> => {
    ended = true;
    queue.length = 0;
    await it.return?.();
  };
  return {
    get source() { return data.source; },
    get format() { return data.format; },
    get synthetic() { return data.synthetic; },
    get warning() { return data.warning; },
    get warnings() { return data.warnings; },
    get files() { return data.files; },
    get image() { return data.image; },
    close,
    [Symbol.asyncIterator](): AsyncIterator<Sample> {
      if (taken) throw new Error('prefetched calibration data can be iterated once');
      taken = true;
      return {
        next: () => {
          const head = queue.shift() ?? (ended ? Promise.resolve({ done: true as const, value: undefined }) : it.next());
          request();
          return head;
        },
        return: async () => { await close(); return { done: true as const, value: undefined }; },
      };
    },
  };
}
