/**
 * The HTML template, free of the 'vscode' module so the webview tests serve exactly the same page
 * (same CSP) from a local server.
 */
export interface HtmlParams {
  nonce: string;
  /** The webview's cspSource (origin allowed for scripts, styles, fonts, images). */
  cspSource: string;
  /** Maps a path inside the extension folder to a URL the webview can load. */
  asset: (...pathParts: string[]) => string;
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function webviewHtmlTemplate({ nonce, cspSource, asset }: HtmlParams): string {
  const csp = [
    `default-src 'none'`,
    `img-src ${cspSource} data: blob:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `worker-src ${cspSource} blob:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(asset('dist', 'codicons', 'codicon.css'))}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${attr(asset('media', 'webview.css'))}">
<title>QuantLens</title>
</head>
<body>
<div id="app" aria-live="polite"><p class="ql-muted">Loading model…</p></div>
<script nonce="${attr(nonce)}" src="${attr(asset('dist', 'webview.js'))}"></script>
</body>
</html>`;
}
