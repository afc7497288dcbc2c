/**
 * UsageHistory (protocol, `podium/usageHistory`) → the models the history panel draws: the
 * request's params from the panel's controls, the charts' series, the totals line, the per-agent
 * table and the insights list. Pure.
 */
import type {
  HistoryGroupBy,
  HistorySums,
  Insight,
  UsageHistory,
  UsageHistoryParams,
} from '../protocol';
import { ymd } from '../common/exportRange';
import { formatDuration, formatTokens, formatUSD, plural, sourceTag, statusLabel } from './format';

export type RangeChoice = '7' | '30' | '90' | 'custom';

export interface HistoryControls {
  range: RangeChoice;
  /** the custom range's dates (YYYY-MM-DD), kept while another range is shown */
  since: string;
  until: string;
  groupBy: HistoryGroupBy;
}

export const RANGE_CHOICES: { value: RangeChoice; label: string }[] = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: 'custom', label: 'Custom' },
];

export const GROUP_CHOICES: { value: HistoryGroupBy; label: string }[] = [
  { value: 'agent', label: 'Agent' },
  { value: 'model', label: 'Model' },
  { value: 'source', label: 'Source' },
  { value: 'project', label: 'Project' },
];

/** The server answers at most this many days by day (podium.usage.history.MAX_DAYS). */
export const MAX_RANGE_DAYS = 400;

export const DEFAULT_CONTROLS: HistoryControls = { range: '30', since: '', until: '', groupBy: 'model' };

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function localDate(text: string): Date | null {
  if (!DATE.test(text)) return null;
  const [y, m, d] = text.split('-').map(Number);
  const date = new Date(y, m - 1, d);
  return date.getFullYear() === y && date.getMonth() === m - 1 && date.getDate() === d ? date : null;
}

function daysBetween(first: Date, last: Date): number {
  // whole local days; rounding absorbs a DST hour
  return Math.round((last.getTime() - first.getTime()) / 86_400_000) + 1;
}

/** The `podium/usageHistory` params for the controls, or why they cannot be asked yet. */
export function historyParams(
  controls: HistoryControls,
  now: Date,
  tz?: string,
): { params: UsageHistoryParams } | { error: string } {
  const zone = tz ? { tz } : {};
  if (controls.range !== 'custom') {
    const days = Number(controls.range);
    const since = new Date(now.getFullYear(), now.getMonth(), now.getDate() - (days - 1));
    return { params: { since: ymd(since), until: ymd(now), groupBy: controls.groupBy, bucket: 'day', ...zone } };
  }
  const first = localDate(controls.since);
  const last = localDate(controls.until);
  if (!first || !last) return { error: 'Choose both dates of the custom range.' };
  if (first > last) return { error: 'The start date is after the end date.' };
  if (daysBetween(first, last) > MAX_RANGE_DAYS) return { error: `At most ${MAX_RANGE_DAYS} days.` };
  return { params: { since: controls.since, until: controls.until, groupBy: controls.groupBy, bucket: 'day', ...zone } };
}

// -- charts -----------------------------------------------------------------------------------

export type Unit = 'usd' | 'tokens' | 'pct';

/** A series over the buckets (the x axis' categories). */
export interface CategorySeries {
  key: string;
  label: string;
  type: 'bar' | 'line';
  axis: 'left' | 'right';
  /** a theme colour variable, e.g. `--vscode-charts-blue` */
  color: string;
  /** one value per bucket; null: no point */
  values: (number | null)[];
}

export interface CategoryChart {
  kind: 'category';
  id: 'cost' | 'tokens';
  labels: string[];
  series: CategorySeries[];
  stacked: boolean;
  left: Unit;
  right: Unit | null;
}

export interface TimeSeries {
  key: string;
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

export interface TimeChart {
  kind: 'time';
  id: 'plan';
  /** the range's first and last instant (ms) */
  min: number;
  max: number;
  series: TimeSeries[];
  unit: 'pct';
}

export type ChartModel = CategoryChart | TimeChart;

/** Theme colours in the order groups take them (VS Code's chart palette). */
export const PALETTE = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
  '--vscode-charts-foreground',
];

