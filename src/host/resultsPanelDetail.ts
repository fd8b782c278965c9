/**
 * The results panel's "selected layer" section: when one layer is selected (in the panel or the
 * graph), its weight and activation histograms with the quantizer's grid are computed in a worker
 * (src/host/histogramJob.ts) on the data the model's last analysis used, for the quantization its
 * marks describe. A newer selection cancels the job still running.
 */
import * as vscode from 'vscode';
import type { Recipe } from '../core/quant/recipe';
import type { LayerHistogramsMessage } from '../protocol';
import { requestLayerHistograms } from './histogramJob';
import type { ModelEditorProvider } from './modelEditorProvider';

export class LayerDetailRequests implements vscode.Disposable {
  private running?: { key: string; cts: vscode.CancellationTokenSource };

  constructor(private readonly context: vscode.ExtensionContext, private readonly provider: ModelEditorProvider) {}

  /** Posts 'running', then the histograms of `node` (or a sentence saying why there are none). */
  async show(model: vscode.Uri, node: string, post: (m: LayerHistogramsMessage) => void): Promise<void> {
    const key = `${model.toString()}\n${node}`;
    if (this.running?.key === key) return;
    this.running?.cts.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.running = { key, cts };
    const data = this.context.workspaceState.get<string>(`quantlens.lastData:${model.toString()}`);
    if (!data) {
      this.running = undefined;
      post({ type: 'layerHistograms', node, running: false, error: `Run an analysis on this model first (Run Sensitivity Analysis, Evaluate Quantized Model…): ${node}'s histograms are taken on its data.` });
      return;
    }
    post({ type: 'layerHistograms', node, running: true });
    const doc = [...this.provider.editors].find((r) => r.document.uri.toString() === model.toString())?.document;
    const plan = doc && doc.state.kind === 'loaded' ? doc.marks.toPlan() : {};
    const recipe: Recipe | undefined = Object.keys(plan).length ? { version: 1, mode: 'static', perChannel: true, plan } : undefined;
    try {
      const histograms = await requestLayerHistograms(model, node, {
        extensionPath: this.context.extensionPath, cacheDir: vscode.Uri.joinPath(this.context.globalStorageUri, 'cache').fsPath, data, ...(recipe ? { recipe } : {}),
      }, cts.token);
      if (!cts.token.isCancellationRequested) post({ type: 'layerHistograms', node, running: false, histograms });
    } catch (e) {
      if (!cts.token.isCancellationRequested) post({ type: 'layerHistograms', node, running: false, error: `No histograms for ${node}: ${(e as Error).message}` });
    } finally {
      if (this.running?.cts === cts) this.running = undefined;
      cts.dispose();
    }
  }

  dispose(): void {
    this.running?.cts.cancel();
  }
}
