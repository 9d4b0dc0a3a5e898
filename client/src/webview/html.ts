// The page shell both panels share: a strict CSP (`default-src 'none'`, scripts and styles only
// with a fresh crypto-random nonce) and the bundled browser script from dist/webview.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** A fresh nonce per render: 128 random bits, base64. */
export function createNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The roots every panel may load from: the extension's media and the bundled webview scripts. */
export function extensionRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [
    vscode.Uri.joinPath(extensionUri, 'client', 'media'),
    vscode.Uri.joinPath(extensionUri, 'dist', 'webview'),
  ];
}

/** Builds the HTML of a panel whose body is filled by `dist/webview/<script>.js`. */
export function pageHtml(options: {
  webview: vscode.Webview;
  extensionUri: vscode.Uri;
  script: string;
  title: string;
  /** Serialised initial state for the page, read before the first message arrives. */
  initial?: unknown;
}): string {
  const { webview, extensionUri, script, title } = options;
  const nonce = createNonce();
  const scriptUri = webview.asWebviewUri(
    vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${script}.js`),
  );
  const styleUri = webview.asWebviewUri(
    vscode.Uri.joinPath(extensionUri, 'client', 'media', 'webview.css'),
  );
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `media-src ${webview.cspSource}`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  // JSON inside a <script> must not be able to close the tag.
  const initial = JSON.stringify(options.initial ?? null).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${styleUri}" nonce="${nonce}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main id="app" aria-live="polite"><p class="muted">Loading…</p></main>
<script nonce="${nonce}" id="initial-state" type="application/json">${initial}</script>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
