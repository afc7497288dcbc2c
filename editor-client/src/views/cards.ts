/** AgentCard (protocol) → what one card in the Agents view shows. Pure. */
import type { AgentCard, AgentStatus, PendingRequest } from '../protocol';
import {
  diffDetail,
  diffText,
  formatElapsed,
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
  /** hover: what the dollars are (a subscription agent's are API-equivalent, not billed) */
  title: string;
}

export interface CardActions {
  pause: boolean;
  resume: boolean;
  stop: boolean;
  remove: boolean;
  terminal: boolean;
  diff: boolean;
}

/** One permission request on a card, with what its buttons say. */
export interface PendingModel {
  requestId: string;
  tool: string;
  summary: string;
  /** "Write src/x.py" */
  label: string;
  /** "waiting 12s" */
  age: string;
  allowAll: string;
}

/** The card's message box: whether it takes a follow-up, and the hint it shows. */
export interface MessageBoxModel {
  enabled: boolean;
  placeholder: string;
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
  /** Resume continues an ended session (`--resume`) rather than a paused process */
  resumeSession: boolean;
  startedAt: number;
  pending: PendingModel[];
  lastTurn: string | null;
  message: MessageBoxModel;
}

export const LIVE: ReadonlySet<string> = new Set(['starting', 'working', 'waiting', 'idle', 'rateLimited']);
export const RUNNING: ReadonlySet<string> = new Set([...LIVE, 'paused']);
export const ENDED: ReadonlySet<string> = new Set(['stopped', 'exited', 'error']);
/**
 * Whether the agent is a session Podium talks to (podium/sendMessage, Resume with --resume): a
 * `claude` agent, or any whose card names the session's permission mode (the server sets it for
 * session profiles only).
 */
export function isSession(card: AgentCard): boolean {
  return card.profile === 'claude' || card.permissionMode != null;
}

export function pendingModel(request: PendingRequest, nowMs: number): PendingModel {
  const tool = request.tool || 'a tool';
  return {
    requestId: request.requestId,
    tool,
    summary: request.summary ?? '',
    label: request.summary ? `${tool} ${request.summary}` : tool,
    age: `waiting ${formatElapsed(nowMs - request.since)}`,
    allowAll: `Allow all ${tool}`,
  };
}

/** Whether the card's message box takes a message now, and else why not. */
export function messageBox(card: AgentCard): MessageBoxModel {
  if (!isSession(card)) {
    return { enabled: false, placeholder: `No messages: ${card.profile} agents run without a session` };
  }
  if (ENDED.has(card.status)) return { enabled: false, placeholder: 'Session ended: Resume to continue it' };
  if (card.status === 'paused') return { enabled: true, placeholder: `Message ${card.name} (queued until it resumes)` };
  if (card.status === 'waiting' || card.status === 'idle') {
    return { enabled: true, placeholder: `Message ${card.name} (Enter to send)` };
  }
  return { enabled: true, placeholder: `Message ${card.name} (queued until this turn ends)` };
}

const ON_LIMIT: Record<string, string> = {
  warn: 'Podium warns you',
  pause: 'Podium pauses it',
  stop: 'Podium stops it',
};

export function limitBar(limit: AgentCard['limit'], source?: AgentCard['source']): LimitBarModel | null {
  if (!limit || !(limit.limitUSD > 0)) return null;
  const used = Math.max(0, Number(limit.usedPct) || 0);
  const spent = (used / 100) * limit.limitUSD;
  const subscription = source === 'subscription';
  return {
    widthPct: Math.min(100, used),
    label: `${formatPct(used)} of ${formatUSD(limit.limitUSD)} limit (${formatUSD(spent)}) · on limit: ${limit.action}`,
    level: pctLevel(used),
    title:
      `${formatUSD(spent)} spent of its ${formatUSD(limit.limitUSD)} limit; at the limit ${ON_LIMIT[limit.action] ?? `Podium acts: ${limit.action}`}` +
      (subscription ? '.\nA subscription agent\'s dollars are API-equivalent: what the API would charge, not a bill.' : '.'),
  };
}

/**
 * Claude Code's own cost next to Podium's where they differ by more than 1% (a price table
 * behind, or usage Podium has not read yet); the dollars are only on API/proxy lines.
 */
export function reportedCostNote(card: AgentCard): string {
  const reported = card.reportedCostUSD;
  if (reported == null || card.source === 'subscription') return '';
  const computed = card.usage.costUSD || 0;
  if (Math.abs(reported - computed) <= 0.01 * Math.max(Math.abs(reported), Math.abs(computed))) return '';
  return ` · Claude Code: ${formatUSD(reported)}`;
}

export function cardModel(card: AgentCard, nowMs: number): CardModel {
  const running = RUNNING.has(card.status);
  const resumeSession = ENDED.has(card.status) && isSession(card);
  return {
    id: card.agentId,
    name: card.name,
    task: card.task,
    status: card.status,
    statusIcon: statusIcon(card.status),
    statusText: statusText(card.status, card.statusSince, nowMs, card.exitCode),
    // waiting on a permission request: the request box below says what it asks, with its buttons
    reason: card.statusReason && !(card.status === 'waiting' && card.pending?.length) ? card.statusReason : null,
    usageLine: usageLine(card.usage, card.source) + reportedCostNote(card),
    usageTitle:
      usageDetail(card.usage) +
      (card.reportedCostUSD != null ? `\nClaude Code's own total: ${formatUSD(card.reportedCostUSD)}` : '') +
      (card.model ? `\nModel: ${card.model}` : '') +
      (card.permissionMode ? `\nPermission mode: ${card.permissionMode}` : ''),
    diffText: diffText(card.diff),
    diffTitle: diffDetail(card.diff),
    branch: card.branch,
    model: card.model ?? null,
    limit: limitBar(card.limit, card.source),
    actions: {
      pause: LIVE.has(card.status),
      resume: card.status === 'paused' || resumeSession,
      stop: running,
      remove: true,
      terminal: Boolean(card.worktree),
      diff: Boolean(card.worktree),
    },
    resumeSession,
    startedAt: card.startedAt,
    pending: (card.pending ?? []).map((request) => pendingModel(request, nowMs)),
    lastTurn: card.lastTurn ? card.lastTurn : null,
    message: messageBox(card),
  };
}

/** Cards in display order: oldest first, as the server lists them. */
export function sortCards(cards: Iterable<AgentCard>): AgentCard[] {
  return [...cards].sort((a, b) => a.startedAt - b.startedAt || a.name.localeCompare(b.name));
}
