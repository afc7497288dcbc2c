/** The palette / view-title commands and the card buttons. */
import type * as vscode from 'vscode';
import { alertModel, settingsQueryFor } from './common/alerts';
import { parseCustomRange, rangeFor, defaultExportName, type RangeId } from './common/exportRange';
import { INSTALL_INSTRUCTIONS } from './common/python';
import type { PodiumState } from './common/state';
import * as api from './common/vscodeapi';
import {
  type AgentCard,
  type Alert,
  type AnswerPermissionParams,
  type AnswerPermissionResult,
  ErrorCodes,
  type ExportFormat,
  type ExportGroupBy,
  type ExportParams,
  type ExportResult,
  Methods,
  type Decision,
  type DecisionScope,
  type RemoveAgentResult,
  type SendMessageResult,
  type SpawnAgentParams,
} from './protocol';
import type { ServerManager } from './server/client';
import { ENDED, isSession, LIVE, messageBox, RUNNING } from './views/cards';
import { statusText } from './views/format';
import type { AgentsViewProvider } from './panels/agentsViewProvider';

type AgentCommand = 'pause' | 'resume' | 'stop' | 'remove' | 'message';

const APPLIES: Record<AgentCommand, (card: AgentCard) => boolean> = {
  pause: (c) => LIVE.has(c.status),
  resume: (c) => c.status === 'paused' || (ENDED.has(c.status) && isSession(c)),
  stop: (c) => RUNNING.has(c.status),
  remove: () => true,
  message: (c) => messageBox(c).enabled,
};

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) return String((err as Error).message);
  return String(err);
}

function errorCode(err: unknown): number | undefined {
  return err && typeof err === 'object' && 'code' in err ? Number((err as { code: unknown }).code) : undefined;
}

export class Commands {
  constructor(
    private readonly server: ServerManager,
    private readonly state: PodiumState,
    private readonly view: AgentsViewProvider,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    const agentArg = (fn: (id?: string) => Promise<void>) => (arg?: unknown) =>
      fn(typeof arg === 'string' ? arg : (arg as { agentId?: string } | undefined)?.agentId);
    return [
      api.registerCommand('podium.spawnAgent', () => this.spawn()),
      api.registerCommand('podium.pauseAgent', agentArg((id) => this.agentAction('pause', id))),
      api.registerCommand('podium.resumeAgent', agentArg((id) => this.agentAction('resume', id))),
      api.registerCommand('podium.stopAgent', agentArg((id) => this.agentAction('stop', id))),
      api.registerCommand('podium.removeAgent', agentArg((id) => this.remove(id))),
      api.registerCommand('podium.exportUsage', () => this.exportUsage()),
      api.registerCommand('podium.showUsageSummary', () => this.showSummary()),
      api.registerCommand('podium.restartServer', () => this.server.restart()),
      api.registerCommand('podium.showOutput', () => this.output.show(true)),
      api.registerCommand('podium.openAgents', () => this.openAgents()),
      api.registerCommand('podium.sendMessage', (agentId?: unknown) =>
        this.sendMessagePrompt(typeof agentId === 'string' ? agentId : undefined),
      ),
      api.registerCommand('podium.internal.sendMessage', (agentId: string, text: string) =>
        this.server.request<SendMessageResult>(Methods.sendMessage, { agentId, text }),
      ),
      api.registerCommand(
        'podium.internal.answerPermission',
        (agentId: string, requestId: string, decision: Decision, scope: DecisionScope = 'once') =>
          this.answerPermission({ agentId, requestId, decision, scope }),
      ),
      api.registerCommand('podium.fixSetup', () => this.fixSetup()),
      api.registerCommand('podium.openTerminal', agentArg((id) => this.openTerminal(id))),
      api.registerCommand('podium.showDiff', agentArg((id) => this.showDiff(id))),
    ];
  }

