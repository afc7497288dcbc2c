/** UsageSummary (protocol) → the usage summary panel above the cards. Pure. */
import type { PlanWindowInfo, Usage, UsageSummary } from '../protocol';
import {
  formatDuration,
  formatPct,
  formatTokens,
  formatUSD,
  pctLevel,
  plural,
  sourceTag,
  totalTokens,
} from './format';

export const PLAN_NAMES: Record<string, string> = {
  pro: 'Claude Pro',
  max5: 'Claude Max 5x',
  max20: 'Claude Max 20x',
  team: 'Claude Team',
  custom: 'Custom plan',
};

export interface BarModel {
  label: string;
  widthPct: number;
  level: 'ok' | 'warning' | 'error';
  /** e.g. "official · 2m ago" or "estimate · stale: …" */
  detail: string;
  stale: boolean;
}

export interface AgentBarModel {
  id: string;
  name: string;
  usage: string;
  tag: string;
  widthPct: number;
  kind: 'Plan' | 'API' | 'Proxy';
  /** what the bar's length means */
  title: string;
}

export interface SummaryModel {
  showPlan: boolean;
  showApi: boolean;
  planTitle: string;
  fiveHour: BarModel | null;
  sevenDay: BarModel | null;
  planNote: string | null;
  apiTitle: string;
  apiToday: string;
  apiMonth: string;
  todayLine: string;
  limitsLine: string | null;
  agents: AgentBarModel[];
  /** the History button's badge: how many insights apply (null: none), its name and hover text */
  insightBadge: string | null;
  historyLabel: string;
  historyTitle: string;
  generatedAt: number;
}

function sourceLabel(source: string): string {
  return source === 'estimate' ? 'estimate' : source;
}

/** ` · cache hits 93%`: the share of input-side tokens read from the prompt cache ('' if none). */
export function cacheHits(usage: Usage): string {
  const read = usage.cacheReadTokens || 0;
  const inputSide = (usage.inputTokens || 0) + (usage.cacheCreationTokens || 0) + read;
  if (!read || !inputSide) return '';
  return ` · cache hits ${Math.round((100 * read) / inputSide)}%`;
}

/**
 * "In: 253, Out: 5.2K, Cache: 461K": the parts of the day's total. Cache writes and reads are most
 * of an agent's tokens; without them In + Out looks like it does not add up to the total.
 */
export function tokenParts(usage: Usage): string {
  const cache = (usage.cacheCreationTokens || 0) + (usage.cacheReadTokens || 0);
  const parts = [`In: ${formatTokens(usage.inputTokens)}`, `Out: ${formatTokens(usage.outputTokens)}`];
  if (cache) parts.push(`Cache: ${formatTokens(cache)}`);
  return parts.join(', ');
}

export function planBar(
  title: string,
  window: PlanWindowInfo | null | undefined,
  nowMs: number,
): BarModel | null {
  if (!window) return null;
  const used = Math.max(0, Number(window.usedPct) || 0);
  const age = formatDuration(nowMs - window.observedAt);
  const resets = window.resetsAt ? ` · resets in ${formatDuration(window.resetsAt - nowMs)}` : '';
  const staleText = window.stale ? ` · stale${window.staleReason ? `: ${window.staleReason}` : ''}` : '';
  return {
    label: `${title}: ${window.stale ? '~' : ''}${formatPct(used)}`,
    widthPct: Math.min(100, used),
    level: pctLevel(used),
    detail: `${sourceLabel(window.source)} · ${age} ago${resets}${staleText}`,
    stale: Boolean(window.stale),
  };
}

