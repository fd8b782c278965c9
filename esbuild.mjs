// Bundles the three worlds: the extension host (Node, CJS), the CLI (Node, CJS) and the webview
// (browser, IIFE). Native onnxruntime-node and the 'vscode' module stay external.
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const root = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(root, 'dist');

/** Copies static assets the webview loads (codicons font + css). */
const copyAssets = {
  name: 'copy-assets',
  setup(build) {
    build.onEnd(() => {
      const dst = path.join(out, 'codicons');
      fs.mkdirSync(dst, { recursive: true });
      for (const f of ['codicon.css', 'codicon.ttf']) {
        fs.copyFileSync(path.join(root, 'node_modules/@vscode/codicons/dist', f), path.join(dst, f));
      }
    });
  },
};

/**
 * Graph view (issue 4): `import src from './x?worker-source'` bundles x.ts as a separate IIFE and
 * inlines its text, so the webview can start the layout worker from a blob: URL (a VS Code webview
 * cannot start a worker from its resource URLs, and its CSP allows `worker-src blob:`).
 */
const inlineWorker = {
  name: 'inline-worker',
  setup(build) {
    build.onResolve({ filter: /\?worker-source$/ }, (args) => {
      let file = path.resolve(args.resolveDir, args.path.replace(/\?worker-source$/, ''));
      if (!fs.existsSync(file)) file += '.ts';
      return { path: file, namespace: 'worker-source' };
    });
    build.onLoad({ filter: /.*/, namespace: 'worker-source' }, async (args) => {
      const r = await esbuild.build({
        entryPoints: [args.path], bundle: true, write: false, metafile: true, format: 'iife', platform: 'browser',
        target: 'chrome120', minify: production, legalComments: 'none', logLevel: 'warning',
      });
      return { contents: r.outputFiles[0].text, loader: 'text', watchFiles: Object.keys(r.metafile.inputs).map((f) => path.resolve(root, f)) };
    });
  },
};

const common = {
  bundle: true,
  minify: production,
  sourcemap: production ? false : 'linked',
  logLevel: 'warning',
  legalComments: 'none',
};

const nodeCommon = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node'],
  // jsonc-parser's "main" is a UMD build whose require('./impl/...') calls esbuild cannot follow;
  // its ES module build bundles whole.
  // vega-canvas's Node build awaits an optional 'canvas' at top level, which a CJS bundle cannot
  // hold; reports render SVG only, which needs no canvas: its browser build does.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js', 'vega-canvas': './node_modules/vega-canvas/build/vega-canvas.browser.js' },
};

const builds = [
  // The host bundle stays small: models are parsed in a worker thread (dist/modelWorker.js) that
  // bundles the core, so activation never loads it and the host's thread never runs it.
  { ...nodeCommon, entryPoints: { extension: 'src/host/extension.ts', modelWorker: 'src/host/worker/modelWorker.ts', quantizeWorker: 'src/host/worker/quantizeWorker.ts', analysisWorker: 'src/host/worker/analysisWorker.ts' }, outdir: out },
  {
    ...nodeCommon,
    entryPoints: { cli: 'src/cli/quantlens.ts' },
    outdir: out,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    // The results panel (webview/results): its own page, vega drawing SVG through vega-interpreter.
    entryPoints: { webview: 'webview/main.ts', results: 'webview/results/main.ts' },
    outdir: out,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    plugins: [copyAssets, inlineWorker],
  },
];

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('esbuild: watching for changes…');
} else {
  const t0 = Date.now();
  await Promise.all(builds.map((b) => esbuild.build(b)));
  fs.chmodSync(path.join(out, 'cli.js'), 0o755);
  console.log(`esbuild: built dist/ in ${Date.now() - t0} ms${production ? ' (production)' : ''}`);
}
