/** esbuild's inline-worker plugin turns `import src from './x?worker-source'` into the bundled worker's text. */
declare module '*?worker-source' {
  const source: string;
  export default source;
}
