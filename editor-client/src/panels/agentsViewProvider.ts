/** Hosts the Agents webview: sends it state, turns its button clicks into commands. */
import type * as vscode from 'vscode';
import type { PodiumState, StateChange } from '../common/state';
import * as api from '../common/vscodeapi';
import type { AnswerPermissionResult, SendMessageResult } from '../protocol';
import type { FromWebview, ToWebview } from '../webview/messages';
import { makeNonce, webviewHtml } from '../views/html';

export const AGENTS_VIEW_ID = 'podium.agents';

function errorText(err: unknown): string {
  return err && typeof err === 'object' && 'message' in err ? String((err as Error).message) : String(err);
}

export class AgentsViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private readonly pending: ToWebview[] = [];
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly state: PodiumState,
  ) {
    this.subscription = state.onChange((change) => this.forward(change));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const dist = api.joinUri(this.extensionUri, 'dist');
    const media = api.joinUri(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    view.webview.html = webviewHtml({
      cspSource: view.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: view.webview.asWebviewUri(api.joinUri(dist, 'webview.js')).toString(),
      styleUri: view.webview.asWebviewUri(api.joinUri(media, 'agents.css')).toString(),
      codiconUri: view.webview.asWebviewUri(api.joinUri(dist, 'codicons', 'codicon.css')).toString(),
    });
    view.webview.onDidReceiveMessage((message: FromWebview) => this.receive(message));
    view.onDidDispose(() => {
      this.view = undefined;
      this.ready = false;
    });
    view.onDidChangeVisibility(() => {
      if (view.visible) void api.executeCommand('podium.internal.refreshSummary');
    });
  }

  async reveal(): Promise<void> {
    await api.executeCommand(`${AGENTS_VIEW_ID}.focus`);
  }

  focusSummary(): void {
    this.post({ type: 'focusSummary' });
  }

  /** Bring a card (and, given a requestId, that pending request) into view. */
  focusAgent(agentId: string, requestId?: string): void {
    this.post({ type: 'focusAgent', agentId, ...(requestId ? { requestId } : {}) });
  }

  dispose(): void {
    this.subscription.dispose();
  }

  private forward(change: StateChange): void {
    switch (change.kind) {
      case 'card':
        this.post({ type: 'card', card: change.card });
        break;
      case 'removed':
        this.post({ type: 'removed', agentId: change.agentId });
        break;
      case 'reset':
        this.sendState();
        break;
      case 'summary':
        this.post({ type: 'summary', summary: change.summary });
        break;
      case 'server':
        this.post({ type: 'server', server: change.server });
        break;
      default:
        break;
    }
  }

  private sendState(): void {
    this.post({
      type: 'state',
      cards: [...this.state.cards.values()],
      summary: this.state.summary,
      server: this.state.server,
    });
  }

  private post(message: ToWebview): void {
    if (!this.view || !this.ready) {
      // Before the script says "ready" only a full state is worth keeping, and where to look.
      if (message.type === 'focusAgent' || message.type === 'focusSummary') {
        this.pending.push(message);
        if (this.pending.length > 4) this.pending.shift();
      }
      return;
    }
    void this.view.webview.postMessage(message);
  }

  /** A follow-up typed in a card: the webview hears back whether it went out or was queued. */
  private async send(agentId: string, text: string): Promise<void> {
    try {
      const result = await api.executeCommand<SendMessageResult>('podium.internal.sendMessage', agentId, text);
      this.post({ type: 'sent', agentId, queued: Boolean(result?.queued) });
    } catch (err) {
      this.post({ type: 'sendFailed', agentId, error: errorText(err) });
    }
  }

  private async answer(message: Extract<FromWebview, { type: 'answer' }>): Promise<void> {
    const { agentId, requestId, decision, scope } = message;
    try {
      await api.executeCommand<AnswerPermissionResult>('podium.internal.answerPermission', agentId, requestId, decision, scope);
    } catch (err) {
      this.post({ type: 'answerFailed', agentId, requestId, error: errorText(err) });
    }
  }

  private receive(message: FromWebview): void {
    switch (message.type) {
      case 'ready': {
        this.ready = true;
        this.sendState();
        for (const queued of this.pending.splice(0)) void this.view?.webview.postMessage(queued);
        break;
      }
      case 'action': {
        const command = {
          pause: 'podium.pauseAgent',
          resume: 'podium.resumeAgent',
          stop: 'podium.stopAgent',
          remove: 'podium.removeAgent',
          terminal: 'podium.openTerminal',
          diff: 'podium.showDiff',
        }[message.action];
        if (command) void api.executeCommand(command, message.agentId);
        break;
      }
      case 'send':
        void this.send(message.agentId, message.text);
        break;
      case 'answer':
        void this.answer(message);
        break;
      case 'command': {
        const command = {
          spawn: 'podium.spawnAgent',
          export: 'podium.exportUsage',
          history: 'podium.showHistory',
          restart: 'podium.restartServer',
          refreshSummary: 'podium.internal.refreshSummary',
          fixSetup: 'podium.fixSetup',
          showLog: 'podium.showOutput',
        }[message.command];
        if (command) void api.executeCommand(command);
        break;
      }
    }
  }
}
