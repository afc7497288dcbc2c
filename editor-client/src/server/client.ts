/**
 * Starts `podium serve` over stdio with vscode-languageclient, restarts it with backoff when it
 * crashes (and says so), and feeds its notifications into PodiumState.
 */
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
  type DynamicFeature,
  type StaticFeature,
} from 'vscode-languageclient/node';
import type * as vscode from 'vscode';
import { Backoff } from '../common/backoff';
import { MirrorFilter } from '../common/alerts';
import { choosePython, classifyPreflight, PREFLIGHT_CODE, type PreflightResult } from '../common/python';
import { serverEnvironment, serverSettings } from '../common/settings';
import { type BundleLocation, type BundleResult, ensureBundledEnvironment } from './bundled';
import type { PodiumState } from '../common/state';
import * as api from '../common/vscodeapi';
import {
  type Alert,
  type AgentCardNotification,
  type AgentRemovedNotification,
  type ListAgentsResult,
  Methods,
  Notifications,
  type StatusBar,
  type UsageSummary,
} from '../protocol';

/**
 * The server also offers every request as a workspace/executeCommand command named like ours
 * (podium.spawnAgent, …). The stock client would register those names as VS Code commands and
 * collide with the extension's own; our commands call the podium/* requests directly instead.
 */
class PodiumLanguageClient extends LanguageClient {
  override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const method = (feature as Partial<DynamicFeature<unknown>>).registrationType?.method;
    if (method === 'workspace/executeCommand') return;
    super.registerFeature(feature);
  }
}

interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined };
  settings?: { getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } };
}

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly backoff = new Backoff();
  private readonly mirrors = new MirrorFilter();
  private startedAt = 0;
  private stopping = false;
  private bundle: BundleLocation | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSummaryAt = 0;
  private generation = 0;
  private restartScheduledFor = -1;
  private readonly restartNotice: { open: boolean; message: string } = {
    open: false,
    message: '',
  };

  constructor(
    private readonly state: PodiumState,
    private readonly output: vscode.LogOutputChannel,
    private readonly onAlert: (alert: Alert) => void,
  ) {}

  get running(): boolean {
    return this.client?.isRunning() ?? false;
  }

  /** Start (or restart) the server; never throws, reports problems through the state. */
  async start(): Promise<void> {
    const generation = ++this.generation;
    this.clearRestartTimer();
    const restart = this.startedAt > 0;
    this.state.clearStatusBar();
    this.state.setServer({ kind: 'starting', restart });
    const folder = api.workspaceFolder();
    const config = api.getConfiguration('podium', folder?.uri);
    let python = choosePython(
      config.get<string>('pythonPath'),
      await this.pythonFromExtension(folder?.uri),
      folder?.uri.fsPath,
      os.homedir(),
    );
    const env = serverEnvironment(process.env, config.get('serverEnv'));
    this.output.info(`Using Python ${python.command} (from ${python.origin})`);
    let preflight = await this.preflight(python.command, env, folder?.uri.fsPath);
    if (generation !== this.generation) return;
    if (!preflight.ok && preflight.problem === 'missingPodium' && this.bundle) {
      // A Python without Podium: Podium's own environment, built from the wheel we carry.
      const bundled = await this.bundledPython(this.bundle, python.command, env);
      if (generation !== this.generation) return;
      if (bundled.ok) {
        python = { command: bundled.python, origin: 'bundled' };
        this.output.info(`Using Podium's own environment ${bundled.python}`);
        preflight = await this.preflight(python.command, env, folder?.uri.fsPath);
        if (generation !== this.generation) return;
      } else {
        preflight = { ok: false, problem: 'missingPodium', detail: bundled.detail };
        void api.showMessage('error', `Podium could not set up its Python environment: ${bundled.detail}`);
      }
    }
    if (!preflight.ok) {
      this.output.error(`Cannot start Podium with ${python.command}: ${preflight.detail}`);
      this.state.setServer({ kind: preflight.problem, python: python.command, detail: preflight.detail });
      return;
    }
    this.output.info(`podium ${preflight.version}`);

    const serverOptions: ServerOptions = {
      command: python.command,
      args: ['-m', 'podium', 'serve'],
      transport: TransportKind.stdio,
      options: { env, cwd: folder?.uri.fsPath },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.output,
      initializationOptions: serverSettings((key) => config.get(key)),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          if (!this.stopping && generation === this.generation) this.scheduleRestart('the process exited', generation);
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new PodiumLanguageClient('podium', 'Podium', serverOptions, clientOptions);
    this.client = client;
    client.onNotification(Notifications.statusBar, (push: StatusBar) => {
      this.state.setStatusBar(push);
      this.refreshSummarySoon();
    });
    client.onNotification(Notifications.agentCard, (p: AgentCardNotification) => {
      this.state.upsertCard(p.card);
    });
    client.onNotification(Notifications.agentRemoved, (p: AgentRemovedNotification) => {
      this.state.removeCard(p.agentId);
      this.refreshSummarySoon();
    });
    client.onNotification(Notifications.alert, (alert: Alert) => {
      this.mirrors.noteAlert(alert.message, Date.now());
      this.onAlert(alert);
    });
    // Alerts arrive twice (podium/alert and its window/showMessage mirror): show each once.
    client.onNotification('window/showMessage', (p: { type: number; message: string }) => {
      setTimeout(() => {
        if (this.mirrors.isMirror(p.message, Date.now())) return;
        const severity = p.type === 1 ? 'error' : p.type === 2 ? 'warning' : 'info';
        void api.showMessage(severity, p.message);
      }, 300);
    });

    this.stopping = false;
    this.startedAt = Date.now();
    try {
      await client.start();
    } catch (err) {
      if (generation !== this.generation) return;
      this.output.error(`Podium server failed to start: ${String(err)}`);
      this.scheduleRestart(String(err), generation);
      return;
    }
    if (generation !== this.generation) return;
    this.state.setServer({ kind: 'running' });
    try {
      const list = await client.sendRequest<ListAgentsResult>(Methods.listAgents, {});
      this.state.resetCards(list.agents ?? []);
    } catch (err) {
      this.output.warn(`listAgents failed: ${String(err)}`);
    }
    void this.refreshSummary();
  }

  async stop(): Promise<void> {
    this.generation++;
    this.clearRestartTimer();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.stopping = true;
    try {
      if (client.isRunning()) await client.stop(5000);
    } catch (err) {
      this.output.warn(`stopping the server: ${String(err)}`);
    } finally {
      this.stopping = false;
    }
  }

  async restart(): Promise<void> {
    this.output.info('Restarting the Podium server');
    this.backoff.reset();
    await this.stop();
    await this.start();
  }

  /** A podium/* request; rejects with a readable Error when the server is not running. */
  async request<T>(method: string, params: object): Promise<T> {
    const client = this.client;
    if (!client || !client.isRunning()) {
      throw new Error('The Podium server is not running. Run "Podium: Restart Server".');
    }
    return client.sendRequest<T>(method, params);
  }

  /** Forward changed settings (the server re-renders and pushes what changed). */
  async sendSettings(): Promise<void> {
    const client = this.client;
    if (!client || !client.isRunning()) return;
    const config = api.getConfiguration('podium', api.workspaceFolder()?.uri);
    await client.sendNotification('workspace/didChangeConfiguration', {
      settings: { podium: serverSettings((key) => config.get(key)) },
    });
    this.refreshSummarySoon();
  }

  async refreshSummary(): Promise<UsageSummary | undefined> {
    this.lastSummaryAt = Date.now();
    try {
      const summary = await this.request<UsageSummary>(Methods.usageSummary, {});
      this.state.setSummary(summary);
      return summary;
    } catch (err) {
      this.output.debug(`usageSummary: ${String(err)}`);
      return undefined;
    }
  }

  /** At most one summary request per 2 s, trailing, so a burst of pushes costs one request. */
  refreshSummarySoon(): void {
    if (this.summaryTimer) return;
    const wait = Math.max(0, 2000 - (Date.now() - this.lastSummaryAt));
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = undefined;
      void this.refreshSummary();
    }, wait);
  }

  dispose(): void {
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    void this.stop();
  }

  private scheduleRestart(reason: string, generation: number): void {
    // A failed start can be reported twice (start() rejects and the close handler runs).
    if (this.restartScheduledFor === generation) return;
    this.restartScheduledFor = generation;
    const plan = this.backoff.next(Date.now() - this.startedAt);
    const old = this.client;
    this.client = undefined;
    void old?.dispose().catch(() => undefined);
    if (!plan) {
      const message = `Podium server keeps crashing (${reason}); not restarting. See the "Podium" output.`;
      this.output.error(message);
      this.state.setServer({ kind: 'stopped', reason });
      void api.showMessage('error', message, 'Restart Server', 'Show Log').then((choice) => {
        if (choice === 'Restart Server') void this.restart();
        if (choice === 'Show Log') this.output.show(true);
      });
      return;
    }
    const detail = `${reason}; restarting in ${Math.round(plan.delayMs / 1000)} s (attempt ${plan.attempt})`;
    this.output.warn(`Podium server stopped unexpectedly: ${detail}`);
    this.announceRestart(detail);
    this.state.setServer({ kind: 'restarting', attempt: plan.attempt, delayMs: plan.delayMs, reason });
    this.clearRestartTimer();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.start();
    }, plan.delayMs);
  }

  /**
   * Says so while the server restarts: one progress notification for the whole series of
   * attempts, which closes by itself once the server runs again (or has been given up on).
   */
  private announceRestart(message: string): void {
    this.restartNotice.message = message;
    if (this.restartNotice.open) return;
    this.restartNotice.open = true;
    void api.withProgressMessage('Podium server stopped unexpectedly', message, (report) => {
      return new Promise<void>((resolve) => {
        const sub = this.state.onChange((change) => {
          if (change.kind !== 'server') return;
          if (change.server.kind === 'restarting') report(this.restartNotice.message);
          if (change.server.kind === 'restarting' || change.server.kind === 'starting') return;
          sub.dispose();
          this.restartNotice.open = false;
          if (change.server.kind === 'running') api.setStatusBarMessage('$(check) Podium server restarted', 5000);
          resolve();
        });
      });
    });
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private async pythonFromExtension(resource?: vscode.Uri): Promise<string | undefined> {
    const ext = api.getExtension<PythonExtensionApi>('ms-python.python');
    if (!ext) return undefined;
    try {
      const pyApi = ext.isActive ? ext.exports : await ext.activate();
      const active = pyApi?.environments?.getActiveEnvironmentPath(resource)?.path;
      if (active) return active;
      return pyApi?.settings?.getExecutionDetails(resource)?.execCommand?.[0];
    } catch (err) {
      this.output.warn(`Python extension: ${String(err)}`);
      return undefined;
    }
  }

  /** Where the .vsix's wheels are and where Podium's own environment may be built. */
  setBundle(location: BundleLocation): void {
    this.bundle = location;
  }

  private async bundledPython(where: BundleLocation, base: string, env: Record<string, string>): Promise<BundleResult> {
    let result: BundleResult = { ok: false, detail: 'not attempted' };
    await api.withProgressMessage('Podium: setting up its Python environment', 'checking…', async (report) => {
      result = await ensureBundledEnvironment(where, base, env, report);
    });
    return result;
  }

  private preflight(python: string, env: Record<string, string>, cwd?: string): Promise<PreflightResult> {
    return new Promise((resolve) => {
      execFile(
        python,
        ['-c', PREFLIGHT_CODE],
        { env, cwd, timeout: 30_000, windowsHide: true },
        (error, stdout, stderr) => {
          const spawnError =
            error && typeof (error as NodeJS.ErrnoException).code === 'string'
              ? ((error as NodeJS.ErrnoException).code as string)
              : undefined;
          const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve(classifyPreflight(spawnError, exitCode, String(stdout), String(stderr)));
        },
      );
    });
  }
}
