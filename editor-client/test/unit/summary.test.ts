import { describe, expect, it } from 'vitest';
import { cacheHits, planBar, summaryModel, tokenParts } from '../../src/views/summary';
import type { LimitsInfo, UsageSummary } from '../../src/protocol';
import { summary } from './fixtures';

const NO_LIMITS: LimitsInfo = {
  agentUSD: null, sessionUSD: null, dailyUSD: null, monthlyUSD: null, agentTokens: null,
  sessionTokens: null, dailyTokens: null, monthlyTokens: null, onLimit: 'pause',
};

describe('summaryModel', () => {
  it('renders the recorded summary (mode both): plan with source, API spend, per-agent bars', () => {
    const s = summary();
    const m = summaryModel(s, s.generatedAt + 60_000);
    expect(m.showPlan).toBe(true);
    expect(m.showApi).toBe(true);
    expect(m.planTitle).toBe('Subscription (Claude Max 5x)');
    expect(m.fiveHour?.label).toMatch(/^Plan Usage \(5h\): \d+(\.\d)?%$/);
    expect(m.fiveHour?.detail).toMatch(/^estimate · 1m ago · resets in /);
    expect(m.apiToday).toBe('$0.05');
    expect(m.agents.map((a) => a.name)).toEqual(['alpha', 'bravo']);
    const [alpha, bravo] = m.agents;
    expect(alpha.tag).toBe('[API]');
    expect(alpha.kind).toBe('API');
    expect(bravo.tag).toBe('[Sub]');
    expect(bravo.usage).toBe(`${s.agents[1].usage.messages} msgs`);
    // both agents are over their limit: the bars are full, and say against what
    expect(alpha.widthPct).toBe(100);
    expect(alpha.title).toMatch(/^alpha: \d+% of its \$0\.05 limit$/);
    expect(m.limitsLine).toBe('Limits: agent $0.05 · on limit: pause');
  });

  it('says why a plan figure is missing (OAuth errors)', () => {
    const s = summary();
    const plan = { ...s.plan!, fiveHour: null, sevenDay: null, errors: ['oauth usage: HTTP 401 Unauthorized'] };
    const m = summaryModel({ ...s, plan }, s.generatedAt);
    expect(m.planNote).toContain('No plan figure yet');
    expect(m.planNote).toContain('⚠ oauth usage: HTTP 401 Unauthorized');
  });

  it('shows the prompt-cache hit share of today\'s input side', () => {
    expect(cacheHits({ inputTokens: 50, outputTokens: 900, cacheCreationTokens: 150, cacheReadTokens: 1800, costUSD: 0, messages: 1 })).toBe(' · cache hits 90%');
    expect(cacheHits({ inputTokens: 50, outputTokens: 900, cacheCreationTokens: 0, cacheReadTokens: 0, costUSD: 0, messages: 1 })).toBe('');
    const s = summary();
    expect(summaryModel(s, s.generatedAt).todayLine).toMatch(/API-equivalent( · cache hits \d+%)?$/);
  });

  it('lists token budgets next to the USD ones', () => {
    const s = summary();
    const m = summaryModel({ ...s, limits: { ...NO_LIMITS, agentUSD: 5, dailyTokens: 2_000_000, onLimit: 'stop' } }, s.generatedAt);
    expect(m.limitsLine).toBe('Limits: agent $5.00, daily 2,000,000 tokens · on limit: stop');
  });

  it('hides the plan in api mode and the API block in subscription mode', () => {
    const s = summary();
    expect(summaryModel({ ...s, mode: 'api' }, s.generatedAt).showPlan).toBe(false);
    expect(summaryModel({ ...s, mode: 'subscription' }, s.generatedAt).showApi).toBe(false);
    expect(summaryModel({ ...s, mode: 'proxy' }, s.generatedAt).apiTitle).toMatch(/Proxy/);
  });

  it('marks a stale official figure with ~ and says why', () => {
    const bar = planBar(
      'Plan Usage (5h)',
      { usedPct: 67, source: 'official', observedAt: 0, resetsAt: null, stale: true, staleReason: 'older than 10 minutes while agents work' },
      15 * 60_000,
    )!;
    expect(bar.label).toBe('Plan Usage (5h): ~67%');
    expect(bar.detail).toBe('official · 15m ago · stale: older than 10 minutes while agents work');
    expect(bar.stale).toBe(true);
  });

  it('explains a missing plan figure and scales agent bars by share without limits', () => {
    const s: UsageSummary = {
      mode: 'api',
      generatedAt: 0,
      plan: {
        plan: 'pro', fiveHour: null, sevenDay: null, burnUSDPerHour: 0, tokensPerMin: 0,
        projectedUSDAtWindowEnd: null, minutesToLimit: null, errors: [],
      },
      api: { todayUSD: 2.47, monthUSD: 31.2 },
      today: { inputTokens: 285_000, outputTokens: 27_450, cacheCreationTokens: 0, cacheReadTokens: 0, costUSD: 2.47, messages: 47 },
      limits: NO_LIMITS,
      agents: [
        { agentId: 'a', name: 'Agent-2', status: 'working', source: 'api', usage: { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, costUSD: 0.89, messages: 3 }, limit: null },
        { agentId: 'b', name: 'Agent-3', status: 'working', source: 'api', usage: { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, costUSD: 0.445, messages: 3 }, limit: null },
      ],
      insightCount: 0,
    };
    const m = summaryModel(s, 0);
    expect(m.planNote).toMatch(/No plan figure yet/);
    expect(m.apiToday).toBe('$2.47');
    expect(m.apiMonth).toBe('$31.20');
    expect(m.todayLine).toBe('Today: 312K tokens (In: 285K, Out: 27K) · 47 messages · $2.47 API-equivalent');
    expect(m.agents.map((a) => [a.usage, Math.round(a.widthPct)])).toEqual([['$0.89', 100], ['$0.45', 50]]);
    // without a limit the hover says what the bar measures
    expect(m.agents[1].title).toBe('Agent-3: cost, against the costliest API agent');
    expect(m.limitsLine).toBeNull();
  });

  it("names the cache tokens in today's line, so its parts add up to the total", () => {
    const today = { inputTokens: 253, outputTokens: 5_200, cacheCreationTokens: 11_000, cacheReadTokens: 450_000, costUSD: 0.31, messages: 26 };
    expect(tokenParts(today)).toBe('In: 253, Out: 5.2K, Cache: 461K');
    expect(tokenParts({ ...today, cacheCreationTokens: 0, cacheReadTokens: 0 })).toBe('In: 253, Out: 5.2K');
    const s = summary();
    const m = summaryModel({ ...s, today }, s.generatedAt);
    expect(m.todayLine).toMatch(/^Today: 466K tokens \(In: 253, Out: 5\.2K, Cache: 461K\) · 26 messages · \$0\.31 API-equivalent/);
  });

  it("says a day without usage has none, rather than a row of zeros", () => {
    const s = summary();
    const none = { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, costUSD: 0, messages: 0 };
    expect(summaryModel({ ...s, today: none }, s.generatedAt).todayLine).toBe('Today: no usage yet');
    expect(summaryModel({ ...s, today: { ...none, messages: 1 } }, s.generatedAt).todayLine).toMatch(/^Today: 0 tokens .* 1 message · \$0\.00/);
  });
});
