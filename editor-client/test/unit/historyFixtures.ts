/** Real `podium/usageHistory` answers on a seeded store (test/record-history.mjs). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HistoryGroupBy, HistoryTokens, UsageHistory } from '../../src/protocol';

export { summary } from './fixtures';

export interface Seed {
  today: string;
  entries: { day: string; model: string; project: string; cwd: string; costUSD: number; tokens: HistoryTokens }[];
  plan: { window: string; ts: number; usedPct: number }[];
}

const data = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'usage-history.json'), 'utf8')) as {
  seed: Seed;
  answers: Record<HistoryGroupBy, UsageHistory>;
};

export const seeded = (): Seed => structuredClone(data.seed);
export const history = (groupBy: 'model' | 'project' | 'agent'): UsageHistory => structuredClone(data.answers[groupBy]);

/** The seeded cost per `day|group` inside the answer's range (group: the entry's model or project). */
export function seedCells(h: UsageHistory, by: 'model' | 'project'): Map<string, number> {
  const cells = new Map<string, number>();
  for (const e of data.seed.entries) {
    if (e.day < h.since || e.day > h.until) continue;
    const key = `${e.day}|${by === 'model' ? e.model : e.project}`;
    cells.set(key, (cells.get(key) ?? 0) + e.costUSD);
  }
  return cells;
}

/** The answers were recorded in UTC days and the panel counts days in its own zone: a suite that
 * reads them runs in UTC (and gives the zone back after). */
export function inUtc(): void {
  const savedTz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'UTC';
  });
  afterAll(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });
}
