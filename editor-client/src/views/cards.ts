/** AgentCard (protocol) → what one card in the Agents view shows. Pure. */
import type { AgentCard, AgentStatus } from '../protocol';
import {
  diffDetail,
  diffText,
  formatPct,
  formatUSD,
  pctLevel,
  statusIcon,
  statusText,
  usageDetail,
  usageLine,
} from './format';

export interface LimitBarModel {
  /** 0–100, clamped for the bar's width */
  widthPct: number;
  label: string;
  level: 'ok' | 'warning' | 'error';
}

export interface CardActions {
  pause: boolean;
  resume: boolean;
  stop: boolean;
  remove: boolean;
  terminal: boolean;
  diff: boolean;
}

export interface CardModel {
  id: string;
  name: string;
  task: string;
  status: AgentStatus | string;
  statusIcon: string;
  statusText: string;
  /** the reason shown under the status, e.g. why a limit paused it */
  reason: string | null;
  usageLine: string;
  usageTitle: string;
  diffText: string;
  diffTitle: string;
  branch: string;
  model: string | null;
  limit: LimitBarModel | null;
  actions: CardActions;
  startedAt: number;
}

const LIVE: ReadonlySet<string> = new Set(['starting', 'working', 'waiting', 'idle']);
const RUNNING: ReadonlySet<string> = new Set(['starting', 'working', 'waiting', 'idle', 'paused']);

export function limitBar(limit: AgentCard['limit']): LimitBarModel | null {
  if (!limit || !(limit.limitUSD > 0)) return null;
  const used = Math.max(0, Number(limit.usedPct) || 0);
  const spent = (used / 100) * limit.limitUSD;
  return {
    widthPct: Math.min(100, used),
    label: `${formatPct(used)} of ${formatUSD(limit.limitUSD)} limit (${formatUSD(spent)}) · on limit: ${limit.action}`,
    level: pctLevel(used),
  };
}

export function cardModel(card: AgentCard, nowMs: number): CardModel {
  const running = RUNNING.has(card.status);
  return {
    id: card.agentId,
    name: card.name,
    task: card.task,
    status: card.status,
    statusIcon: statusIcon(card.status),
    statusText: statusText(card.status, card.statusSince, nowMs, card.exitCode),
    reason: card.statusReason ? card.statusReason : null,
    usageLine: usageLine(card.usage, card.source),
    usageTitle: usageDetail(card.usage) + (card.model ? `\nModel: ${card.model}` : ''),
    diffText: diffText(card.diff),
    diffTitle: diffDetail(card.diff),
    branch: card.branch,
    model: card.model ?? null,
    limit: limitBar(card.limit),
    actions: {
      pause: LIVE.has(card.status),
      resume: card.status === 'paused',
      stop: running,
      remove: true,
      terminal: Boolean(card.worktree),
      diff: Boolean(card.worktree),
    },
    startedAt: card.startedAt,
  };
}

/** Cards in display order: oldest first, as the server lists them. */
export function sortCards(cards: Iterable<AgentCard>): AgentCard[] {
  return [...cards].sort((a, b) => a.startedAt - b.startedAt || a.name.localeCompare(b.name));
}
