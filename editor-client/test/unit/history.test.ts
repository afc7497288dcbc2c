import { describe, expect, it } from 'vitest';
import type { HistoryAgentRow } from '../../src/protocol';
import {
  agentRows,
  bucketLabel,
  costChart,
  evidenceLabel,
  formatAxis,
  historyParams,
  insightRows,
  MAX_GROUPS,
  OTHER_KEY,
  PALETTE,
  projectLabels,
  planChart,
  tokensChart,
  totalsModel,
} from '../../src/views/history';
import { summaryModel } from '../../src/views/summary';
import { history, inUtc, seedCells, seeded, summary } from './historyFixtures';

// The answers were recorded in UTC days; the panel counts days in its own zone, so does this test.
inUtc();

const sum = (xs: (number | null)[]): number => xs.reduce<number>((a, b) => a + (b ?? 0), 0);

describe('historyParams', () => {
  const now = new Date(2026, 10, 23, 15, 30); // 23 Nov 2026, local

  it('turns 7 / 30 / 90 days into inclusive local dates ending today', () => {
    const ask = (range: '7' | '30' | '90') => historyParams({ range, since: '', until: '', groupBy: 'agent' }, now, 'Europe/Paris');
    expect(ask('7')).toEqual({ params: { since: '2026-11-17', until: '2026-11-23', groupBy: 'agent', bucket: 'day', tz: 'Europe/Paris' } });
    expect(ask('30')).toMatchObject({ params: { since: '2026-10-25', until: '2026-11-23' } });
    expect(ask('90')).toMatchObject({ params: { since: '2026-08-26', until: '2026-11-23' } });
  });

  it('asks a custom range only when both dates are valid and in order, at most 400 days', () => {
    const custom = (since: string, until: string) => historyParams({ range: 'custom', since, until, groupBy: 'model' }, now);
    expect(custom('2026-11-01', '2026-11-07')).toEqual({ params: { since: '2026-11-01', until: '2026-11-07', groupBy: 'model', bucket: 'day' } });
    expect(custom('', '2026-11-07')).toEqual({ error: 'Choose both dates of the custom range.' });
    expect(custom('2026-02-30', '2026-03-07')).toEqual({ error: 'Choose both dates of the custom range.' });
    expect(custom('2026-11-08', '2026-11-07')).toEqual({ error: 'The start date is after the end date.' });
    expect(custom('2025-01-01', '2026-11-07')).toEqual({ error: 'At most 400 days.' });
    expect(custom('2025-10-14', '2026-11-17')).toHaveProperty('params'); // exactly 400 days
  });
});

