// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest';
import type { HistoryAgentRow, UsageHistory } from '../../src/protocol';
import type { ChartModel, HistoryControls } from '../../src/views/history';
import { projectLabels } from '../../src/views/history';
import type { Drawn, Painter } from '../../src/webview/history/charts';
import type { FromHistory } from '../../src/webview/history/messages';
import { HistoryView } from '../../src/webview/history/view';
import { history, inUtc } from './historyFixtures';

/** Records what it is asked to draw and answers like the Chart.js painter does. */
class FakePainter implements Painter {
  readonly drawn: ChartModel[] = [];
  draw(_canvas: HTMLCanvasElement, model: ChartModel): Drawn {
    this.drawn.push(model);
    return {
      id: model.id,
      labels: model.kind === 'category' ? model.labels : [],
      datasets: model.series.map((s) => ({
        key: s.key,
        label: s.label,
        type: 'values' in s ? s.type : 'line',
        data: 'values' in s ? s.values : s.points,
        drawn: 'values' in s ? s.values.length : s.points.length,
        hidden: false,
      })),
    };
  }
}

inUtc();

let root: HTMLElement;
let posted: FromHistory[];
let painter: FakePainter;
let saved: HistoryControls | undefined;
const now = new Date(2026, 10, 23, 15, 0);

function make(initial?: Partial<HistoryControls>): HistoryView {
  document.body.textContent = '';
  root = document.createElement('main');
  document.body.append(root);
  posted = [];
  painter = new FakePainter();
  const view = new HistoryView(root, { post: (m) => posted.push(m), painter, now: () => now, tz: 'UTC', saved: initial, save: (c) => (saved = c) });
  view.start();
  return view;
}

const q = <T extends Element = HTMLElement>(sel: string): T => root.querySelector(sel) as T;
const lastQuery = () => posted.filter((m) => m.type === 'query').at(-1) as Extract<FromHistory, { type: 'query' }>;
const click = (sel: string) => q<HTMLButtonElement>(sel).click();
function change(sel: string, value: string): void {
  const input = q<HTMLInputElement | HTMLSelectElement>(sel);
  input.value = value;
  input.dispatchEvent(new Event('change'));
}
function answer(view: HistoryView, h: UsageHistory, seq = lastQuery().seq): void {
  view.handle({ type: 'history', seq, history: h });
}

let view: HistoryView;
beforeEach(() => {
  view = make();
});

