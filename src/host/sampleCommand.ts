/**
 * `QuantLens: Open the Sample Model` (the Get Started walkthrough's first step): copies the bundled
 * MNIST model, its 200 calibration images and their labels into a folder of their own (the first
 * workspace folder's `quantlens-sample/`, else the extension's global storage) and opens the model,
 * so marks, recipes and quantized models are written there and never into the extension.
 */
import * as vscode from 'vscode';

export const SAMPLE_FILES = ['mnist-12.onnx', 'mnist-200-images-idx3-ubyte.gz', 'mnist-200-labels-idx1-ubyte.gz', 'README.md'];

export async function openSample(context: vscode.ExtensionContext, viewType: string): Promise<vscode.Uri> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const target = folder ? vscode.Uri.joinPath(folder.uri, 'quantlens-sample') : vscode.Uri.joinPath(context.globalStorageUri, 'sample');
  await vscode.workspace.fs.createDirectory(target);
  for (const f of SAMPLE_FILES) {
    const dest = vscode.Uri.joinPath(target, f);
    // Files already there are the user's (marked, maybe changed): never overwritten.
    const exists = await vscode.workspace.fs.stat(dest).then(() => true, () => false);
    if (!exists) await vscode.workspace.fs.copy(vscode.Uri.joinPath(context.extensionUri, 'samples', f), dest);
  }
  const model = vscode.Uri.joinPath(target, 'mnist-12.onnx');
  await vscode.commands.executeCommand('vscode.openWith', model, viewType);
  return model;
}
