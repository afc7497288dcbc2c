/** The notifications recorded from a real `podium serve` (test/record-notifications.mjs). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentCard, Alert, StatusBar, UsageSummary } from '../../src/protocol';

export interface Recorded {
  at: number;
  method: string;
  params: unknown;
}

export const recorded: Recorded[] = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'notifications.json'), 'utf8'),
);

export const cards = (): AgentCard[] =>
  recorded.filter((r) => r.method === 'podium/agentCard').map((r) => (r.params as { card: AgentCard }).card);
export const statusBars = (): StatusBar[] =>
  recorded.filter((r) => r.method === 'podium/statusBar').map((r) => r.params as StatusBar);
export const alerts = (): Alert[] => recorded.filter((r) => r.method === 'podium/alert').map((r) => r.params as Alert);
export const summary = (): UsageSummary =>
  recorded.find((r) => r.method === 'result:podium/usageSummary')!.params as UsageSummary;

export function card(overrides: Partial<AgentCard> = {}): AgentCard {
  return {
    agentId: 'ag-1',
    name: 'alpha',
    task: 'Fix auth bypass',
    status: 'working',
    statusSince: 1_000_000,
    statusReason: null,
    startedAt: 1_000_000,
    worktree: '/repo/.podium/worktrees/alpha',
    branch: 'podium/alpha',
    pid: 123,
    exitCode: null,
    profile: 'fake',
    source: 'api',
    model: 'claude-sonnet-4-5-20250929',
    usage: { inputTokens: 1240, outputTokens: 8800, cacheCreationTokens: 5000, cacheReadTokens: 30000, costUSD: 0.3215, messages: 23 },
    diff: { added: 142, removed: 38, files: 5 },
    limit: null,
    pending: [],
    lastTurn: null,
    reportedCostUSD: null,
    permissionMode: null,
    ...overrides,
  };
}
