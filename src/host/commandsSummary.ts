/**
 * *Show Model Summary*: the active model's summary as readable text (what `quantlens inspect`
 * prints), in a read-only document beside the model.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelSummary } from '../core/summary';
import { formatSummaryText } from '../core/summaryText';

export const SUMMARY_SCHEME = 'quantlens-summary';

export class SummaryDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(SUMMARY_SCHEME, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? 'QuantLens: this summary is no longer available; run Show Model Summary again.\n';
  }

  /** Opens (or refreshes) the summary of `model` beside it, keeping the focus on the model. */
  async show(model: vscode.Uri, summary: ModelSummary): Promise<vscode.TextDocument> {
    const name = path.posix.basename(model.path);
    // one document per model: the model's path plus a suffix, so the tab reads "mnist-12.onnx (summary)"
    const uri = vscode.Uri.from({ scheme: SUMMARY_SCHEME, path: `${model.path} (summary)`, query: model.toString() });
    this.texts.set(uri.toString(), formatSummaryText(name, summary));
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: true });
    return doc;
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