/** Past this many groups the cheapest are summed into one "Other" series. */
export const MAX_GROUPS = 8;
export const OTHER_KEY = '\u0000other';

/** Claude Code's folder for an agent's worktree: `<repo>/.podium/worktrees/<name>`, encoded. */
const WORKTREE = /^(.*)--podium-worktrees-(.+)$/;

/**
 * Shorter names for projects. A project's label is Claude Code's folder name, the working
 * directory with every `/` and `.` made `-` (`-home-ana-work-shop-api`), which cannot be split
 * back into the path. What the labels share in front is dropped (`work-shop-api`, `play`; when
 * that leaves one part each, the shared part before it stays: `shop-api`, not `api`), and an
 * agent's worktree says so (`shop-api · worktree alpha`). A lone label only loses its leading
 * `-`: its last `-` part would be a guess (`api` of `shop-api`). Anything else is kept.
 */
export function projectLabels(labels: string[]): string[] {
  const parsed = labels.map((label) => {
    if (!/^-[^/\\]+$/.test(label)) return null;
    const wt = WORKTREE.exec(label);
    return { base: (wt ? wt[1] : label).slice(1).split('-'), worktree: wt ? wt[2] : null };
  });
  const encoded = parsed.filter((p): p is NonNullable<typeof p> => p !== null);
  const bases = new Set(encoded.map((p) => p.base.join('-')));
  let common = 0;
  if (bases.size > 1) {
    const first = encoded[0].base;
    // keep at least each label's last part
    while (encoded.every((p) => common < p.base.length - 1 && p.base[common] === first[common])) common++;
    // down to one part each ('api', 'web'), the shared part before is likely part of the names
    if (common > 0 && encoded.every((p) => p.base.length - common === 1)) common--;
  } else if (encoded.length > 1) {
    common = encoded[0].base.length - 1; // one folder and its worktrees: its last part names it
  }
  return labels.map((label, i) => {
    const p = parsed[i];
    if (!p) return label;
    const base = p.base.slice(common).join('-');
    return p.worktree ? `${base} · worktree ${p.worktree}` : base;
  });
}

/** Daily cost stacked by group (costliest group first, at the bottom). */
export function costChart(h: UsageHistory): CategoryChart {
  const index = new Map(h.buckets.map((b, i) => [b, i]));
  const shown = h.groups.slice(0, h.groups.length > MAX_GROUPS ? MAX_GROUPS - 1 : MAX_GROUPS);
  const position = new Map(shown.map((g, i) => [g.key, i]));
  const labels = h.groupBy === 'project' ? projectLabels(shown.map((g) => g.label)) : shown.map((g) => g.label);
  const series: CategorySeries[] = shown.map((g, i) => ({
    key: g.key,
    label: labels[i],
    type: 'bar',
    axis: 'left',
    color: PALETTE[i % PALETTE.length],
    values: h.buckets.map(() => 0),
  }));
  const rest = h.groups.length - shown.length;
  const other: CategorySeries | null = rest
    ? { key: OTHER_KEY, label: `Other (${rest})`, type: 'bar', axis: 'left', color: PALETTE[PALETTE.length - 1], values: h.buckets.map(() => 0) }
    : null;
  if (other) series.push(other);
  for (const cell of h.series) {
    const at = index.get(cell.bucket);
    if (at === undefined) continue;
    const target = position.has(cell.group) ? series[position.get(cell.group)!] : other;
    if (target) target.values[at] = round6((target.values[at] ?? 0) + cell.costUSD);
  }
  return { kind: 'category', id: 'cost', labels: [...h.buckets], series, stacked: true, left: 'usd', right: null };
}

export const TOKEN_TYPES: { key: keyof HistorySums['tokens']; label: string; color: string }[] = [
  { key: 'input', label: 'Input', color: '--vscode-charts-blue' },
  { key: 'output', label: 'Output', color: '--vscode-charts-orange' },
  { key: 'cacheWrite', label: 'Cache write', color: '--vscode-charts-purple' },
  { key: 'cacheRead', label: 'Cache read', color: '--vscode-charts-green' },
];