export function summaryModel(summary: UsageSummary, nowMs: number): SummaryModel {
  const mode = summary.mode;
  const plan = summary.plan;
  const planName = plan ? (PLAN_NAMES[plan.plan] ?? plan.plan) : 'plan';
  const fiveHour = planBar('Plan Usage (5h)', plan?.fiveHour, nowMs);
  const sevenDay = planBar('Weekly', plan?.sevenDay, nowMs);
  let planNote: string | null = null;
  if (!plan) planNote = 'Plan figures unavailable.';
  else if (!fiveHour && !sevenDay)
    planNote = 'No plan figure yet: install `podium statusline` in Claude Code for official numbers.';
  else if (plan.burnUSDPerHour) {
    const parts = [`Burn ${formatUSD(plan.burnUSDPerHour)}/h`];
    if (plan.projectedUSDAtWindowEnd != null)
      parts.push(`projected ${formatUSD(plan.projectedUSDAtWindowEnd)} at window end`);
    if (plan.minutesToLimit != null)
      parts.push(
        plan.minutesToLimit > 0
          ? `limit in ${formatDuration(plan.minutesToLimit * 60_000)}`
          : 'at the limit',
      );
    planNote = parts.join(' · ');
  }
  if (plan?.errors?.length) planNote = [planNote, ...plan.errors.map((e) => `⚠ ${e}`)].filter(Boolean).join(' · ');

  const costs = summary.agents.map((a) =>
    a.source === 'subscription' ? a.usage.messages || 0 : a.usage.costUSD || 0,
  );
  const maxSub = Math.max(
    0,
    ...summary.agents.filter((a) => a.source === 'subscription').map((a) => a.usage.messages || 0),
  );
  const maxPaid = Math.max(
    0,
    ...summary.agents.filter((a) => a.source !== 'subscription').map((a) => a.usage.costUSD || 0),
  );
  const agents: AgentBarModel[] = summary.agents.map((a, i) => {
    const sub = a.source === 'subscription';
    const max = sub ? maxSub : maxPaid;
    const share = max > 0 ? (costs[i] / max) * 100 : 0;
    const limited = Boolean(a.limit && a.limit.limitUSD > 0);
    return {
      id: a.agentId,
      name: a.name,
      usage: sub ? `${(a.usage.messages || 0).toLocaleString('en-US')} msgs` : formatUSD(a.usage.costUSD),
      tag: `[${sourceTag(a.source)}]`,
      widthPct: limited ? Math.min(100, a.limit!.usedPct) : share,
      kind: sub ? 'Plan' : a.source === 'proxy' ? 'Proxy' : 'API',
      title: limited
        ? `${a.name}: ${formatPct(a.limit!.usedPct)} of its ${formatUSD(a.limit!.limitUSD)} limit`
        : sub
          ? `${a.name}: messages, against the busiest subscription agent`
          : `${a.name}: cost, against the costliest ${a.source === 'proxy' ? 'proxy' : 'API'} agent`,
    };
  });

  const limits = summary.limits ?? {};
  const limitParts: string[] = [];
  if (limits.agentUSD) limitParts.push(`agent ${formatUSD(limits.agentUSD)}`);
  if (limits.sessionUSD) limitParts.push(`session ${formatUSD(limits.sessionUSD)}`);
  if (limits.dailyUSD) limitParts.push(`daily ${formatUSD(limits.dailyUSD)}`);
  if (limits.monthlyUSD) limitParts.push(`monthly ${formatUSD(limits.monthlyUSD)}`);
  const tokens = (n: number) => `${n.toLocaleString('en-US')} tokens`;
  if (limits.agentTokens) limitParts.push(`agent ${tokens(limits.agentTokens)}`);
  if (limits.sessionTokens) limitParts.push(`session ${tokens(limits.sessionTokens)}`);
  if (limits.dailyTokens) limitParts.push(`daily ${tokens(limits.dailyTokens)}`);
  if (limits.monthlyTokens) limitParts.push(`monthly ${tokens(limits.monthlyTokens)}`);

  const today = summary.today;
  const insights = summary.insightCount || 0;
  return {
    showPlan: mode !== 'api' && mode !== 'proxy',
    showApi: mode !== 'subscription',
    planTitle: `Subscription (${planName})`,
    fiveHour,
    sevenDay,
    planNote,
    apiTitle: mode === 'proxy' ? 'Proxy usage (API-equivalent)' : 'API usage',
    apiToday: formatUSD(summary.api.todayUSD),
    apiMonth: formatUSD(summary.api.monthUSD),
    todayLine:
      totalTokens(today) || today.messages || today.costUSD
        ? `Today: ${formatTokens(totalTokens(today))} tokens (${tokenParts(today)}) · ${plural(today.messages || 0, 'message')} · ${formatUSD(today.costUSD)} API-equivalent${cacheHits(today)}`
        : 'Today: no usage yet',
    limitsLine: limitParts.length
      ? `Limits: ${limitParts.join(', ')} · on limit: ${limits.onLimit ?? 'pause'}`
      : null,
    agents,
    insightBadge: insights ? String(insights) : null,
    historyLabel: insights ? `History, ${plural(insights, 'insight')}` : 'History',
    historyTitle: insights
      ? `Usage over time, per agent, and ${plural(insights, 'insight')} on what could be cheaper or runs out`
      : 'Usage over time, per agent, and insights',
    generatedAt: summary.generatedAt,
  };
}
