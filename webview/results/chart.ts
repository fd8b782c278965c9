/**
 * Draws a Vega-Lite spec as SVG within the webview's strict CSP: the spec is parsed to an AST and
 * its expressions run through vega-interpreter, so vega never compiles code with `new Function`
 * (the CSP has no 'unsafe-eval').
 */
import { parse, View } from 'vega';
import { expressionInterpreter } from 'vega-interpreter';
import { compile, type TopLevelSpec } from 'vega-lite';
import { SELECTED } from './specs';

export interface Chart {
  /** Highlights these nodes (when the spec has the selection signal). */
  select(nodes: readonly string[]): Promise<void>;
  dispose(): void;
}

/** Renders `spec` into `container`; `onPick` gets the datum of a clicked mark. */
export async function drawChart(container: HTMLElement, spec: TopLevelSpec, onPick?: (datum: Record<string, unknown>) => void): Promise<Chart> {
  const runtime = parse(compile(spec).spec, undefined, { ast: true });
  const view = new View(runtime, { expr: expressionInterpreter, renderer: 'svg', container, hover: true });
  if (onPick) {
    view.addEventListener('click', (_event, item) => {
      const datum = (item as { datum?: unknown } | null | undefined)?.datum;
      if (datum && typeof datum === 'object') onPick(datum as Record<string, unknown>);
    });
  }
  await view.runAsync();
  const hasSelection = (() => {
    try {
      view.signal(SELECTED);
      return true;
    } catch {
      return false;
    }
  })();
  return {
    async select(nodes) {
      if (!hasSelection) return;
      view.signal(SELECTED, [...nodes]);
      await view.runAsync();
    },
    dispose: () => view.finalize(),
  };
}
