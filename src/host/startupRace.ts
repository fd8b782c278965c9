/**
 * Model files that VS Code opened before QuantLens's editor was registered show the "binary file"
 * placeholder of the text editor (a startup race: restored sessions, files opened from a URL). This
 * reopens such tabs in QuantLens, right after activation and for a short while after it, and on
 * demand through the command `quantlens.reopenModelTabs`.
 */
import * as vscode from 'vscode';

const MODEL_FILE = /\.(onnx|tflite)$/i;
/** How long after activation late-opening placeholder tabs are still fixed up. */
const STARTUP_WINDOW_MS = 15_000;

function modelTabsShownAsText(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) =>
    g.tabs.filter((t) => t.input instanceof vscode.TabInputText && MODEL_FILE.test(t.input.uri.path)),
  );
}

/** Reopens every model file shown by the text editor in the QuantLens editor; returns how many. */
export async function reopenModelTabs(viewType: string): Promise<number> {
  let n = 0;
  for (const tab of modelTabsShownAsText()) {
    const uri = (tab.input as vscode.TabInputText).uri;
    await vscode.commands.executeCommand('vscode.openWith', uri, viewType, {
      viewColumn: tab.group.viewColumn,
      preserveFocus: !tab.isActive,
      preview: tab.isPreview,
    });
    // The tab may already be gone if the open replaced it in place.
    await vscode.window.tabGroups.close(tab).then(undefined, () => false);
    n++;
  }
  return n;
}

export function fixStartupRace(context: vscode.ExtensionContext, viewType: string, log: vscode.LogOutputChannel): void {
  const fix = () =>
    reopenModelTabs(viewType).then(
      (n) => n && log.info(`Reopened ${n} model file(s) that opened before QuantLens was ready.`),
      (e: unknown) => log.warn(`Could not reopen model tabs: ${String(e)}`),
    );
  void fix();
  const sub = vscode.window.tabGroups.onDidChangeTabs((e) => {
    if (e.opened.some((t) => t.input instanceof vscode.TabInputText && MODEL_FILE.test(t.input.uri.path))) void fix();
  });
  const timer = setTimeout(() => sub.dispose(), STARTUP_WINDOW_MS);
  context.subscriptions.push(sub, { dispose: () => clearTimeout(timer) });
}