describe('charts from a recorded podium/usageHistory answer', () => {
  it('stacks the daily cost per group with the seeded values on their days', () => {
    const h = history('project');
    const chart = costChart(h);
    expect(chart).toMatchObject({ kind: 'category', id: 'cost', stacked: true, left: 'usd' });
    expect(chart.labels).toEqual(h.buckets);
    expect(chart.series.map((s) => s.key)).toEqual(h.groups.map((g) => g.key));
    expect(chart.series.map((s) => s.color)).toEqual(PALETTE.slice(0, h.groups.length));
    // every seeded entry of the range sits on its day in its project's series
    const cells = seedCells(h, 'project');
    expect(cells.size).toBeGreaterThan(2);
    for (const [cell, cost] of cells) {
      const [day, project] = cell.split('|');
      const series = chart.series.find((s) => s.key === project)!;
      expect(series.values[chart.labels.indexOf(day)], cell).toBeCloseTo(cost, 6);
    }
    // the 40-day-old entry is outside the 30 days shown
    const old = seeded().entries.find((e) => e.day < h.since)!;
    expect(old).toBeDefined();
    expect(chart.labels).not.toContain(old.day);
    expect(sum(chart.series.flatMap((s) => s.values))).toBeCloseTo(h.totals.costUSD, 5);
  });

  it('names projects by what tells them apart, not by the encoded folder name; keys stay', () => {
    const h = history('project');
    const chart = costChart(h);
    // the recorded answer: -tmp-podium-record-work-shop-api, …-shop-web, …-repo--podium-worktrees-alpha
    expect(chart.series.map((s) => s.label)).toEqual(['work-shop-api', 'work-shop-web', 'repo · worktree alpha']);
    expect(chart.series.map((s) => s.key)).toEqual(h.groups.map((g) => g.key));
    // other groupings keep the server's labels
    expect(costChart(history('model')).series.map((s) => s.label)).toEqual(history('model').groups.map((g) => g.label));
  });

  it('shortens project labels only where it is sure', () => {
    expect(projectLabels(['-home-ana-shop-api', '-home-ana-shop-web'])).toEqual(['shop-api', 'shop-web']);
    expect(projectLabels(['-home-ana-work-shop-api', '-home-ana-play'])).toEqual(['work-shop-api', 'play']);
    expect(projectLabels(['-home-ana-shop', '-home-ana-shop--podium-worktrees-b1'])).toEqual(['shop', 'shop · worktree b1']);
    // a lone label: its last part would be a guess
    expect(projectLabels(['-home-ana-shop-api'])).toEqual(['home-ana-shop-api']);
    // not an encoded folder: kept as is ('' is usage without a project); a lone encoded one as above
    expect(projectLabels(['/srv/x', '(no project)', '-home-a', ''])).toEqual(['/srv/x', '(no project)', 'home-a', '']);
    expect(projectLabels(['-a-b', '-a-b-c'])).toEqual(['b', 'b-c']);
  });

  it('sums the cheapest groups into one "Other" series past the colours', () => {
    const base = history('model');
    const groups = Array.from({ length: MAX_GROUPS + 3 }, (_, i) => ({ ...base.groups[0], key: `m${i}`, label: `model ${i}`, costUSD: 100 - i }));
    const day = base.buckets[0];
    const series = groups.map((g) => ({ ...base.series[0], bucket: day, group: g.key, costUSD: g.costUSD }));
    const chart = costChart({ ...base, groups, series });
    expect(chart.series).toHaveLength(MAX_GROUPS);
    const other = chart.series[MAX_GROUPS - 1];
    expect(other).toMatchObject({ key: OTHER_KEY, label: 'Other (4)' });
    expect(other.values[0]).toBeCloseTo(groups.slice(MAX_GROUPS - 1).reduce((a, g) => a + g.costUSD, 0), 6);
  });

  it('shows tokens by type per day (all groups) and the cache hit rate on its own axis', () => {
    const h = history('model');
    const chart = tokensChart(h);
    expect(chart.series.map((s) => s.key)).toEqual(['input', 'output', 'cacheWrite', 'cacheRead', 'cacheHitRate']);
    expect(chart.series.map((s) => s.axis)).toEqual(['left', 'left', 'left', 'left', 'right']);
    expect(chart).toMatchObject({ left: 'tokens', right: 'pct' });
    for (const [n, type] of (['input', 'output', 'cacheWrite', 'cacheRead'] as const).entries()) {
      expect(sum(chart.series[n].values), type).toBe(h.totals.tokens[type]);
    }
    // a seeded day: the two projects' tokens together, and their hit rate
    const day = seeded().entries.filter((e) => e.day >= h.since).map((e) => e.day).sort()[0];
    const at = chart.labels.indexOf(day);
    const entries = seeded().entries.filter((e) => e.day === day);
    const t = (k: 'input' | 'cacheWrite' | 'cacheRead') => entries.reduce((a, e) => a + e.tokens[k], 0);
    expect(chart.series[0].values[at]).toBe(t('input'));
    expect(chart.series[4].values[at]).toBeCloseTo((100 * t('cacheRead')) / (t('input') + t('cacheWrite') + t('cacheRead')), 4);
    // a day without usage has no hit rate point
    const empty = chart.labels.findIndex((b) => !h.series.some((c) => c.bucket === b));
    expect(chart.series[4].values[empty]).toBeNull();
  });

  it('draws each plan window over the range from the official figures', () => {
    const h = history('model');
    const chart = planChart(h);
    expect(chart.series.map((s) => s.key)).toEqual(['five_hour', 'seven_day']);
    const inRange = seeded().plan.filter((p) => p.ts >= chart.min && p.ts <= chart.max);
    expect(inRange.length).toBeGreaterThan(2);
    for (const window of ['five_hour', 'seven_day']) {
      const points = chart.series.find((s) => s.key === window)!.points;
      expect(points).toEqual(inRange.filter((p) => p.window === window).map((p) => ({ x: p.ts, y: p.usedPct })));
    }
    const first = new Date(chart.min);
    expect([first.getHours(), first.getMinutes()]).toEqual([0, 0]);
    expect(chart.max - chart.min + 1).toBeGreaterThanOrEqual(h.buckets.length * 86_400_000 - 3_600_000);
  });
});

