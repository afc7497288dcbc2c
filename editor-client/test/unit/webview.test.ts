// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentCard, UsageSummary } from '../../src/protocol';
import type { FromWebview, ToWebview } from '../../src/webview/messages';
import { AgentsView } from '../../src/webview/render';
import { card, recorded, summary } from './fixtures';

let root: HTMLElement;
let posted: FromWebview[];
let now: number;
let view: AgentsView;

/** The recorded server pushes, as the host forwards them to the webview. */
function replay(upTo = recorded.length): void {
  for (const r of recorded.slice(0, upTo)) {
    let message: ToWebview | undefined;
    if (r.method === 'podium/agentCard') message = { type: 'card', card: (r.params as { card: AgentCard }).card };
    if (r.method === 'podium/agentRemoved') message = { type: 'removed', agentId: (r.params as { agentId: string }).agentId };
    if (r.method === 'result:podium/usageSummary') message = { type: 'summary', summary: r.params as UsageSummary };
    if (message) view.handle(message);
  }
}

const q = <T extends Element = HTMLElement>(sel: string, from: ParentNode = root): T => from.querySelector(sel) as T;

beforeEach(() => {
  document.body.textContent = '';
  root = document.createElement('main');
  document.body.append(root);
  posted = [];
  now = Date.now();
  view = new AgentsView(root, (m) => posted.push(m), () => now);
  view.handle({ type: 'state', cards: [], summary: null, server: { kind: 'running' } });
});

