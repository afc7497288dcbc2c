/** Podium for VS Code: starts `podium serve` and shows its status bar, agent cards and alerts. */
import { join } from 'node:path';
import type * as vscode from 'vscode';
import { RESTART_KEYS } from './common/settings';
import { PodiumState } from './common/state';
import * as api from './common/vscodeapi';
import { Commands } from './commands';
import { Methods, type Alert, type UsageHistory } from './protocol';
import { ServerManager } from './server/client';
import { AgentsViewProvider, AGENTS_VIEW_ID } from './panels/agentsViewProvider';
import { HistoryPanel } from './panels/historyPanel';
import { statusBarForServer, statusBarFromPush, type StatusBarModel } from './views/statusBar';

let server: ServerManager | undefined;

function applyStatusBar(item: vscode.StatusBarItem, model: StatusBarModel): void {
  if (!model.visible) {
    item.hide();
    return;
  }
  item.text = model.text;
  item.tooltip = api.markdown(model.tooltip);
  item.command = model.command;
  item.backgroundColor = model.background
    ? api.themeColor(model.background === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground')
    : undefined;
  item.accessibilityInformation = { label: `Podium: ${model.text.replace(/\$\([^)]*\)\s*/g, '')}` };
  item.show();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = api.createOutputChannel('Podium');
  const state = new PodiumState();
  const item = api.createStatusBarItem('podium.status', 'Podium');
  const view = new AgentsViewProvider(context.extensionUri, state);

  // Alerts are shown by the commands (their buttons act through the server); none arrive
  // before start(), by which time both exist.
  const onAlert = (alert: Alert): void => void commands.showAlert(alert);
  server = new ServerManager(state, output, onAlert);
  const commands = new Commands(server, state, view, output);
  const srv = server;
  const history = new HistoryPanel(context.extensionUri, (params) =>
    srv.request<UsageHistory>(Methods.usageHistory, params),
  );

  state.onChange((change) => {
    if (change.kind === 'statusBar') applyStatusBar(item, statusBarFromPush(change.statusBar));
    if (change.kind === 'server') {
      // an open history panel asks again once a (re)started server answers
      if (change.server.kind === 'running') history.refresh();
      // Running but nothing pushed yet: keep what the item shows until the first push.
      if (change.server.kind === 'running' && !state.statusBar) return;
      applyStatusBar(item, statusBarForServer(change.server, state.statusBar));
    }
  });

  // A Python without Podium: the server's own environment from the wheels the .vsix carries.
  srv.setBundle({ wheels: join(context.extensionPath, 'dist', 'wheels'), storage: context.globalStorageUri.fsPath });
  context.subscriptions.push(
    output,
    item,
    view,
    srv,
    history,
    api.registerWebviewViewProvider(AGENTS_VIEW_ID, view),
    ...commands.register(),
    api.registerCommand('podium.internal.refreshSummary', () => srv.refreshSummary()),
    api.registerCommand('podium.showHistory', () => history.show()),
    api.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('podium')) return;
      if (RESTART_KEYS.some((key) => e.affectsConfiguration(`podium.${key}`))) void srv.restart();
      else void srv.sendSettings();
    }),
  );
  await srv.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
