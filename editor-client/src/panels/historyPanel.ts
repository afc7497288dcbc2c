/**
 * The usage history editor panel (issue 17): one at a time (shown again if open). Its webview
 * asks for `podium/usageHistory` with the controls' params; the host forwards each query to the
 * server and posts the answer back.
 */
import type * as vscode from 'vscode';
import { answerQuery, parseFromHistory, type HistoryRequest } from '../common/historyQuery';
import * as api from '../common/vscodeapi';
import type { ToHistory } from '../webview/history/messages';
import { makeNonce, webviewHtml } from '../views/html';

export const HISTORY_VIEW_TYPE = 'podium.history';
export const HISTORY_TITLE = 'Podium: Usage History';

export class HistoryPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly request: HistoryRequest,
  ) {}

  /** Open the panel, or bring the open one forward with fresh numbers. */
  show(): void {
    if (this.panel) {
      this.panel.reveal();
      this.post({ type: 'refresh' });
      return;
    }
    const dist = api.joinUri(this.extensionUri, 'dist');
    const media = api.joinUri(this.extensionUri, 'media');
    const panel = api.createWebviewPanel(HISTORY_VIEW_TYPE, HISTORY_TITLE, [dist, media]);
    panel.iconPath = api.joinUri(media, 'podium.svg');
    panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw));
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
    });
    panel.webview.html = webviewHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: panel.webview.asWebviewUri(api.joinUri(dist, 'history.js')).toString(),
      styleUri: panel.webview.asWebviewUri(api.joinUri(media, 'history.css')).toString(),
      title: 'Podium Usage History',
    });
    this.panel = panel;
  }

  /** After a server restart: the open panel asks again. */
  refresh(): void {
    this.post({ type: 'refresh' });
  }

  dispose(): void {
    this.panel?.dispose();
    this.panel = undefined;
  }

  private post(message: ToHistory): void {
    void this.panel?.webview.postMessage(message);
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseFromHistory(raw);
    if (message?.type !== 'query') return;
    this.post(await answerQuery(this.request, message));
  }
}