describe('Agents webview', () => {
  it('shows an empty state, then one card per agent', () => {
    expect(q('.empty').hidden).toBe(false);
    expect(q('.empty').textContent).toMatch(/^No agents yet\.Spawn Agent starts one on a task; /);
    replay();
    const ids = new Set(recorded.filter((r) => r.method === 'podium/agentCard').map((r) => (r.params as { card: AgentCard }).card.agentId));
    const removed = recorded.filter((r) => r.method === 'podium/agentRemoved').length;
    expect(root.querySelectorAll('.card').length).toBe(ids.size - removed);
    expect(q('.empty').hidden).toBe(true);
  });

  it('updates cards in place: same DOM node, no list rebuild, focus and scroll kept', () => {
    const cardMessages = recorded.filter((r) => r.method === 'podium/agentCard');
    const firstId = (cardMessages[0].params as { card: AgentCard }).card.agentId;
    replay(recorded.indexOf(cardMessages[0]) + 1);
    const node = view.cardElement(firstId)!;
    expect(node).toBeDefined();
    const stopButton = q<HTMLButtonElement>('button[data-action="stop"]', node);
    stopButton.focus();
    document.documentElement.scrollTop = 120;
    const list = q('.cards');
    const mutations: MutationRecord[] = [];
    const observer = new MutationObserver((records) => mutations.push(...records));
    observer.observe(list, { childList: true });
    const allIds = new Set(cardMessages.map((r) => (r.params as { card: AgentCard }).card.agentId));

    // every later push except the removal: the first card's element must survive all of them
    const removal = recorded.findIndex((r) => r.method === 'podium/agentRemoved');
    replay(removal);
    mutations.push(...observer.takeRecords());
    observer.disconnect();
    return Promise.resolve().then(() => {
      expect(view.cardElement(firstId)).toBe(node);
      expect(node.isConnected).toBe(true);
      expect(document.activeElement).toBe(stopButton);
      expect(document.documentElement.scrollTop).toBe(120);
      // the only structural changes to the list: one insertion per other agent, no removals
      const added = mutations.flatMap((m) => [...m.addedNodes]);
      const removedNodes = mutations.flatMap((m) => [...m.removedNodes]);
      expect(removedNodes).toHaveLength(0);
      expect(added).toHaveLength(allIds.size - 1);
    });
  });

  it('shows usage by source, changes, limit bar and the pause reason from recorded pushes', () => {
    const cardsSeen = recorded.filter((r) => r.method === 'podium/agentCard').map((r) => (r.params as { card: AgentCard }).card);
    const pausedIndex = recorded.findIndex(
      (r) => r.method === 'podium/agentCard' && (r.params as { card: AgentCard }).card.statusReason?.startsWith('paused by limit'),
    );
    replay(pausedIndex + 1);
    const paused = (recorded[pausedIndex].params as { card: AgentCard }).card;
    const node = view.cardElement(paused.agentId)!;
    expect(node.dataset.status).toBe('paused');
    expect(q('.reason', node).hidden).toBe(false);
    expect(q('.reason', node).textContent).toBe(paused.statusReason);
    expect(q('.limit', node).hidden).toBe(false);
    expect(q('.limit .fill', node).style.width).toBe('100.0%');
    expect(q('.limit .bar', node).dataset.level).toBe('error');
    expect(q('button[data-action="resume"]', node).hidden).toBe(false);
    expect(q('button[data-action="pause"]', node).hidden).toBe(true);
    const usage = q('.usage', node).textContent!;
    if (paused.source === 'subscription') expect(usage).toMatch(/^Session: \d+ messages? \[Sub\]$/);
    else expect(usage).toMatch(/^Session: [\d.]+K? tokens \(\$0\.0\d\) \[API\]$/);
    expect(q('.changes', node).textContent).toMatch(/^Changes: \+\d+ \u2212\d+$/);
    expect(cardsSeen.some((c) => c.source === 'api')).toBe(true);
  });

  it('formats a card like seed 004', () => {
    now = 1_000_000 + 8 * 60_000;
    view.handle({ type: 'card', card: card({ usage: { inputTokens: 40_000, outputTokens: 5_000, cacheCreationTokens: 0, cacheReadTokens: 0, costUSD: 0.32, messages: 7 }, diff: { added: 89, removed: 12, files: 3 } }) });
    view.handle({ type: 'card', card: card({ agentId: 'ag-2', name: 'Agent-1', source: 'subscription', startedAt: 2_000_000, limit: { usedPct: 40, limitUSD: 5, action: 'pause' } }) });
    const api = view.cardElement('ag-1')!;
    expect(q('.name', api).textContent).toBe('alpha');
    expect(q('.task', api).textContent).toBe('Task: Fix auth bypass');
    expect(q('.status-text', api).textContent).toBe('Working for 8m');
    expect(q('.usage', api).textContent).toBe('Session: 45K tokens ($0.32) [API]');
    expect(q('.changes', api).textContent).toBe('Changes: +89 \u221212');
    expect(q('.limit', api).hidden).toBe(true);
    const sub = view.cardElement('ag-2')!;
    expect(q('.usage', sub).textContent).toBe('Session: 23 messages [Sub]');
    expect(q('.limit .fill', sub).style.width).toBe('40.0%');
    expect(q('.limit-label', sub).textContent).toBe('40% of $5.00 limit ($2.00) · on limit: pause');
    // time in state moves on with tick(), without any push
    now += 4 * 60_000;
    view.tick();
    expect(q('.status-text', api).textContent).toBe('Working for 12m');
  });

  it('keeps oldest-first order when a card arrives out of order', () => {
    view.handle({ type: 'card', card: card({ agentId: 'b', name: 'bravo', startedAt: 2 }) });
    view.handle({ type: 'card', card: card({ agentId: 'a', name: 'alpha', startedAt: 1 }) });
    expect([...root.querySelectorAll<HTMLElement>('.card')].map((n) => n.dataset.agentId)).toEqual(['a', 'b']);
  });

  it('turns button clicks into messages; every control is a keyboard-reachable button', () => {
    view.handle({ type: 'card', card: card() });
    const node = view.cardElement('ag-1')!;
    q<HTMLButtonElement>('button[data-action="pause"]', node).click();
    q<HTMLButtonElement>('button[data-action="terminal"]', node).click();
    q<HTMLButtonElement>('button[data-action="diff"]', node).click();
    q<HTMLButtonElement>('button.close', node).click();
    q<HTMLButtonElement>('button[data-command="spawn"]').click();
    expect(posted).toEqual([
      { type: 'action', action: 'pause', agentId: 'ag-1' },
      { type: 'action', action: 'terminal', agentId: 'ag-1' },
      { type: 'action', action: 'diff', agentId: 'ag-1' },
      { type: 'action', action: 'remove', agentId: 'ag-1' },
      { type: 'command', command: 'spawn' },
    ]);
    for (const button of root.querySelectorAll('button')) {
      expect(button.getAttribute('type')).toBe('button');
      expect(button.getAttribute('aria-label') || button.textContent?.trim()).toBeTruthy();
    }
  });

  it('opens the usage history from the summary, whose button counts the insights', () => {
    const button = q<HTMLButtonElement>('button[data-command="history"]');
    expect(button.textContent).toBe('History');
    view.handle({ type: 'summary', summary: { ...summary(), insightCount: 2 } });
    expect(q('.badge', button).textContent).toBe('2');
    expect(q('.badge', button).hidden).toBe(false);
    expect(button.getAttribute('aria-label')).toBe('History, 2 insights');
    view.handle({ type: 'summary', summary: { ...summary(), insightCount: 0 } });
    expect(q('.badge', button).hidden).toBe(true);
    button.click();
    expect(posted).toEqual([{ type: 'command', command: 'history' }]);
  });

  it('removes a card on agentRemoved', () => {
    view.handle({ type: 'card', card: card() });
    view.handle({ type: 'removed', agentId: 'ag-1' });
    expect(root.querySelectorAll('.card')).toHaveLength(0);
    expect(q('.empty').hidden).toBe(false);
  });

  it('renders the usage summary in place', () => {
    const s = summary();
    now = s.generatedAt;
    view.handle({ type: 'summary', summary: s });
    expect(q('.plan').hidden).toBe(false);
    expect(q('.plan h3').textContent).toBe('Subscription (Claude Max 5x)');
    expect(q('.plan-5h .bar-label').textContent).toMatch(/^Plan Usage \(5h\): /);
    expect(q('.plan-5h .bar-detail').textContent).toMatch(/^estimate · /);
    expect(q('.api-today').textContent).toBe('$0.05');
    const rows = root.querySelectorAll('.agent-row');
    expect(rows).toHaveLength(2);
    const firstRow = rows[0];
    // the bar says what it measures (both recorded agents are over their $0.05 limit)
    expect(firstRow.getAttribute('title')).toMatch(/^alpha: \d+% of its \$0\.05 limit$/);
    expect(firstRow.querySelector('.bar')!.getAttribute('aria-label')).toBe(firstRow.getAttribute('title'));
    expect(firstRow.querySelector('.bar-detail')!.textContent).toBe('API');
    view.handle({ type: 'summary', summary: { ...s, api: { todayUSD: 1.5, monthUSD: 2 } } });
    expect(root.querySelectorAll('.agent-row')[0]).toBe(firstRow);
    expect(q('.api-today').textContent).toBe('$1.50');
    view.handle({ type: 'summary', summary: { ...s, mode: 'api' } });
    expect(q('.plan').hidden).toBe(true);
  });

  it('shows a banner with a fix-it button when the server is down', () => {
    view.handle({ type: 'server', server: { kind: 'missingPodium', python: '/usr/bin/python3' } });
    expect(q('.banner').hidden).toBe(false);
    expect(q('.banner-text').textContent).toContain('/usr/bin/python3');
    q<HTMLButtonElement>('.banner button').click();
    expect(posted.at(-1)).toEqual({ type: 'command', command: 'fixSetup' });
    expect(root.dataset.server).toBe('down');
    view.handle({ type: 'server', server: { kind: 'running' } });
    expect(q('.banner').hidden).toBe(true);
    expect(root.dataset.server).toBe('up');
  });

  it('never renders data as HTML', () => {
    view.handle({ type: 'card', card: card({ task: '<img src=x onerror=alert(1)>', name: '<b>x</b>' }) });
    expect(root.querySelector('img')).toBeNull();
    expect(q('.task').textContent).toBe('Task: <img src=x onerror=alert(1)>');
  });
});
