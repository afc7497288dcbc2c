import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, makeNonce, webviewHtml } from '../../src/views/html';

describe('webview html', () => {
  it('has a strict CSP with a nonce and loads only local resources', () => {
    const nonce = makeNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9]{32}$/);
    const html = webviewHtml({
      cspSource: 'vscode-resource:',
      nonce,
      scriptUri: 'vscode-resource:/dist/webview.js',
      styleUri: 'vscode-resource:/media/agents.css',
      codiconUri: 'vscode-resource:/dist/codicons/codicon.css',
    });
    expect(html).toContain(`script-src 'nonce-${nonce}'`);
    expect(html).toContain(`<script nonce="${nonce}"`);
    expect(contentSecurityPolicy('x:', 'n')).toMatch(/^default-src 'none'/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toContain('unsafe-inline');
    expect(html).toContain('<title>Podium Agents</title>');
  });

  it('serves the history panel from the same shell: its title, no codicons', () => {
    const html = webviewHtml({ cspSource: 'vscode-resource:', nonce: 'n0nce', scriptUri: 'vscode-resource:/dist/history.js', styleUri: 'vscode-resource:/media/history.css', title: 'Podium Usage History' });
    expect(html).toContain('<title>Podium Usage History</title>');
    expect(html).toContain('<script nonce="n0nce" src="vscode-resource:/dist/history.js"></script>');
    expect(html).not.toContain('codicon');
    expect(html.match(/<script/g)).toHaveLength(1);
  });
});