describe('History webview', () => {
  it('asks for the last 30 days by model at first, and shows it loading', () => {
    expect(lastQuery().params).toEqual({ since: '2026-10-25', until: '2026-11-23', groupBy: 'model', bucket: 'day', tz: 'UTC' });
    expect(root.dataset.state).toBe('loading');
    expect(q('button[data-range="30"]').getAttribute('aria-pressed')).toBe('true');
    expect(q('.custom').hidden).toBe(true);
  });

  it('re-asks on each range and grouping change, and keeps the controls for a reload', () => {
    click('button[data-range="7"]');
    expect(lastQuery().params).toMatchObject({ since: '2026-11-17', until: '2026-11-23', groupBy: 'model' });
    change('select[data-control="groupBy"]', 'project');
    expect(lastQuery().params).toMatchObject({ since: '2026-11-17', groupBy: 'project' });
    click('button[data-range="90"]');
    expect(lastQuery().params).toMatchObject({ since: '2026-08-26', groupBy: 'project' });
    expect(q('button[data-range="90"]').getAttribute('aria-pressed')).toBe('true');
    expect(q('button[data-range="7"]').getAttribute('aria-pressed')).toBe('false');
    expect(saved).toMatchObject({ range: '90', groupBy: 'project' });
    const again = make(saved);
    expect(again).toBeDefined();
    expect(lastQuery().params).toMatchObject({ since: '2026-08-26', groupBy: 'project' });
    expect(q<HTMLSelectElement>('select[data-control="groupBy"]').value).toBe('project');
  });

  it('starts a custom range from the range shown, and asks when a date changes', () => {
    const h = history('model');
    answer(view, h);
    const before = posted.length;
    click('button[data-range="custom"]');
    expect(q('.custom').hidden).toBe(false);
    expect(q<HTMLInputElement>('input[data-date="since"]').value).toBe(h.since);
    expect(lastQuery().params).toMatchObject({ since: h.since, until: h.until });
    change('input[data-date="since"]', '2026-11-20');
    change('input[data-date="until"]', '2026-11-10');
    expect(posted.length).toBe(before + 2); // the reversed range is not asked
    expect(root.dataset.state).toBe('invalid');
    expect(q('.status').textContent).toBe('The start date is after the end date.');
    change('input[data-date="until"]', '2026-11-21');
    expect(lastQuery().params).toMatchObject({ since: '2026-11-20', until: '2026-11-21' });
  });

  it('draws the answer and exposes what each chart holds on data-series', () => {
    const h = history('project');
    answer(view, h);
    expect(root.dataset.state).toBe('ready');
    expect(JSON.parse(root.dataset.query!)).toEqual({ since: h.since, until: h.until, groupBy: 'project', bucket: 'day' });
    expect(painter.drawn.map((m) => m.id)).toEqual(['cost', 'tokens', 'plan']);
    const cost = JSON.parse(q('figure[data-chart="cost"]').dataset.series!) as Drawn;
    expect(cost.labels).toEqual(h.buckets);
    expect(cost.datasets.map((d) => d.key)).toEqual(h.groups.map((g) => g.key));
    expect(cost.datasets.map((d) => d.label)).toEqual(projectLabels(h.groups.map((g) => g.label)));
    const plan = JSON.parse(q('figure[data-chart="plan"]').dataset.series!) as Drawn;
    expect(plan.datasets.map((d) => d.key)).toEqual(['five_hour', 'seven_day']);
    expect(q('figure[data-chart="cost"] h2').textContent).toBe('Daily cost by project');
    expect(q('[data-stat="cost"] .value').textContent).toBe(`$${h.totals.costUSD.toFixed(2)}`);
    expect(q('figure[data-chart="plan"] .note').hidden).toBe(true);
  });

  it('shows only the answer to the latest query', () => {
    const first = lastQuery().seq;
    change('select[data-control="groupBy"]', 'agent');
    answer(view, history('model'), first); // late answer to the first query
    expect(root.dataset.state).toBe('loading');
    expect(painter.drawn).toHaveLength(0);
    view.handle({ type: 'error', seq: first, message: 'stale' });
    expect(root.dataset.state).toBe('loading');
    answer(view, history('agent'));
    expect(JSON.parse(root.dataset.query!)).toMatchObject({ groupBy: 'agent' });
  });

  it('lists the agents, with a dash for time working / waiting the server did not send', () => {
    const recorded = history('agent');
    const h = { ...recorded, agents: [{ ...recorded.agents[0], workingSeconds: null, waitingSeconds: null }] };
    answer(view, h);
    const row = q(`tr[data-agent-id="${h.agents[0].agentId}"]`);
    const cell = (col: string) => row.querySelector(`[data-col="${col}"]`)!.textContent;
    expect(cell('task')).toBe('Add a cart total');
    expect(cell('messages')).toBe(String(h.agents[0].messages));
    expect(cell('lines')).toBe(String(h.agents[0].linesChanged));
    expect(cell('working')).toBe('—');
    expect(cell('waiting')).toBe('—');
    expect(q('.agents .empty').hidden).toBe(true);
    view.handle({ type: 'refresh' });
    const agents: HistoryAgentRow[] = [{ ...h.agents[0], workingSeconds: 600, waitingSeconds: 7200 }];
    answer(view, { ...h, agents });
    const again = q(`tr[data-agent-id="${h.agents[0].agentId}"]`);
    expect(again.querySelector('[data-col="working"]')!.textContent).toBe('10m');
    expect(again.querySelector('[data-col="waiting"]')!.textContent).toBe('2h');
    expect(q('.agents-table').hidden).toBe(false);
    // no agent: a hint instead of a header row over nothing
    view.handle({ type: 'refresh' });
    answer(view, { ...h, agents: [] });
    expect(q('.agents-table').hidden).toBe(true);
    expect(q('.agents .empty').hidden).toBe(false);
    expect(q('.agents .empty').textContent).toMatch(/^No agent worked in this range\. Agents you spawn .* are listed here\.$/);
  });

  it('lists the insights, and says when there are none', () => {
    const h = history('model');
    answer(view, h);
    const items = root.querySelectorAll('.insight');
    expect(items).toHaveLength(h.insights.length);
    const item = items[0] as HTMLElement;
    expect(item.dataset).toMatchObject({ insightId: 'cache_hit_rate', severity: 'warning' });
    expect(item.querySelector('.title')!.textContent).toBe(h.insights[0].title);
    expect(item.querySelector('.saving')!.textContent).toMatch(/^saves ~\$\d+\.\d\d\/month$/);
    expect(q('.insights h2').textContent).toBe(`Insights (${h.insights.length})`);
    view.handle({ type: 'refresh' });
    answer(view, { ...h, insights: [] });
    expect(root.querySelectorAll('.insight')).toHaveLength(0);
    expect(q('.insights .empty').hidden).toBe(false);
  });

  it('says why nothing came: a server error, or no usage in the range', () => {
    view.handle({ type: 'error', seq: lastQuery().seq, message: 'The Podium server is not running.' });
    expect(root.dataset.state).toBe('error');
    expect(q('.status').textContent).toBe('Could not load the usage history: The Podium server is not running.');
    expect(q('button[data-command="refresh"]').title).toMatch(/^Load this range again/);
    click('button[data-command="refresh"]');
    const h = history('model');
    answer(view, { ...h, series: [], groups: [], plan: [] });
    expect(q('.status').textContent).toBe('No usage in this range.');
    expect(q('figure[data-chart="plan"] .note').hidden).toBe(false);
  });

  it('draws the last answer again on a theme change', () => {
    answer(view, history('model'));
    view.redraw();
    expect(painter.drawn.map((m) => m.id)).toEqual(['cost', 'tokens', 'plan', 'cost', 'tokens', 'plan']);
  });
});