/** Tokens per bucket by type (all groups), stacked, with the cache hit rate as a line (%). */
export function tokensChart(h: UsageHistory): CategoryChart {
  const index = new Map(h.buckets.map((b, i) => [b, i]));
  const sums = TOKEN_TYPES.map(() => h.buckets.map(() => 0));
  for (const cell of h.series) {
    const at = index.get(cell.bucket);
    if (at === undefined) continue;
    TOKEN_TYPES.forEach((t, n) => (sums[n][at] += cell.tokens[t.key] || 0));
  }
  const series: CategorySeries[] = TOKEN_TYPES.map((t, n) => ({
    key: t.key,
    label: t.label,
    type: 'bar',
    axis: 'left',
    color: t.color,
    values: sums[n],
  }));
  const hitRate = h.buckets.map((_, at) => {
    const side = sums[0][at] + sums[2][at] + sums[3][at];
    return side ? round6((100 * sums[3][at]) / side) : null;
  });
  series.push({ key: 'cacheHitRate', label: 'Cache hit rate', type: 'line', axis: 'right', color: '--vscode-charts-yellow', values: hitRate });
  return { kind: 'category', id: 'tokens', labels: [...h.buckets], series, stacked: true, left: 'tokens', right: 'pct' };
}

export const PLAN_WINDOWS: { key: string; label: string; color: string }[] = [
  { key: 'five_hour', label: '5-hour window', color: '--vscode-charts-blue' },
  { key: 'seven_day', label: 'Weekly', color: '--vscode-charts-purple' },
];

/** The official plan figures over time, one line per window, on the range's time axis. */
export function planChart(h: UsageHistory): TimeChart {
  const first = localDate(h.since);
  const last = localDate(h.until);
  const series = PLAN_WINDOWS.map((w) => ({
    key: w.key,
    label: w.label,
    color: w.color,
    points: h.plan.filter((p) => p.window === w.key).map((p) => ({ x: p.ts, y: p.usedPct })).sort((a, b) => a.x - b.x),
  }));
  const max = last ? new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1).getTime() - 1 : 0;
  return { kind: 'time', id: 'plan', min: first ? first.getTime() : 0, max, series, unit: 'pct' };
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/**
 * An axis value as text: "$1.25", "1.5M", "67%". Under ten cents a value that is not whole cents
 * keeps two significant digits ("$0.015", "$0.0034"): a cheap range's ticks and tooltips would
 * otherwise all read "<$0.01", or two ticks the same "$0.02".
 */
export function formatAxis(value: number, unit: Unit): string {
  if (unit === 'usd') {
    const cents = Math.round(value * 100);
    if (value !== 0 && Math.abs(value) < 0.1 && Math.abs(value * 100 - cents) > 1e-9) {
      return `$${Number(value.toPrecision(2))}`;
    }
    return formatUSD(value);
  }
  if (unit === 'tokens') return formatTokens(value);
  return `${Math.round(value)}%`;
}

/** "Nov 3" for a day bucket, "Nov 3 14:00" for an hour bucket. */
export function bucketLabel(bucket: string): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}:\d{2}))?$/.exec(bucket);
  if (!m) return bucket;
  const day = `${months[Number(m[2]) - 1]} ${Number(m[3])}`;
  return m[4] ? `${day} ${m[4]}` : day;
}

// -- text ---------------------------------------------------------------------------------------

const GROUP_NAMES: Record<HistoryGroupBy, string> = { agent: 'agent', model: 'model', source: 'source', project: 'project' };

export function costTitle(groupBy: HistoryGroupBy): string {
  return `Daily cost by ${GROUP_NAMES[groupBy]}`;
}

function pct(rate: number | null | undefined): string {
  return rate == null ? '—' : `${Math.round(rate * 100)}%`;
}

export function sumsTokens(s: HistorySums): number {
  const t = s.tokens;
  return (t.input || 0) + (t.output || 0) + (t.cacheWrite || 0) + (t.cacheRead || 0);
}

