/**
 * What the status bar item shows: the server's push, or the state of the server itself when it
 * is not running. Pure: the extension applies a StatusBarModel to a real StatusBarItem.
 */
import type { Severity, StatusBar } from '../protocol';

export type ServerState =
  | { kind: 'starting'; restart?: boolean }
  | { kind: 'running' }
  | { kind: 'restarting'; attempt: number; delayMs: number; reason?: string }
  | { kind: 'stopped'; reason: string }
  | { kind: 'missingPython'; python: string; detail?: string }
  | { kind: 'missingPodium'; python: string; detail?: string };

export interface StatusBarModel {
  visible: boolean;
  text: string;
  /** markdown */
  tooltip: string;
  background: 'warning' | 'error' | null;
  command: string;
}

export const OPEN_AGENTS_COMMAND = 'podium.openAgents';
export const FIX_SETUP_COMMAND = 'podium.fixSetup';
export const RESTART_COMMAND = 'podium.restartServer';

/** "3 s" until the restart; a sub-second backoff still says "1 s", never "0 s". */
export function restartDelay(delayMs: number): string {
  return `${Math.max(1, Math.round(delayMs / 1000))} s`;
}

function iconFor(severity: Severity | string): string {
  if (severity === 'error') return '$(error)';
  if (severity === 'warning') return '$(warning)';
  return '$(hubot)';
}

/** The model for a podium/statusBar push. */
export function statusBarFromPush(push: StatusBar): StatusBarModel {
  const background = push.severity === 'error' ? 'error' : push.severity === 'warning' ? 'warning' : null;
  // The click opens the oldest pending request's card (commands.ts, openAgents) when there is one.
  const click = push.oldestPending
    ? '$(shield) Click to answer the oldest pending request'
    : '$(hubot) Click to open the Podium Agents view';
  const tooltip = `${push.tooltip.trim()}\n\n---\n\n${click}`;
  return {
    visible: true,
    text: `${iconFor(push.severity)} ${push.text}`,
    tooltip,
    background,
    command: OPEN_AGENTS_COMMAND,
  };
}

/**
 * The model while the server is not (yet) pushing. `last` is the most recent push, if any:
 * before the first push the item stays hidden unless something is wrong.
 */
export function statusBarForServer(state: ServerState, last: StatusBar | null): StatusBarModel {
  switch (state.kind) {
    case 'running':
      return last ? statusBarFromPush(last) : hidden();
    case 'starting':
      if (last) return statusBarFromPush(last);
      // First start: hidden until the first push. A restart: say so until the new push.
      return state.restart
        ? {
            visible: true,
            text: '$(sync~spin) Podium: starting',
            tooltip: 'Starting the Podium server…',
            background: null,
            command: 'podium.showOutput',
          }
        : hidden();
    case 'restarting':
      return {
        visible: true,
        text: '$(sync~spin) Podium: restarting',
        tooltip:
          `**Podium server stopped unexpectedly**${state.reason ? `: ${state.reason}` : ''}.\n\n` +
          `Restarting in ${restartDelay(state.delayMs)} (attempt ${state.attempt}). ` +
          'Click to show the server log.',
        background: 'warning',
        command: 'podium.showOutput',
      };
    case 'stopped':
      return {
        visible: true,
        text: '$(debug-disconnect) Podium: server down',
        tooltip: `**Podium server is not running**: ${state.reason}\n\nClick to restart it.`,
        background: 'error',
        command: RESTART_COMMAND,
      };
    case 'missingPython':
      return {
        visible: true,
        text: '$(error) Podium: Python not found',
        tooltip:
          `**Podium needs Python.** \`${state.python}\` could not be run${state.detail ? ` (${state.detail})` : ''}.\n\n` +
          'Click to set `podium.pythonPath` or see install instructions.',
        background: 'error',
        command: FIX_SETUP_COMMAND,
      };
    case 'missingPodium':
      return {
        visible: true,
        text: '$(error) Podium: not installed',
        tooltip:
          `**Podium is not installed** for \`${state.python}\`${state.detail ? ` (${state.detail})` : ''}.\n\n` +
          'Click to set `podium.pythonPath` or see install instructions.',
        background: 'error',
        command: FIX_SETUP_COMMAND,
      };
  }
}

function hidden(): StatusBarModel {
  return { visible: false, text: '', tooltip: '', background: null, command: OPEN_AGENTS_COMMAND };
}
