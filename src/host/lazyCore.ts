/** Loads the core bundle (dist/core.js) on first use; activation never pays for it. */
import type * as CoreApi from '../core/api';

let core: typeof CoreApi | undefined;

export function loadCore(): typeof CoreApi {
  // esbuild keeps this require external (see esbuild.mjs), so it resolves next to dist/extension.js.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  core ??= require('./core.js') as typeof CoreApi;
  return core;
}
