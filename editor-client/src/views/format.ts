/** Pure formatting helpers shared by the status bar, the cards and the summary panel. */
import type { AgentStatus, Diff, Source, Usage } from '../protocol';

const MINUS = '\u2212';

export function totalTokens(usage: Usage): number {
  return (
    (usage.inputTokens || 0) +
    (usage.outputTokens || 0) +
    (usage.cacheCreationTokens || 0) +
    (usage.cacheReadTokens || 0)
  );
}

/** 999 → "999", 1_500 → "1.5K", 45_200 → "45K", 1_250_000 → "1.3M". */
export function formatTokens(n: number): string {
  const value = Math.max(0, Math.round(n || 0));
  const scale = (v: number, unit: string): string => {
    const digits = v < 10 ? 1 : 0;
    return `${Number(v.toFixed(digits))}${unit}`;
  };
  if (value < 1000) return String(value);
  if (value < 999_500) return scale(value / 1000, 'K');
  if (value < 999_500_000) return scale(value / 1_000_000, 'M');
  return scale(value / 1_000_000_000, 'B');
}

/** "$0.32", "$1,234.50"; a tiny non-zero amount shows as "<$0.01" rather than "$0.00". */
export function formatUSD(amount: number | null | undefined): string {
  const value = Number(amount) || 0;
  if (value > 0 && value < 0.005) return '<$0.01';
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Compact elapsed time: "45s", "12m", "2h 5m", "3d 4h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

export function formatPct(pct: number | null | undefined): string {
  const value = Number(pct) || 0;
  return `${value < 10 && value % 1 !== 0 ? value.toFixed(1) : Math.round(value)}%`;
}

export function sourceTag(source: Source | string): string {
  switch (source) {
    case 'api':
      return 'API';
    case 'proxy':
      return 'Proxy';
    default:
      return 'Sub';
  }
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The usage line of a card, by who pays (seed 004): API and proxy agents show tokens and cost
 * (`45K tokens ($0.32) [API]`), subscription agents show messages (`23 messages [Sub]`), since
 * a plan is metered by messages and its dollars are not real.
 */
export function usageLine(usage: Usage, source: Source | string): string {
  const tag = sourceTag(source);
  if (source === 'subscription') return `${plural(usage.messages || 0, 'message')} [${tag}]`;
  return `${formatTokens(totalTokens(usage))} tokens (${formatUSD(usage.costUSD)}) [${tag}]`;
}

/** Hover text with the full breakdown behind the usage line. */
export function usageDetail(usage: Usage): string {
  const n = (v: number): string => (v || 0).toLocaleString('en-US');
  return [
    `Input: ${n(usage.inputTokens)}`,
    `Output: ${n(usage.outputTokens)}`,
    `Cache write: ${n(usage.cacheCreationTokens)}`,
    `Cache read: ${n(usage.cacheReadTokens)}`,
    `Messages: ${n(usage.messages)}`,
    `Cost (API-equivalent): ${formatUSD(usage.costUSD)}`,
  ].join('\n');
}

/** `+142 −38` (a real minus sign, as in the seed). */
export function diffText(diff: Diff): string {
  return `+${diff.added || 0} ${MINUS}${diff.removed || 0}`;
}

export function diffDetail(diff: Diff): string {
  return `${plural(diff.files || 0, 'file')} changed, ${plural(diff.added || 0, 'line')} added, ${plural(diff.removed || 0, 'line')} removed`;
}

const STATUS_LABELS: Record<AgentStatus, string> = {
  starting: 'Starting',
  working: 'Working',
  waiting: 'Waiting for input',
  idle: 'Idle',
  paused: 'Paused',
  rateLimited: 'Rate limited',
  stopped: 'Stopped',
  exited: 'Exited',
  error: 'Error',
};

export function statusLabel(status: AgentStatus | string): string {
  return STATUS_LABELS[status as AgentStatus] ?? status;
}

/**
 * An elapsed time on a card ("Working for …", "waiting …"): the view re-renders every 10 s, so
 * under ten seconds it says "<10s" rather than a "0s" that reads as nothing happened.
 */
export function formatElapsed(ms: number): string {
  return ms < 10_000 ? '<10s' : formatDuration(ms);
}

/** "Working for 12m", "Exited (code 1) 3m ago". */
export function statusText(
  status: AgentStatus | string,
  sinceMs: number,
  nowMs: number,
  exitCode?: number | null,
): string {
  const elapsed = formatElapsed(nowMs - sinceMs);
  if (status === 'exited') {
    const code = exitCode === null || exitCode === undefined ? '' : ` (code ${exitCode})`;
    return `Exited${code} ${elapsed} ago`;
  }
  if (status === 'stopped') return `Stopped ${elapsed} ago`;
  return `${statusLabel(status)} for ${elapsed}`;
}

/** Codicon name per status (rendered by the webview as a coloured dot + icon). */
export function statusIcon(status: AgentStatus | string): string {
  switch (status) {
    case 'starting':
      return 'loading';
    case 'working':
      return 'sync';
    case 'waiting':
      return 'bell';
    case 'idle':
      return 'circle-outline';
    case 'paused':
      return 'debug-pause';
    case 'rateLimited':
      return 'watch';
    case 'stopped':
      return 'debug-stop';
    case 'exited':
      return 'pass';
    case 'error':
      return 'error';
    default:
      return 'circle-outline';
  }
}

/** Level of a percentage against the warning/critical thresholds (fractions). */
export function pctLevel(
  pct: number,
  warningAt = 0.8,
  criticalAt = 0.95,
): 'ok' | 'warning' | 'error' {
  if (pct >= Math.min(100, criticalAt * 100)) return 'error';
  if (pct >= warningAt * 100) return 'warning';
  return 'ok';
}