  async spawn(): Promise<void> {
    const task = await api.showInputBox({
      title: 'Podium: Spawn Agent (1/3)',
      prompt: 'What should the agent do?',
      placeHolder: 'e.g. Fix the auth bypass in login.py',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'Describe the task'),
    });
    if (task === undefined) return;
    const baseRef = await api.showInputBox({
      title: 'Podium: Spawn Agent (2/3)',
      prompt: 'Base branch, tag or commit for the agent’s new worktree',
      value: 'HEAD',
      ignoreFocusOut: true,
      validateInput: (v) => (/\s/.test(v.trim()) ? 'A git ref has no spaces' : undefined),
    });
    if (baseRef === undefined) return;
    const profiles = api.getConfiguration('podium').get<Record<string, string[]>>('profiles') ?? {};
    const items: (vscode.QuickPickItem & { profile: string })[] = [
      ...Object.entries(profiles).map(([name, argv]) => ({
        label: name,
        description: Array.isArray(argv) ? argv.join(' ') : '',
        profile: name,
      })),
      { label: 'claude', description: 'Claude Code, headless (claude -p)', profile: 'claude' },
      { label: 'codex', description: 'Codex CLI, headless (codex exec)', profile: 'codex' },
      { label: 'gemini', description: 'Gemini CLI, headless (gemini -p)', profile: 'gemini' },
      { label: 'fake', description: 'Simulated agent for demos and tests; no API calls', profile: 'fake' },
    ].filter((item, index, all) => all.findIndex((o) => o.profile === item.profile) === index);
    const picked = await api.showQuickPick(items, {
      title: 'Podium: Spawn Agent (3/3)',
      placeHolder: 'Agent profile',
      ignoreFocusOut: true,
    });
    if (!picked) return;
    const params: SpawnAgentParams = { task: task.trim(), profile: picked.profile };
    if (baseRef.trim() && baseRef.trim() !== 'HEAD') params.baseRef = baseRef.trim();
    try {
      const card = await api.withProgress(`Podium: spawning agent (${picked.profile})…`, () =>
        this.server.request<AgentCard>(Methods.spawnAgent, params),
      );
      this.state.upsertCard(card);
      await this.view.reveal();
      this.view.focusAgent(card.agentId);
    } catch (err) {
      void api.showMessage('error', `Podium: could not spawn the agent: ${errorText(err)}`);
    }
  }

  /**
   * The status bar's click: the Agents view, and the oldest pending request's card when
   * something waits on the user.
   */
  async openAgents(): Promise<void> {
    await this.view.reveal();
    const oldest = this.state.statusBar?.oldestPending;
    if (oldest) this.view.focusAgent(oldest.agentId, oldest.requestId);
  }

  /** "Podium: Send Message to Agent": pick an agent that takes messages, type, send. */
  async sendMessagePrompt(agentId?: string): Promise<void> {
    const card = agentId ? this.state.cards.get(agentId) : await this.pick('message');
    if (!card) return;
    const box = messageBox(card);
    if (!box.enabled) {
      void api.showMessage('info', `Podium: ${card.name} cannot take a message now (${box.placeholder}).`);
      return;
    }
    const text = await api.showInputBox({
      title: `Podium: Message ${card.name}`,
      prompt: 'A follow-up for the agent (sent now, or when its current turn ends)',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'Type a message'),
    });
    if (text === undefined) return;
    try {
      const result = await this.server.request<SendMessageResult>(Methods.sendMessage, { agentId: card.agentId, text });
      api.setStatusBarMessage(
        result.queued ? `$(clock) Podium: message for ${card.name} queued until its turn ends` : `$(check) Podium: message sent to ${card.name}`,
        5000,
      );
    } catch (err) {
      void api.showMessage('error', `Podium: could not message ${card.name}: ${errorText(err)}`);
    }
  }

  answerPermission(params: AnswerPermissionParams): Promise<AnswerPermissionResult> {
    return this.server.request<AnswerPermissionResult>(Methods.answerPermission, params);
  }

  /** A podium/alert as a notification whose buttons act on it. */
  async showAlert(alert: Alert): Promise<void> {
    const model = alertModel(alert);
    const choice = await api.showMessage(model.severity, model.message, ...model.actions);
    if (!choice) return;
    if (choice === 'Resume' && alert.agentId) await api.executeCommand('podium.resumeAgent', alert.agentId);
    if (choice === 'Open Card' && alert.agentId) {
      await this.view.reveal();
      this.view.focusAgent(alert.agentId, alert.scope === 'permission' ? (alert.scopeKey ?? undefined) : undefined);
    }
    if (choice === 'Raise Limit' || choice === 'Open Settings') {
      await api.executeCommand('workbench.action.openSettings', settingsQueryFor(alert));
    }
    if ((choice === 'Allow' || choice === 'Deny') && alert.agentId && alert.scopeKey) {
      const decision = choice === 'Allow' ? 'allow' : 'deny';
      try {
        await this.answerPermission({ agentId: alert.agentId, requestId: alert.scopeKey, decision, scope: 'once' });
      } catch (err) {
        // e.g. answered on the card meanwhile: say so, quietly
        void api.showMessage(errorCode(err) === ErrorCodes.notFound ? 'info' : 'error', `Podium: ${errorText(err)}`);
      }
    }
  }

  async agentAction(action: Exclude<AgentCommand, 'remove' | 'message'>, agentId?: string): Promise<void> {
    const card = agentId ? this.state.cards.get(agentId) : await this.pick(action);
    if (!card) return;
    const method = { pause: Methods.pauseAgent, resume: Methods.resumeAgent, stop: Methods.stopAgent }[action];
    try {
      const updated = await this.server.request<AgentCard>(method, { agentId: card.agentId });
      this.state.upsertCard(updated);
    } catch (err) {
      void api.showMessage('error', `Podium: could not ${action} ${card.name}: ${errorText(err)}`);
    }
  }

  async remove(agentId?: string): Promise<void> {
    const card = agentId ? this.state.cards.get(agentId) : await this.pick('remove');
    if (!card) return;
    const choice = await api.showModalWarning(
      `Remove agent ${card.name}?`,
      `Stops the agent and deletes its worktree (${card.worktree}). The branch ${card.branch} is kept unless you delete it too.`,
      'Remove',
      'Remove and Delete Branch',
    );
    if (!choice) return;
    const deleteBranch = choice === 'Remove and Delete Branch';
    try {
      await this.server.request<RemoveAgentResult>(Methods.removeAgent, { agentId: card.agentId, deleteBranch });
      this.state.removeCard(card.agentId);
    } catch (err) {
      if (errorCode(err) === ErrorCodes.gitError) {
        const force = await api.showMessage(
          'warning',
          `Podium: ${card.name} was not removed: ${errorText(err)}`,
          'Discard Changes and Remove',
        );
        if (force) {
          try {
            await this.server.request(Methods.removeAgent, { agentId: card.agentId, deleteBranch, force: true });
            this.state.removeCard(card.agentId);
          } catch (err2) {
            void api.showMessage('error', `Podium: could not remove ${card.name}: ${errorText(err2)}`);
          }
        }
        return;
      }
      void api.showMessage('error', `Podium: could not remove ${card.name}: ${errorText(err)}`);
    }
  }

  async exportUsage(): Promise<void> {
    const format = await api.showQuickPick(
      [
        { label: 'CSV', description: 'for spreadsheets', value: 'csv' as ExportFormat },
        { label: 'JSON', description: 'for scripts', value: 'json' as ExportFormat },
      ],
      { title: 'Podium: Export Usage (1/4)', placeHolder: 'Format' },
    );
    if (!format) return;
    const group = await api.showQuickPick(
      [
        { label: 'By entry', description: 'one row per model response', value: 'entry' as ExportGroupBy },
        { label: 'By day', value: 'day' as ExportGroupBy },
        { label: 'By agent', value: 'agent' as ExportGroupBy },
        { label: 'By model', value: 'model' as ExportGroupBy },
      ],
      { title: 'Podium: Export Usage (2/4)', placeHolder: 'Rows' },
    );
    if (!group) return;
    const range = await api.showQuickPick(
      [
        { label: 'All time', value: 'all' as RangeId },
        { label: 'Today', value: 'today' as RangeId },
        { label: 'Last 7 days', value: 'last7' as RangeId },
        { label: 'This month', value: 'thisMonth' as RangeId },
        { label: 'Last month', value: 'lastMonth' as RangeId },
        { label: 'Custom range…', description: 'YYYY-MM-DD..YYYY-MM-DD', value: 'custom' as RangeId },
      ],
      { title: 'Podium: Export Usage (3/4)', placeHolder: 'Date range (inclusive, local time)' },
    );
    if (!range) return;
    let dates: { since?: string; until?: string };
    if (range.value === 'custom') {
      const text = await api.showInputBox({
        title: 'Podium: Export Usage (3/4)',
        prompt: 'Dates, inclusive: YYYY-MM-DD..YYYY-MM-DD (either end may be left open)',
        validateInput: (v) => {
          const parsed = parseCustomRange(v);
          return typeof parsed === 'string' ? parsed : undefined;
        },
      });
      if (text === undefined) return;
      const parsed = parseCustomRange(text);
      if (typeof parsed === 'string') return;
      dates = parsed;
    } else {
      dates = rangeFor(range.value, new Date());
    }
    const folder = api.workspaceFolder();
    const name = defaultExportName(group.value, format.value, new Date());
    const exportsDir = folder ? api.joinUri(folder.uri, '.podium', 'exports') : undefined;
    // Podium's own (git-ignored) folder: create it so the dialog does not ask.
    if (exportsDir) await api.ensureDirectory(exportsDir).then(undefined, () => undefined);
    const defaultUri = exportsDir ? api.joinUri(exportsDir, name) : undefined;
    const target = await api.showSaveDialog({
      title: 'Podium: Export Usage (4/4)',
      saveLabel: 'Export',
      defaultUri,
      filters: format.value === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
    });
    if (!target) return;
    // The save dialog already asked before replacing an existing file.
    const params: ExportParams = { format: format.value, groupBy: group.value, path: target.fsPath, overwrite: true, ...dates };
    try {
      const result = await api.withProgress('Podium: exporting usage…', () =>
        this.server.request<ExportResult>(Methods.export, params),
      );
      const choice = await api.showMessage(
        'info',
        `Podium: exported ${result.rows} row${result.rows === 1 ? '' : 's'} to ${result.path}`,
        'Open',
      );
      if (choice === 'Open') await api.openExternalFile(api.fileUri(result.path));
    } catch (err) {
      void api.showMessage('error', `Podium: export failed: ${errorText(err)}`);
    }
  }

  async showSummary(): Promise<void> {
    await this.view.reveal();
    await this.server.refreshSummary();
    this.view.focusSummary();
  }

  async fixSetup(): Promise<void> {
    const server = this.state.server;
    const problem =
      server.kind === 'missingPython'
        ? `Python was not found (${server.python}).`
        : server.kind === 'missingPodium'
          ? `Podium is not installed for ${server.python}.`
          : 'The Podium server is not running.';
    const choice = await api.showMessage(
      'error',
      `Podium: ${problem}`,
      'Set Python Path',
      'Install Instructions',
      'Retry',
    );
    if (choice === 'Set Python Path') {
      await api.executeCommand('workbench.action.openSettings', 'podium.pythonPath');
    } else if (choice === 'Install Instructions') {
      const doc = await api.openTextDocument({ content: INSTALL_INSTRUCTIONS, language: 'markdown' });
      await api.showTextDocument(doc);
    } else if (choice === 'Retry') {
      await this.server.restart();
    }
  }

  async openTerminal(agentId?: string): Promise<void> {
    const card = agentId ? this.state.cards.get(agentId) : await this.pick('remove');
    if (!card) return;
    api.createTerminal(`Podium: ${card.name}`, card.worktree).show();
  }

  /**
   * Shows the agent's changes: the worktree's files changed against the merge base with the
   * workspace's HEAD (committed, uncommitted and untracked) in VS Code's multi-file diff editor,
   * via the built-in git extension. Falls back to opening the worktree in the SCM view.
   */
  async showDiff(agentId?: string): Promise<void> {
    const card = agentId ? this.state.cards.get(agentId) : await this.pick('remove');
    if (!card) return;
    try {
      const { showWorktreeChanges } = await import('./git');
      const shown = await showWorktreeChanges(card, api.workspaceFolder()?.uri);
      if (shown) return;
    } catch (err) {
      this.output.warn(`show diff: ${String(err)}`);
    }
    await api.executeCommand('git.openRepository', card.worktree).then(undefined, () => undefined);
    await api.executeCommand('workbench.view.scm');
  }

  private async pick(action: AgentCommand): Promise<AgentCard | undefined> {
    const cards = [...this.state.cards.values()].filter(APPLIES[action]);
    if (cards.length === 0) {
      void api.showMessage('info', `Podium: no agent to ${action}.`);
      return undefined;
    }
    const now = Date.now();
    const picked = await api.showQuickPick(
      cards.map((card) => ({
        label: card.name,
        description: statusText(card.status, card.statusSince, now, card.exitCode),
        detail: card.task,
        card,
      })),
      { title: action === 'message' ? 'Podium: Send Message to Agent' : `Podium: ${action[0].toUpperCase()}${action.slice(1)} Agent`, placeHolder: 'Agent' },
    );
    return picked?.card;
  }
}
