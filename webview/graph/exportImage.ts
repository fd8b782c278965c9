/**
 * Exports the current view as a PNG (the canvas as drawn) or an SVG (exportSvg.ts), saved by the
 * host, which asks where. The status line says what happened.
 */
import type { GraphView } from '../../src/protocol';
import { viewToSvg } from './exportSvg';
import type { LayoutResult } from './layout';
import type { GraphCanvas } from './renderer';
import type { RequestFn } from './rpc';

export interface ExportParts {
  fileName: string;
  graph: GraphView;
  layout: LayoutResult;
  canvas: GraphCanvas;
  canvasEl: HTMLCanvasElement;
  request: RequestFn;
  status(text: string): void;
}

/** A safe file name for the export, from the model's file name. */
export function exportName(fileName: string, format: 'png' | 'svg'): string {
  const base = fileName.replace(/\.[^.]*$/, '') || 'graph';
  return `${base}-graph.${format}`.replace(/[/\\\x00-\x1f]/g, '_').slice(0, 200);
}

export async function exportImage(p: ExportParts, format: 'png' | 'svg'): Promise<void> {
  const name = exportName(p.fileName, format);
  p.status(`Exporting ${format.toUpperCase()}…`);
  try {
    if (format === 'svg') {
      const data = viewToSvg(p.graph, p.layout, p.canvas.vp, p.canvas.size, p.canvas.palette);
      await p.request('exportImage', { format, data, name });
    } else {
      p.canvas.draw();
      const blob = await new Promise<Blob | null>((r) => p.canvasEl.toBlob(r, 'image/png'));
      if (!blob) throw new Error('the canvas produced no image');
      await p.request('exportImage', { format, data: new Uint8Array(await blob.arrayBuffer()), name });
    }
    p.status(`Exported ${format.toUpperCase()}`);
  } catch (e) {
    p.status(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
