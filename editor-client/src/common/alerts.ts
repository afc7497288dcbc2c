/** podium/alert → a notification with actions; and de-duplication of the showMessage mirror. */
import type { Alert } from '../protocol';

export type AlertAction = 'Allow' | 'Deny' | 'Resume' | 'Open Card' | 'Raise Limit' | 'Open Settings';

export interface AlertModel {
  severity: 'info' | 'warning' | 'error';
  message: string;
  actions: AlertAction[];
}

export function alertModel(alert: Alert): AlertModel {
  const severity = alert.level === 'critical' ? 'error' : alert.level === 'warning' ? 'warning' : 'info';
  const actions: AlertAction[] = [];
  // A permission request (scopeKey: its requestId) is answered right from the notification.
  if (alert.scope === 'permission' && alert.agentId && alert.scopeKey) actions.push('Allow', 'Deny');
  if (alert.agentId && alert.action === 'pause') actions.push('Resume');
  if (alert.agentId) actions.push('Open Card');
  if (alert.scope === 'plan' || alert.scope === 'rate_limit') actions.push('Open Settings');
  else if (alert.limit != null || alert.action) actions.push('Raise Limit');
  return { severity, message: `Podium: ${alert.message}`, actions };
}

/** The settings query that "Raise Limit" / "Open Settings" opens, by alert scope. */
export function settingsQueryFor(alert: Alert): string {
  if (alert.scope === 'plan') return 'podium.plan';
  if (alert.scope === 'rate_limit') return 'podium.onRateLimit';
  return 'podium.limits';
}

/**
 * The server mirrors each podium/alert as window/showMessage for clients that ignore alerts.
 * We show the alert (it has actions) and drop its mirror, whichever arrives first.
 */
export class MirrorFilter {
  private readonly recent = new Map<string, number>();

  constructor(private readonly windowMs = 5000) {}

  /** Record an alert's text. */
  noteAlert(message: string, nowMs: number): void {
    this.prune(nowMs);
    this.recent.set(normalize(message), nowMs);
  }

  /** True when a showMessage is the mirror of a recent alert and should not be shown. */
  isMirror(message: string, nowMs: number): boolean {
    this.prune(nowMs);
    return this.recent.has(normalize(message));
  }

  private prune(nowMs: number): void {
    for (const [text, at] of this.recent) if (nowMs - at > this.windowMs) this.recent.delete(text);
  }
}

/** The mirror is the alert's text prefixed with "Podium: ". */
function normalize(message: string): string {
  return message.trim().replace(/^Podium:\s*/, '');
}