export interface TotalsModel {
  cost: string;
  tokens: string;
  tokensTitle: string;
  messages: string;
  cacheHitRate: string;
  cacheSavings: string;
  range: string;
}

export function totalsModel(h: UsageHistory): TotalsModel {
  const t = h.totals;
  const n = (v: number): string => (v || 0).toLocaleString('en-US');
  const days = h.buckets.length;
  return {
    cost: formatUSD(t.costUSD),
    tokens: formatTokens(sumsTokens(t)),
    tokensTitle: `Input ${n(t.tokens.input)} · Output ${n(t.tokens.output)} · Cache write ${n(t.tokens.cacheWrite)} · Cache read ${n(t.tokens.cacheRead)}`,
    messages: (t.messages || 0).toLocaleString('en-US'),
    cacheHitRate: pct(t.cacheHitRate),
    cacheSavings: formatUSD(t.cacheSavingsUSD),
    range: `${h.since} – ${h.until} · ${plural(days, h.bucket === 'hour' ? 'hour' : 'day')} · ${h.timezone}`,
  };
}

export interface AgentRowModel {
  id: string;
  name: string;
  detail: string;
  task: string;
  cost: string;
  tokens: string;
  tokensTitle: string;
  messages: string;
  lines: string;
  linesTitle: string;
  costPer100Lines: string;
  working: string;
  waiting: string;
  removed: boolean;
}

function seconds(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return '—';
  return value > 0 && value < 1 ? '<1s' : formatDuration(value * 1000); // some time, not none
}

export function agentRows(h: UsageHistory): AgentRowModel[] {
  return h.agents.map((a) => ({
    id: a.agentId,
    name: a.name,
    detail: `${statusLabel(a.status)} · ${sourceTag(a.source)}${a.removed ? ' · removed' : ''}`,
    task: a.task,
    cost: formatUSD(a.costUSD),
    tokens: formatTokens(sumsTokens(a)),
    tokensTitle: `Input ${a.tokens.input} · Output ${a.tokens.output} · Cache write ${a.tokens.cacheWrite} · Cache read ${a.tokens.cacheRead}`,
    messages: (a.messages || 0).toLocaleString('en-US'),
    lines: (a.linesChanged || 0).toLocaleString('en-US'),
    linesTitle: `+${a.linesAdded || 0} \u2212${a.linesRemoved || 0}`,
    costPer100Lines: a.costPer100Lines == null ? '—' : formatUSD(a.costPer100Lines),
    working: seconds(a.workingSeconds),
    waiting: seconds(a.waitingSeconds),
    removed: a.removed,
  }));
}

export interface InsightModel {
  id: string;
  severity: Insight['severity'];
  title: string;
  saving: string;
  action: string;
  /** the evidence as "Name in words: value" lines */
  evidence: string[];
}

function evidenceValue(value: unknown): string {
  if (value == null) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Number(value.toFixed(4)));
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** An evidence key as words: `inputSideTokens` → "Input side tokens", `rateLimitedHours` → … */
export function evidenceLabel(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_]+/)
    .filter(Boolean)
    .map((w) => (/^[A-Z0-9]{2,}$/.test(w) ? w : w.toLowerCase()));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "Shortfall in window: $3.67": dollars (a `…USD…` key) as money, the rest as they come. */
function evidenceLine(key: string, value: unknown): string {
  if (/USD/.test(key) && typeof value === 'number') {
    return `${evidenceLabel(key.replace('USD', '')) || 'Cost'}: ${formatUSD(value)}`;
  }
  return `${evidenceLabel(key)}: ${evidenceValue(value)}`;
}

export function insightRows(h: UsageHistory): InsightModel[] {
  return (h.insights ?? []).map((i) => ({
    id: i.id,
    severity: i.severity,
    title: i.title,
    saving: i.monthlySavingUSD > 0 ? `saves ~${formatUSD(i.monthlySavingUSD)}/month` : 'no direct saving',
    action: i.action,
    evidence: Object.entries(i.evidence ?? {}).map(([k, v]) => evidenceLine(k, v)),
  }));
}
