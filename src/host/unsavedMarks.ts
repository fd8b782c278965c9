/**
 * Unsaved marks, kept in the extension's storage while they are unsaved, so a window reload brings
 * them back even when the workbench loses its own hot-exit record (code-server's web workbench keeps
 * that record in the browser and sometimes comes back without it). VS Code's backup
 * (backupCustomDocument) stays the first source; this store is the second. Closing the editor on
 * purpose ("Don't Save") or saving or reverting clears the entry, so discarded marks never return.
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { parseBackup, serializeBackup, type MarksBackup } from '../core/marks/sidecar';

export class UnsavedMarksStore {
  /** Writes are chained per model so a clear never races an earlier put. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly dir: vscode.Uri) {}

  private file(model: vscode.Uri): vscode.Uri {
    const key = createHash('sha256').update(model.toString()).digest('hex').slice(0, 32);
    return vscode.Uri.joinPath(this.dir, `${key}.json`);
  }

  private enqueue(model: vscode.Uri, work: () => Thenable<void>): Promise<void> {
    const key = model.toString();
    const next = (this.queues.get(key) ?? Promise.resolve()).then(work).then(undefined, () => undefined);
    this.queues.set(key, next);
    return next;
  }

  put(model: vscode.Uri, backup: MarksBackup): Promise<void> {
    const text = JSON.stringify({ model: model.toString(), ...JSON.parse(serializeBackup(backup)) });
    return this.enqueue(model, async () => {
      await vscode.workspace.fs.createDirectory(this.dir);
      await vscode.workspace.fs.writeFile(this.file(model), new TextEncoder().encode(text));
    });
  }

  clear(model: vscode.Uri): Promise<void> {
    return this.enqueue(model, () => vscode.workspace.fs.delete(this.file(model)).then(undefined, () => undefined));
  }

  /** The unsaved marks kept for `model`, or undefined. Throws (naming the problem) on a damaged entry. */
  async get(model: vscode.Uri): Promise<MarksBackup | undefined> {
    await this.queues.get(model.toString());
    let bytes: Uint8Array;
    try {
      bytes = await vscode.workspace.fs.readFile(this.file(model));
    } catch {
      return undefined;
    }
    const text = new TextDecoder().decode(bytes);
    const backup = parseBackup(text);
    // Two model URIs sharing a key would restore someone else's marks: check the name.
    return (JSON.parse(text) as { model?: unknown }).model === model.toString() ? backup : undefined;
  }
}
