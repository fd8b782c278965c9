/**
 * Where the measuring commands drop their results for the results panel: the newest of each kind
 * per model (this window only), and an event the panels listen to. The commands only call it; they
 * never need to know whether a panel is open.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AutotuneResult } from '../core/eval/autotune';
import type { RobustnessReport } from '../core/eval/robustness';
import type { ResultsReport } from '../core/report';
import type { LayerResultsMessage } from '../protocol';
import type { PanelInputs } from './resultsPanelState';

type Kept = Pick<PanelInputs, 'evaluation' | 'layers' | 'robustness' | 'autotune'>;

/** A readable name for where per-layer numbers came from (the keepReport kind). */
function sourceName(kind: string): string {
  if (kind === 'sensitivity') return 'Run Sensitivity Analysis';
  if (kind === 'layers') return 'Compare Models';
  if (kind.startsWith('import:')) return path.basename(kind.slice('import:'.length));
  return kind;
}

class ResultsFeed {
  private readonly kept = new Map<string, Kept>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Fires with the model whose results changed. */
  readonly onDidChange = this.changed.event;

  private update(model: vscode.Uri, change: (k: Kept) => void): void {
    const k = this.kept.get(model.toString()) ?? {};
    change(k);
    this.kept.set(model.toString(), k);
    this.changed.fire(model);
  }

  /** A finished results report (evaluation, sensitivity, layer comparison, import). */
  report(model: vscode.Uri, kind: string, r: ResultsReport): void {
    if (!r.evaluation && !r.layers.length) return;
    this.update(model, (k) => {
      if (r.evaluation) k.evaluation = r;
      if (r.layers.length) k.layers = { kind: 'report', source: sourceName(kind), report: r };
    });
  }

  /** Layers of a run still streaming in (its finished report follows through `report`). */
  stream(model: vscode.Uri, message: LayerResultsMessage): void {
    if (!message.done) this.update(model, (k) => { k.layers = { kind: 'stream', message }; });
  }

  robustness(model: vscode.Uri, r: RobustnessReport): void {
    this.update(model, (k) => { k.robustness = r; });
  }

  autotune(model: vscode.Uri, r: AutotuneResult): void {
    this.update(model, (k) => { k.autotune = r; });
  }

  inputsOf(model: vscode.Uri): Kept {
    return { ...this.kept.get(model.toString()) };
  }
}

export const resultsFeed = new ResultsFeed();