describe('text', () => {
  it('formats axes and bucket labels', () => {
    expect(formatAxis(1.25, 'usd')).toBe('$1.25');
    // a cheap range: ticks and tooltips keep their digits, not "<$0.01" or two "$0.02"
    expect([0, 0.005, 0.01, 0.015, 0.02].map((v) => formatAxis(v, 'usd'))).toEqual(['$0.00', '$0.005', '$0.01', '$0.015', '$0.02']);
    expect(formatAxis(0.0034567, 'usd')).toBe('$0.0035');
    expect(formatAxis(3.6712, 'usd')).toBe('$3.67');
    expect(formatAxis(1_500_000, 'tokens')).toBe('1.5M');
    expect(formatAxis(66.6, 'pct')).toBe('67%');
    expect(bucketLabel('2026-11-03')).toBe('Nov 3');
    expect(bucketLabel('2026-11-03T14:00')).toBe('Nov 3 14:00');
  });

  it('sums up the range: cost, tokens, messages, cache hit rate and savings', () => {
    const h = history('model');
    const t = totalsModel(h);
    expect(t.cost).toBe(`$${h.totals.costUSD.toFixed(2)}`);
    expect(t.messages).toBe(String(h.totals.messages));
    expect(t.cacheHitRate).toBe(`${Math.round(h.totals.cacheHitRate! * 100)}%`);
    expect(t.range).toBe(`${h.since} – ${h.until} · 30 days · UTC`);
  });

  it('lists each agent with cost per 100 changed lines; working and waiting when the row has them', () => {
    const h = history('agent');
    const [row] = agentRows(h);
    const a = h.agents[0];
    expect(row).toMatchObject({ id: a.agentId, name: 'alpha', task: 'Add a cart total', lines: String(a.linesChanged) });
    expect(a.workingSeconds).toBeGreaterThan(0); // the recorded agent worked, then waited
    expect(agentRows({ ...h, agents: [{ ...a, workingSeconds: 0.4, waitingSeconds: 0 }] })[0]).toMatchObject({ working: '<1s', waiting: '0s' });
    expect(agentRows({ ...h, agents: [{ ...a, workingSeconds: null, waitingSeconds: null }] })[0]).toMatchObject({ working: '—', waiting: '—' });
    expect(row.costPer100Lines).toBe(a.costPer100Lines! < 0.005 ? '<$0.01' : `$${a.costPer100Lines!.toFixed(2)}`);
    expect(row.linesTitle).toBe(`+${a.linesAdded} \u2212${a.linesRemoved}`);
    const agents: HistoryAgentRow[] = [{ ...a, linesChanged: 0, costPer100Lines: null, workingSeconds: 3720, waitingSeconds: 45 }];
    expect(agentRows({ ...h, agents })[0]).toMatchObject({ working: '1h 2m', waiting: '45s', costPer100Lines: '—' });
  });

  it('lists the insights with severity, saving, action and evidence', () => {
    const h = history('model');
    const [insight] = insightRows(h);
    const raw = h.insights[0];
    expect(insight).toMatchObject({ id: 'cache_hit_rate', severity: 'warning', title: raw.title, action: raw.action });
    expect(insight.saving).toBe(`saves ~$${raw.monthlySavingUSD.toFixed(2)}/month`);
    // in words a user reads, dollars as money
    // (the window's length and start follow the recording's clock: read from the answer)
    const e = raw.evidence as Record<string, number | string>;
    expect(insight.evidence).toEqual([
      `Window days: ${e.windowDays}`,
      `Window start: ${e.windowStart}`,
      'Project: -tmp-podium-record-work-shop-api',
      'Cache hit rate: 0',
      'Input side tokens: 1,700,000',
      'Cache read tokens: 0',
      'Shortfall in window: $3.67',
    ]);
    expect(['workingHoursInWindow', 'monthlyUSD', 'runsOutAt', 'waits'].map(evidenceLabel)).toEqual([
      'Working hours in window',
      'Monthly USD',
      'Runs out at',
      'Waits',
    ]);
    expect(insightRows({ ...h, insights: [{ ...raw, monthlySavingUSD: 0 }] })[0].saving).toBe('no direct saving');
  });

  it('offers the history from the usage summary, with the insight count', () => {
    expect(summaryModel({ ...summary(), insightCount: 0 }, 0)).toMatchObject({ insightBadge: null, historyLabel: 'History' });
    expect(summaryModel({ ...summary(), insightCount: 1 }, 0)).toMatchObject({ insightBadge: '1', historyLabel: 'History, 1 insight' });
    const three = summaryModel({ ...summary(), insightCount: 3 }, 0);
    expect(three).toMatchObject({ insightBadge: '3', historyLabel: 'History, 3 insights' });
    expect(three.historyTitle).toMatch(/3 insights on what could be cheaper/);
  });
});
