/**
 * The results panel's HTML: the webview shell of the graph editor (the same strict CSP: nonce'd
 * scripts only, no 'unsafe-eval', no inline handlers) loading the results bundle instead. Free of
 * the 'vscode' module so the webview tests serve exactly this page.
 */
import { webviewHtmlTemplate, type HtmlParams } from './webviewHtmlTemplate';

/** The shell's script and stylesheet, swapped for the panel's (results.css includes webview.css). */
const SWAP: Record<string, string[]> = {
  'dist/webview.js': ['dist', 'results.js'],
  'media/webview.css': ['dist', 'results.css'],
};

export function resultsPanelHtml({ nonce, cspSource, asset }: HtmlParams): string {
  return webviewHtmlTemplate({ nonce, cspSource, asset: (...p: string[]) => asset(...(SWAP[p.join('/')] ?? p)) })
    .replace('<title>QuantLens</title>', '<title>QuantLens results</title>')
    .replace('Loading model…', 'Loading results…');
}
