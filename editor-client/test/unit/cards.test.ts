import { describe, expect, it } from 'vitest';
import { cardModel, limitBar, sortCards } from '../../src/views/cards';
import { card, cards } from './fixtures';

describe('cardModel', () => {
  it('shows name, task, status, usage and changes', () => {
    const m = cardModel(card({ statusSince: 0 }), 12 * 60_000);
    expect(m.name).toBe('alpha');
    expect(m.task).toBe('Fix auth bypass');
    expect(m.statusText).toBe('Working for 12m');
    expect(m.usageLine).toBe('45K tokens ($0.32) [API]');
    expect(m.diffText).toBe('+142 \u221238');
    expect(m.diffTitle).toBe('5 files changed, 142 lines added, 38 lines removed');
    expect(m.limit).toBeNull();
    expect(m.reason).toBeNull();
  });

  it('offers the actions that apply to the status', () => {
    expect(cardModel(card({ status: 'working' }), 0).actions).toMatchObject({ pause: true, resume: false, stop: true });
    expect(cardModel(card({ status: 'paused' }), 0).actions).toMatchObject({ pause: false, resume: true, stop: true });
    expect(cardModel(card({ status: 'exited', exitCode: 0, profile: 'shell' }), 0).actions).toMatchObject({ pause: false, resume: false, stop: false, remove: true });
    // an ended session can be continued: Resume runs it again with --resume
    expect(cardModel(card({ status: 'exited', exitCode: 0, profile: 'claude' }), 0).actions).toMatchObject({ pause: false, resume: true, stop: false, remove: true });
  });

  it('draws a limit bar only when a limit applies, clamped, with a level', () => {
    expect(limitBar(null)).toBeNull();
    expect(limitBar({ usedPct: 10, limitUSD: 0, action: 'pause' })).toBeNull();
    const bar = limitBar({ usedPct: 6.2, limitUSD: 5, action: 'pause' })!;
    expect(bar.widthPct).toBeCloseTo(6.2);
    expect(bar.level).toBe('ok');
    expect(bar.label).toBe('6.2% of $5.00 limit ($0.31) · on limit: pause');
    expect(bar.title).toBe('$0.31 spent of its $5.00 limit; at the limit Podium pauses it.');
    // a subscription agent's card counts messages: its limit's dollars say what they are
    expect(limitBar({ usedPct: 50, limitUSD: 1, action: 'stop' }, 'subscription')!.title).toBe(
      "$0.50 spent of its $1.00 limit; at the limit Podium stops it.\nA subscription agent's dollars are API-equivalent: what the API would charge, not a bill.",
    );
    expect(limitBar({ usedPct: 85, limitUSD: 5, action: 'warn' })!.level).toBe('warning');
    const over = limitBar({ usedPct: 212.5, limitUSD: 0.05, action: 'pause' })!;
    expect(over.widthPct).toBe(100);
    expect(over.level).toBe('error');
  });

  it('shows why a recorded agent was paused by its limit', () => {
    const paused = cards().find((c) => c.status === 'paused' && c.statusReason);
    expect(paused).toBeDefined();
    const m = cardModel(paused!, paused!.statusSince + 15_000);
    expect(m.reason).toMatch(/^paused by limit: agent \w+ reached its \$0\.05 limit/);
    expect(m.statusText).toBe('Paused for 15s');
    expect(m.limit?.level).toBe('error');
  });

  it('formats every recorded card by its source', () => {
    for (const c of cards()) {
      const line = cardModel(c, c.statusSince).usageLine;
      if (c.source === 'subscription') expect(line).toMatch(/^\d+ messages? \[Sub\]$/);
      else expect(line).toMatch(/^[\d.]+[KM]? tokens \(\$\d+\.\d\d\) \[(API|Proxy)\]$/);
    }
  });

  it('sorts oldest first', () => {
    const a = card({ agentId: 'a', name: 'b', startedAt: 2 });
    const b = card({ agentId: 'b', name: 'a', startedAt: 1 });
    expect(sortCards([a, b]).map((c) => c.agentId)).toEqual(['b', 'a']);
  });
});
