/** The webview's HTML shell: a strict CSP, nonce'd script, no model data inline. */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { webviewHtmlTemplate } from './webviewHtmlTemplate';

export function makeNonce(): string {
  return crypto.randomBytes(18).toString('base64url');
}

export function buildWebviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtmlTemplate({
    nonce: makeNonce(),
    cspSource: webview.cspSource,
    asset: (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString(),
  });
}
