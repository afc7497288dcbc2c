/** Date ranges offered by "Export Usage" → {since, until} as local YYYY-MM-DD. Pure. */

export type RangeId = 'today' | 'last7' | 'thisMonth' | 'lastMonth' | 'all' | 'custom';

export function ymd(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function rangeFor(id: Exclude<RangeId, 'custom'>, now: Date): { since?: string; until?: string } {
  const day = (offset: number): Date => new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset);
  switch (id) {
    case 'today':
      return { since: ymd(now), until: ymd(now) };
    case 'last7':
      return { since: ymd(day(-6)), until: ymd(now) };
    case 'thisMonth':
      return { since: ymd(new Date(now.getFullYear(), now.getMonth(), 1)), until: ymd(now) };
    case 'lastMonth':
      return {
        since: ymd(new Date(now.getFullYear(), now.getMonth() - 1, 1)),
        until: ymd(new Date(now.getFullYear(), now.getMonth(), 0)),
      };
    case 'all':
      return {};
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  const [y, m, d] = text.split('-').map(Number);
  const date = new Date(y, m - 1, d);
  return date.getFullYear() === y && date.getMonth() === m - 1 && date.getDate() === d;
}

/** "2026-11-01..2026-11-23", "2026-11-01..", "..2026-11-23" or one day; error text or a range. */
export function parseCustomRange(text: string): { since?: string; until?: string } | string {
  const value = text.trim();
  if (!value) return 'Enter a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)';
  const [since, until] = value.includes('..') ? value.split('..', 2).map((s) => s.trim()) : [value, value];
  for (const part of [since, until]) {
    if (part && !validDate(part)) return `Not a date: "${part}" (expected YYYY-MM-DD)`;
  }
  if (!since && !until) return 'Enter at least one date';
  if (since && until && since > until) return 'The start date is after the end date';
  const out: { since?: string; until?: string } = {};
  if (since) out.since = since;
  if (until) out.until = until;
  return out;
}

export function defaultExportName(groupBy: string, format: string, now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${ymd(now).replace(/-/g, '')}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `usage-${groupBy}-${stamp}.${format}`;
}
