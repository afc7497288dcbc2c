/**
 * The usage history panel: range and grouping controls, three charts, the per-agent table and
 * the insights. Each control change posts a query to the host (→ `podium/usageHistory`); only
 * the answer to the latest query is shown. Every chart's drawn data is kept on its figure's
 * `data-series` attribute (JSON), so a test reads back what was drawn. No innerHTML.
 */
import type { HistoryGroupBy, UsageHistory, UsageHistoryParams } from '../../protocol';
import {
  agentRows,
  costChart,
  costTitle,
  DEFAULT_CONTROLS,
  GROUP_CHOICES,
  historyParams,
  insightRows,
  planChart,
  RANGE_CHOICES,
  type ChartModel,
  type HistoryControls,
  type RangeChoice,
  tokensChart,
  totalsModel,
} from '../../views/history';
import { el, setAttr, setHidden, setText } from '../dom';
import type { Painter } from './charts';
import type { FromHistory, ToHistory } from './messages';

export interface HistoryViewOptions {
  post: (message: FromHistory) => void;
  painter: Painter;
  now?: () => Date;
  /** the IANA zone the days are counted in (the webview's own) */
  tz?: string;
  /** where the controls survive a reload of the webview */
  saved?: Partial<HistoryControls>;
  save?: (controls: HistoryControls) => void;
}

interface ChartParts {
  figure: HTMLElement;
  title: HTMLElement;
  canvas: HTMLCanvasElement;
  note: HTMLElement;
}

const AGENT_COLUMNS: { key: string; label: string; numeric: boolean }[] = [
  { key: 'agent', label: 'Agent', numeric: false },
  { key: 'task', label: 'Task', numeric: false },
  { key: 'cost', label: 'Cost', numeric: true },
  { key: 'tokens', label: 'Tokens', numeric: true },
  { key: 'messages', label: 'Messages', numeric: true },
  { key: 'lines', label: 'Lines changed', numeric: true },
  { key: 'costPer100Lines', label: 'Cost / 100 lines', numeric: true },
  { key: 'working', label: 'Working', numeric: true },
  { key: 'waiting', label: 'Waiting', numeric: true },
];

