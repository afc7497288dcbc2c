/** The webviews' HTML shell (Agents view, usage history): strict CSP with a nonce, only local
 * resources. Pure. */

export interface HtmlResources {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  codiconUri?: string;
  /** default: Podium Agents */
  title?: string;
}

export function makeNonce(random: () => number = Math.random): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 32; i++) out += chars.charAt(Math.floor(random() * chars.length));
  return out;
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function webviewHtml(r: HtmlResources): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(r.cspSource, r.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${r.codiconUri ? `<link href="${attr(r.codiconUri)}" rel="stylesheet">\n` : ''}<link href="${attr(r.styleUri)}" rel="stylesheet">
<title>${attr(r.title ?? 'Podium Agents')}</title>
</head>
<body>
<main id="app"></main>
<script nonce="${attr(r.nonce)}" src="${attr(r.scriptUri)}"></script>
</body>
</html>`;
}