export class HistoryView {
  private readonly doc: Document;
  private controls: HistoryControls;
  private seq = 0;
  private last: UsageHistory | null = null;
  private readonly rangeButtons = new Map<RangeChoice, HTMLButtonElement>();
  private readonly custom: HTMLElement;
  private readonly sinceInput: HTMLInputElement;
  private readonly untilInput: HTMLInputElement;
  private readonly groupSelect: HTMLSelectElement;
  private readonly status: HTMLElement;
  private readonly totals: Record<'cost' | 'tokens' | 'messages' | 'cacheHitRate' | 'cacheSavings' | 'range', HTMLElement>;
  private readonly charts: Record<ChartModel['id'], ChartParts>;
  private readonly agentsTable: HTMLTableElement;
  private readonly agentsBody: HTMLTableSectionElement;
  private readonly agentsEmpty: HTMLElement;
  private readonly insightsList: HTMLUListElement;
  private readonly insightsTitle: HTMLElement;
  private readonly insightsEmpty: HTMLElement;
  private readonly notes: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly options: HistoryViewOptions,
  ) {
    this.doc = root.ownerDocument;
    const doc = this.doc;
    this.controls = { ...DEFAULT_CONTROLS, ...(options.saved ?? {}) };

    const toolbar = el(doc, 'header', 'toolbar');
    const ranges = el(doc, 'div', 'segmented');
    ranges.setAttribute('role', 'group');
    ranges.setAttribute('aria-label', 'Range');
    for (const choice of RANGE_CHOICES) {
      const button = el(doc, 'button', 'segment', choice.label);
      button.type = 'button';
      button.dataset.range = choice.value;
      button.addEventListener('click', () => this.setRange(choice.value));
      ranges.append(button);
      this.rangeButtons.set(choice.value, button);
    }
    this.custom = el(doc, 'span', 'custom');
    this.sinceInput = this.dateInput('since', 'First day');
    this.untilInput = this.dateInput('until', 'Last day');
    this.custom.append(this.sinceInput, el(doc, 'span', 'muted', '–'), this.untilInput);
    const groupLabel = el(doc, 'label', 'group-by', 'Group by ');
    this.groupSelect = el(doc, 'select');
    this.groupSelect.dataset.control = 'groupBy';
    for (const choice of GROUP_CHOICES) {
      const option = el(doc, 'option', undefined, choice.label);
      option.value = choice.value;
      this.groupSelect.append(option);
    }
    this.groupSelect.addEventListener('change', () => {
      this.controls = { ...this.controls, groupBy: this.groupSelect.value as HistoryGroupBy };
      this.query();
    });
    groupLabel.append(this.groupSelect);
    const refresh = el(doc, 'button', 'secondary', 'Refresh');
    refresh.type = 'button';
    refresh.dataset.command = 'refresh';
    refresh.title = 'Load this range again with the latest usage';
    refresh.addEventListener('click', () => this.query());
    toolbar.append(el(doc, 'h1', undefined, 'Usage History'), ranges, this.custom, groupLabel, refresh);

    this.status = el(doc, 'p', 'status muted', 'Loading…');
    this.status.setAttribute('role', 'status');

    const totalsBox = el(doc, 'section', 'totals');
    totalsBox.setAttribute('aria-label', 'Totals');
    const stat = (key: string, label: string): HTMLElement => {
      const box = el(doc, 'div', 'stat');
      box.dataset.stat = key;
      const value = el(doc, 'strong', 'value', '—');
      box.append(el(doc, 'span', 'muted', label), value);
      totalsBox.append(box);
      return value;
    };
    this.totals = {
      cost: stat('cost', 'Cost'),
      tokens: stat('tokens', 'Tokens'),
      messages: stat('messages', 'Messages'),
      cacheHitRate: stat('cacheHitRate', 'Cache hit rate'),
      cacheSavings: stat('cacheSavings', 'Cache savings'),
      range: el(doc, 'span', 'range muted'),
    };
    totalsBox.append(this.totals.range);

    this.charts = {
      cost: this.chart('cost', costTitle(this.controls.groupBy)),
      tokens: this.chart('tokens', 'Tokens by type · cache hit rate'),
      plan: this.chart('plan', 'Plan usage over time (official figures)'),
    };

    const agents = el(doc, 'section', 'card agents');
    agents.setAttribute('aria-label', 'Agents');
    const table = el(doc, 'table', 'agents-table');
    const head = el(doc, 'thead');
    const headRow = el(doc, 'tr');
    for (const col of AGENT_COLUMNS) {
      const th = el(doc, 'th', col.numeric ? 'num' : undefined, col.label);
      th.scope = 'col';
      headRow.append(th);
    }
    head.append(headRow);
    this.agentsBody = el(doc, 'tbody');
    table.append(head, this.agentsBody);
    this.agentsTable = table;
    this.agentsEmpty = el(doc, 'p', 'muted empty', 'No agent worked in this range. Agents you spawn from the Podium Agents view are listed here.');
    agents.append(el(doc, 'h2', undefined, 'Agents'), table, this.agentsEmpty);

    const insights = el(doc, 'section', 'card insights');
    insights.setAttribute('aria-label', 'Insights');
    this.insightsTitle = el(doc, 'h2', undefined, 'Insights');
    this.insightsList = el(doc, 'ul', 'insight-list');
    this.insightsEmpty = el(doc, 'p', 'muted empty', 'No insights: nothing in the last 30 days crosses a threshold.');
    insights.append(this.insightsTitle, this.insightsList, this.insightsEmpty);

    this.notes = el(doc, 'p', 'notes muted');

    const grid = el(doc, 'div', 'grid');
    grid.append(this.charts.cost.figure, this.charts.tokens.figure, this.charts.plan.figure, agents, insights);
    root.append(toolbar, this.status, totalsBox, grid, this.notes);
    this.showControls();
    setAttr(root, 'data-state', 'loading');
  }

  /** The first query, once the host listens. */
  start(): void {
    this.query();
  }

  handle(message: ToHistory): void {
    switch (message.type) {
      case 'history':
        if (message.seq === this.seq) this.show(message.history);
        break;
      case 'error':
        if (message.seq === this.seq) this.fail(message.message);
        break;
      case 'refresh':
        this.query();
        break;
    }
  }

  /** Draw the last answer again (e.g. the colour theme changed). */
  redraw(): void {
    if (this.last) this.drawCharts(this.last);
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }

  private dateInput(which: 'since' | 'until', label: string): HTMLInputElement {
    const input = el(this.doc, 'input');
    input.type = 'date';
    input.dataset.date = which;
    input.setAttribute('aria-label', label);
    input.addEventListener('change', () => {
      this.controls = { ...this.controls, [which]: input.value };
      this.query();
    });
    return input;
  }

  private chart(id: ChartModel['id'], title: string): ChartParts {
    const doc = this.doc;
    const figure = el(doc, 'figure', 'card chart');
    figure.dataset.chart = id;
    const heading = el(doc, 'h2', undefined, title);
    const box = el(doc, 'div', 'chart-box');
    const canvas = el(doc, 'canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', title);
    box.append(canvas);
    const note = el(doc, 'figcaption', 'muted note');
    note.hidden = true;
    figure.append(heading, box, note);
    return { figure, title: heading, canvas, note };
  }

  private setRange(range: RangeChoice): void {
    if (range === 'custom' && (!this.controls.since || !this.controls.until)) {
      // start the custom range from what is shown
      const shown = this.last;
      this.controls = { ...this.controls, since: this.controls.since || (shown?.since ?? ''), until: this.controls.until || (shown?.until ?? '') };
    }
    this.controls = { ...this.controls, range };
    this.query();
  }

  private showControls(): void {
    const c = this.controls;
    for (const [value, button] of this.rangeButtons) setAttr(button, 'aria-pressed', String(value === c.range));
    setHidden(this.custom, c.range !== 'custom');
    if (this.sinceInput.value !== c.since) this.sinceInput.value = c.since;
    if (this.untilInput.value !== c.until) this.untilInput.value = c.until;
    if (this.groupSelect.value !== c.groupBy) this.groupSelect.value = c.groupBy;
  }

  private query(): void {
    this.showControls();
    this.options.save?.(this.controls);
    const asked = historyParams(this.controls, this.now(), this.options.tz);
    this.seq += 1;
    if ('error' in asked) {
      this.setStatus('invalid', asked.error);
      return;
    }
    this.setStatus('loading', 'Loading…');
    this.options.post({ type: 'query', seq: this.seq, params: asked.params });
  }

  private setStatus(state: 'loading' | 'ready' | 'error' | 'invalid', text: string): void {
    setAttr(this.root, 'data-state', state);
    setText(this.status, text);
    setHidden(this.status, !text);
    setAttr(this.status, 'data-level', state === 'error' || state === 'invalid' ? 'error' : 'info');
  }

  private fail(message: string): void {
    this.setStatus('error', `Could not load the usage history: ${message}`);
  }

  private show(h: UsageHistory): void {
    this.last = h;
    const asked: UsageHistoryParams = { since: h.since, until: h.until, groupBy: h.groupBy, bucket: h.bucket };
    setAttr(this.root, 'data-query', JSON.stringify(asked));
    const empty = !h.series.length;
    this.setStatus('ready', empty ? 'No usage in this range.' : '');
    const t = totalsModel(h);
    setText(this.totals.cost, t.cost);
    setText(this.totals.tokens, t.tokens);
    setAttr(this.totals.tokens, 'title', t.tokensTitle);
    setText(this.totals.messages, t.messages);
    setText(this.totals.cacheHitRate, t.cacheHitRate);
    setText(this.totals.cacheSavings, t.cacheSavings);
    setText(this.totals.range, t.range);
    setText(this.charts.cost.title, costTitle(h.groupBy));
    this.drawCharts(h);
    this.showAgents(h);
    this.showInsights(h);
    setText(this.notes, h.notes.join(' · '));
    setHidden(this.notes, !h.notes.length);
  }

  private drawCharts(h: UsageHistory): void {
    const models: ChartModel[] = [costChart(h), tokensChart(h), planChart(h)];
    for (const model of models) {
      const parts = this.charts[model.id];
      const drawn = this.options.painter.draw(parts.canvas, model);
      parts.figure.dataset.series = JSON.stringify(drawn);
    }
    const plan = this.charts.plan;
    const seen = h.plan.length > 0;
    setHidden(plan.note, seen);
    setText(plan.note, seen ? '' : 'No official plan figure in this range: `podium statusline --install` makes Claude Code report them.');
  }

  private showAgents(h: UsageHistory): void {
    const rows = agentRows(h);
    const doc = this.doc;
    this.agentsBody.replaceChildren(
      ...rows.map((r) => {
        const tr = el(doc, 'tr');
        tr.dataset.agentId = r.id;
        if (r.removed) tr.classList.add('removed');
        const name = el(doc, 'td');
        name.dataset.col = 'agent';
        name.append(el(doc, 'span', 'name', r.name), el(doc, 'span', 'muted detail', r.detail));
        const cell = (key: string, text: string, title?: string): HTMLElement => {
          const td = el(doc, 'td', key === 'task' ? 'task' : 'num', text);
          td.dataset.col = key;
          if (title) td.title = title;
          return td;
        };
        tr.append(
          name,
          cell('task', r.task, r.task),
          cell('cost', r.cost),
          cell('tokens', r.tokens, r.tokensTitle),
          cell('messages', r.messages),
          cell('lines', r.lines, r.linesTitle),
          cell('costPer100Lines', r.costPer100Lines),
          cell('working', r.working),
          cell('waiting', r.waiting),
        );
        return tr;
      }),
    );
    setHidden(this.agentsEmpty, rows.length > 0);
    setHidden(this.agentsTable, rows.length === 0); // no header row over nothing
  }

  private showInsights(h: UsageHistory): void {
    const items = insightRows(h);
    const doc = this.doc;
    setText(this.insightsTitle, items.length ? `Insights (${items.length})` : 'Insights');
    this.insightsList.replaceChildren(
      ...items.map((i) => {
        const li = el(doc, 'li', 'insight');
        li.dataset.insightId = i.id;
        li.dataset.severity = i.severity;
        const head = el(doc, 'div', 'insight-head');
        head.append(el(doc, 'span', 'severity', i.severity), el(doc, 'span', 'title', i.title), el(doc, 'span', 'saving', i.saving));
        const evidence = el(doc, 'details', 'evidence');
        evidence.append(el(doc, 'summary', undefined, 'Evidence'), ...i.evidence.map((line) => el(doc, 'div', 'muted', line)));
        li.append(head, el(doc, 'p', 'action', i.action), evidence);
        return li;
      }),
    );
    setHidden(this.insightsEmpty, items.length > 0);
  }
}
