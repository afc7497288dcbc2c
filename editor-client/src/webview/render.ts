/**
 * Renders the Agents view from host messages with keyed, in-place DOM updates: a card's element
 * is created once and then only the text/attributes that changed are touched, so updates do not
 * flicker, keep focus and keep the scroll position. No innerHTML with data anywhere.
 */
import type { AgentCard, UsageSummary } from '../protocol';
import { cardModel, type CardModel, sortCards } from '../views/cards';
import { restartDelay, type ServerState } from '../views/statusBar';
import { summaryModel, type BarModel } from '../views/summary';
import { el, icon, setAttr, setHidden, setIcon, setText } from './dom';
import type { CardAction, FromWebview, ToWebview, ViewCommand } from './messages';
import { CardSession } from './session';

type Post = (message: FromWebview) => void;

interface CardParts {
  root: HTMLLIElement;
  name: HTMLElement;
  branch: HTMLElement;
  task: HTMLElement;
  statusIcon: HTMLElement;
  statusText: HTMLElement;
  reason: HTMLElement;
  usage: HTMLElement;
  added: HTMLElement;
  removed: HTMLElement;
  changes: HTMLElement;
  limit: HTMLElement;
  limitFill: HTMLElement;
  limitBar: HTMLElement;
  limitLabel: HTMLElement;
  buttons: Record<CardAction, HTMLButtonElement>;
  session: CardSession;
}

interface BarParts {
  root: HTMLElement;
  label: HTMLElement;
  fill: HTMLElement;
  track: HTMLElement;
  detail: HTMLElement;
}

const BUTTONS: { action: CardAction; label: string; icon: string; title: string }[] = [
  { action: 'pause', label: 'Pause', icon: 'debug-pause', title: 'Pause the agent (suspends its processes)' },
  { action: 'resume', label: 'Resume', icon: 'debug-continue', title: 'Resume the agent' },
  { action: 'stop', label: 'Stop', icon: 'debug-stop', title: 'Stop the agent (terminates its processes)' },
  { action: 'terminal', label: 'Terminal', icon: 'terminal', title: 'Open a terminal in the worktree' },
  { action: 'diff', label: 'Show Diff', icon: 'diff', title: 'Show the changes in the worktree' },
];

export class AgentsView {
  private readonly doc: Document;
  private readonly cards = new Map<string, { card: AgentCard; parts: CardParts }>();
  /** a focus that arrived before its card (e.g. the status bar click right after a restart) */
  private pendingFocus: { agentId: string; requestId?: string } | null = null;
  private readonly list: HTMLUListElement;
  private readonly empty: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly bannerText: HTMLElement;
  private readonly bannerButton: HTMLButtonElement;
  private readonly summaryRoot: HTMLElement;
  private readonly summary: {
    updated: HTMLElement;
    plan: HTMLElement;
    planTitle: HTMLElement;
    fiveHour: BarParts;
    sevenDay: BarParts;
    planNote: HTMLElement;
    api: HTMLElement;
    apiTitle: HTMLElement;
    apiToday: HTMLElement;
    apiMonth: HTMLElement;
    today: HTMLElement;
    limits: HTMLElement;
    agentsBox: HTMLElement;
    agents: HTMLUListElement;
    placeholder: HTMLElement;
    history: HTMLButtonElement;
    insightBadge: HTMLElement;
  };
  private readonly agentRows = new Map<string, BarParts & { usage: HTMLElement; tag: HTMLElement }>();
  private lastSummary: UsageSummary | null = null;
  private bannerCommand: ViewCommand = 'restart';
  private readonly root: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly post: Post,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.root = root;
    this.doc = root.ownerDocument;
    const doc = this.doc;

    this.banner = el(doc, 'section', 'banner');
    this.banner.setAttribute('role', 'status');
    this.banner.hidden = true;
    this.bannerText = el(doc, 'span', 'banner-text');
    this.bannerButton = el(doc, 'button', 'secondary', 'Restart Server');
    this.bannerButton.type = 'button';
    this.bannerButton.addEventListener('click', () =>
      this.post({ type: 'command', command: this.bannerCommand }),
    );
    this.banner.append(icon(doc, 'warning'), this.bannerText, this.bannerButton);

    this.summaryRoot = el(doc, 'section', 'summary');
    this.summaryRoot.id = 'summary';
    this.summaryRoot.setAttribute('aria-label', 'Usage summary');
    this.summaryRoot.tabIndex = -1;
    const head = el(doc, 'header', 'section-head');
    const h2 = el(doc, 'h2', undefined, 'Usage Summary');
    const updated = el(doc, 'span', 'muted updated');
    head.append(h2, updated);
    const plan = el(doc, 'div', 'block plan');
    const planTitle = el(doc, 'h3');
    const fiveHour = this.bar('plan-5h');
    const sevenDay = this.bar('plan-7d');
    const planNote = el(doc, 'p', 'muted note');
    plan.append(planTitle, fiveHour.root, sevenDay.root, planNote);
    const api = el(doc, 'div', 'block api');
    const apiTitle = el(doc, 'h3');
    const apiLine = el(doc, 'p', 'api-line');
    const apiToday = el(doc, 'strong', 'api-today');
    const apiMonth = el(doc, 'strong', 'api-month');
    apiLine.append('Today ', apiToday, ' · This month ', apiMonth);
    api.append(apiTitle, apiLine);
    const today = el(doc, 'p', 'muted today');
    const limits = el(doc, 'p', 'muted limits');
    const agentsBox = el(doc, 'div', 'block by-agent');
    const agents = el(doc, 'ul', 'agent-bars');
    agents.setAttribute('role', 'list');
    agentsBox.append(el(doc, 'h3', undefined, 'By Agent'), agents);
    const placeholder = el(doc, 'p', 'muted placeholder', 'Loading usage…');
    const actions = el(doc, 'div', 'summary-actions');
    const history = this.commandButton('history', 'History', 'graph-line', 'Usage over time, per agent, and insights');
    const insightBadge = el(doc, 'span', 'badge');
    insightBadge.hidden = true;
    history.append(insightBadge);
    actions.append(
      history,
      this.commandButton('export', 'Export', 'export', 'Export usage to CSV or JSON'),
      this.commandButton('refreshSummary', 'Refresh', 'refresh', 'Refresh the usage summary'),
    );
    this.summaryRoot.append(head, placeholder, plan, api, today, limits, agentsBox, actions);
    this.summary = {
      updated,
      plan,
      planTitle,
      fiveHour,
      sevenDay,
      planNote,
      api,
      apiTitle,
      apiToday,
      apiMonth,
      today,
      limits,
      agentsBox,
      agents,
      placeholder,
      history,
      insightBadge,
    };
    for (const node of [plan, api, today, limits, agentsBox]) node.hidden = true;

    const agentsSection = el(doc, 'section', 'agents');
    agentsSection.setAttribute('aria-label', 'Agents');
    const agentsHead = el(doc, 'header', 'section-head');
    agentsHead.append(
      el(doc, 'h2', undefined, 'Agents'),
      this.commandButton('spawn', 'Spawn Agent', 'add', 'Spawn a new agent in its own worktree'),
    );
    this.empty = el(doc, 'div', 'empty');
    this.empty.append(
      el(doc, 'p', undefined, 'No agents yet.'),
      el(doc, 'p', 'muted', 'Spawn Agent starts one on a task; each agent works in its own git worktree and branch.'),
    );
    this.list = el(doc, 'ul', 'cards');
    this.list.setAttribute('role', 'list');
    agentsSection.append(agentsHead, this.empty, this.list);

    root.append(this.banner, this.summaryRoot, agentsSection);
  }

  /** Apply one message from the host. */
  handle(message: ToWebview): void {
    switch (message.type) {
      case 'state':
        this.setServer(message.server);
        this.resetCards(message.cards);
        if (message.summary) this.setSummary(message.summary);
        break;
      case 'card':
        this.upsert(message.card);
        break;
      case 'removed':
        this.remove(message.agentId);
        break;
      case 'summary':
        this.setSummary(message.summary);
        break;
      case 'server':
        this.setServer(message.server);
        break;
      case 'focusSummary':
        this.summaryRoot.scrollIntoView?.({ block: 'start' });
        this.summaryRoot.focus();
        break;
      case 'focusAgent':
        this.focusAgent(message.agentId, message.requestId);
        break;
      case 'sent':
        this.cards.get(message.agentId)?.parts.session.sent(message.queued);
        break;
      case 'sendFailed':
        this.cards.get(message.agentId)?.parts.session.sendFailed(message.error);
        break;
      case 'answerFailed':
        this.cards.get(message.agentId)?.parts.session.answerFailed(message.requestId, message.error);
        break;
    }
  }

  private focusAgent(agentId: string, requestId?: string): void {
    const entry = this.cards.get(agentId);
    if (!entry) {
      this.pendingFocus = { agentId, requestId };
      return;
    }
    this.pendingFocus = null;
    if (requestId && entry.parts.session.focusRequest(requestId)) return;
    entry.parts.root.scrollIntoView?.({ block: 'nearest' });
    entry.parts.root.focus();
  }

  /** Re-render the time-dependent texts ("Working for 12m"). */
  tick(): void {
    const now = this.now();
    for (const { card, parts } of this.cards.values()) this.apply(parts, cardModel(card, now));
    if (this.lastSummary) this.setSummary(this.lastSummary);
  }

  cardElement(agentId: string): HTMLElement | undefined {
    return this.cards.get(agentId)?.parts.root;
  }

  private resetCards(cards: AgentCard[]): void {
    const keep = new Set(cards.map((c) => c.agentId));
    for (const id of [...this.cards.keys()]) if (!keep.has(id)) this.remove(id);
    for (const card of sortCards(cards)) this.upsert(card);
  }

  private upsert(card: AgentCard): void {
    let entry = this.cards.get(card.agentId);
    if (!entry) {
      entry = { card, parts: this.createCard(card.agentId) };
      this.cards.set(card.agentId, entry);
      this.insertInOrder(entry.parts.root, card);
    }
    entry.card = card;
    this.apply(entry.parts, cardModel(card, this.now()));
    setHidden(this.empty, this.cards.size > 0);
    if (this.pendingFocus?.agentId === card.agentId) this.focusAgent(card.agentId, this.pendingFocus.requestId);
  }

  private insertInOrder(node: HTMLLIElement, card: AgentCard): void {
    const ordered = sortCards([...this.cards.values()].map((e) => e.card));
    const index = ordered.findIndex((c) => c.agentId === card.agentId);
    const next = ordered[index + 1];
    const before = next ? this.cards.get(next.agentId)?.parts.root : undefined;
    if (before && before.parentNode === this.list) this.list.insertBefore(node, before);
    else this.list.append(node);
  }

  private remove(agentId: string): void {
    const entry = this.cards.get(agentId);
    if (!entry) return;
    entry.parts.root.remove();
    this.cards.delete(agentId);
    setHidden(this.empty, this.cards.size > 0);
  }

  private createCard(agentId: string): CardParts {
    const doc = this.doc;
    const root = el(doc, 'li', 'card');
    root.dataset.agentId = agentId;
    root.tabIndex = -1;

    const head = el(doc, 'header', 'card-head');
    const name = el(doc, 'span', 'name');
    const branch = el(doc, 'span', 'branch muted');
    const close = el(doc, 'button', 'icon-button close');
    close.type = 'button';
    close.append(icon(doc, 'close'));
    close.addEventListener('click', () => this.post({ type: 'action', action: 'remove', agentId }));
    head.append(name, branch, close);

    const task = el(doc, 'div', 'task');
    const status = el(doc, 'div', 'status');
    const statusIcon = icon(doc, 'circle-outline');
    const statusText = el(doc, 'span', 'status-text');
    status.append(statusIcon, statusText);
    const reason = el(doc, 'div', 'reason');
    reason.setAttribute('role', 'note');
    const usage = el(doc, 'div', 'usage');
    const changes = el(doc, 'div', 'changes');
    const added = el(doc, 'span', 'added');
    const removed = el(doc, 'span', 'removed');
    changes.append('Changes: ', added, ' ', removed);
    const limit = el(doc, 'div', 'limit');
    const limitBar = el(doc, 'div', 'bar');
    limitBar.setAttribute('role', 'meter');
    limitBar.setAttribute('aria-valuemin', '0');
    limitBar.setAttribute('aria-valuemax', '100');
    const limitFill = el(doc, 'div', 'fill');
    limitBar.append(limitFill);
    const limitLabel = el(doc, 'div', 'limit-label muted');
    limit.append(limitBar, limitLabel);

    const actions = el(doc, 'div', 'actions');
    const buttons = {} as Record<CardAction, HTMLButtonElement>;
    for (const spec of BUTTONS) {
      const button = el(doc, 'button', spec.action === 'pause' || spec.action === 'resume' ? 'primary' : 'secondary');
      button.type = 'button';
      button.dataset.action = spec.action;
      button.title = spec.title;
      button.append(icon(doc, spec.icon), el(doc, 'span', undefined, spec.label));
      button.addEventListener('click', () => this.post({ type: 'action', action: spec.action, agentId }));
      actions.append(button);
      buttons[spec.action] = button;
    }
    buttons.remove = close;

    const session = new CardSession(doc, agentId, this.post);
    root.append(head, task, status, reason, session.lastTurn, session.pending, usage, changes, limit, session.box, actions);
    return {
      root,
      name,
      branch,
      task,
      statusIcon,
      statusText,
      reason,
      usage,
      added,
      removed,
      changes,
      limit,
      limitFill,
      limitBar,
      limitLabel,
      buttons,
      session,
    };
  }

  private apply(parts: CardParts, model: CardModel): void {
    setAttr(parts.root, 'data-status', model.status);
    setAttr(parts.root, 'data-pending', String(model.pending.length > 0));
    setAttr(parts.root, 'aria-label', `Agent ${model.name}: ${model.statusText}`);
    setText(parts.name, model.name);
    setText(parts.branch, model.branch);
    setText(parts.task, `Task: ${model.task}`);
    setAttr(parts.task, 'title', model.task);
    setIcon(parts.statusIcon, model.statusIcon);
    setText(parts.statusText, model.statusText);
    setHidden(parts.reason, !model.reason);
    setText(parts.reason, model.reason ?? '');
    setText(parts.usage, `Session: ${model.usageLine}`);
    setAttr(parts.usage, 'title', model.usageTitle);
    const [add, rem] = model.diffText.split(' ');
    setText(parts.added, add);
    setText(parts.removed, rem);
    setAttr(parts.changes, 'title', model.diffTitle);
    setHidden(parts.limit, !model.limit);
    if (model.limit) {
      const width = `${model.limit.widthPct.toFixed(1)}%`;
      if (parts.limitFill.style.width !== width) parts.limitFill.style.width = width;
      setAttr(parts.limitBar, 'data-level', model.limit.level);
      setAttr(parts.limitBar, 'aria-valuenow', String(Math.round(model.limit.widthPct)));
      setAttr(parts.limitBar, 'aria-label', model.limit.label);
      setText(parts.limitLabel, model.limit.label);
      setAttr(parts.limit, 'title', model.limit.title);
    }
    const a = model.actions;
    setHidden(parts.buttons.pause, !a.pause);
    setHidden(parts.buttons.resume, !a.resume);
    setHidden(parts.buttons.stop, !a.stop);
    setHidden(parts.buttons.terminal, !a.terminal);
    setHidden(parts.buttons.diff, !a.diff);
    setAttr(parts.buttons.remove, 'aria-label', `Remove agent ${model.name}`);
    setAttr(parts.buttons.remove, 'title', `Remove agent ${model.name} (and its worktree)`);
    for (const action of ['pause', 'resume', 'stop', 'terminal', 'diff'] as const) {
      setAttr(parts.buttons[action], 'aria-label', `${BUTTONS.find((b) => b.action === action)?.label} ${model.name}`);
    }
    setAttr(
      parts.buttons.resume,
      'title',
      model.resumeSession ? 'Continue the ended session in its worktree' : 'Resume the agent',
    );
    parts.session.apply(model);
  }

  private setSummary(summary: UsageSummary): void {
    this.lastSummary = summary;
    const now = this.now();
    const m = summaryModel(summary, now);
    const s = this.summary;
    setHidden(s.placeholder, true);
    setText(s.updated, `updated ${new Date(m.generatedAt).toLocaleTimeString()}`);
    setHidden(s.plan, !m.showPlan);
    setText(s.planTitle, m.planTitle);
    this.applyBar(s.fiveHour, m.fiveHour);
    this.applyBar(s.sevenDay, m.sevenDay);
    setHidden(s.planNote, !m.planNote);
    setText(s.planNote, m.planNote ?? '');
    setHidden(s.api, !m.showApi);
    setText(s.apiTitle, m.apiTitle);
    setText(s.apiToday, m.apiToday);
    setText(s.apiMonth, m.apiMonth);
    setHidden(s.today, false);
    setText(s.today, m.todayLine);
    setHidden(s.insightBadge, !m.insightBadge);
    setText(s.insightBadge, m.insightBadge ?? '');
    setAttr(s.history, 'title', m.historyTitle);
    setAttr(s.history, 'aria-label', m.historyLabel);
    setHidden(s.limits, !m.limitsLine);
    setText(s.limits, m.limitsLine ?? '');
    setHidden(s.agentsBox, m.agents.length === 0);
    const keep = new Set(m.agents.map((a) => a.id));
    for (const [id, row] of this.agentRows) {
      if (!keep.has(id)) {
        row.root.remove();
        this.agentRows.delete(id);
      }
    }
    for (const agent of m.agents) {
      let row = this.agentRows.get(agent.id);
      if (!row) {
        const bar = this.bar('agent-bar');
        const li = el(this.doc, 'li', 'agent-row');
        const usage = el(this.doc, 'span', 'agent-usage');
        const tag = el(this.doc, 'span', 'tag');
        bar.label.after(usage, tag);
        li.append(bar.root);
        s.agents.append(li);
        row = { ...bar, root: li, usage, tag };
        this.agentRows.set(agent.id, row);
      }
      setText(row.label, agent.name);
      setText(row.usage, agent.usage);
      setText(row.tag, agent.tag);
      setText(row.detail, agent.kind); // as in the product sketch (seed 004)
      setAttr(row.root, 'title', agent.title);
      setAttr(row.track, 'aria-label', agent.title);
      setAttr(row.track, 'aria-valuenow', String(Math.round(agent.widthPct)));
      const width = `${agent.widthPct.toFixed(1)}%`;
      if (row.fill.style.width !== width) row.fill.style.width = width;
      setAttr(row.track, 'data-kind', agent.kind);
    }
  }

  private bar(className: string): BarParts {
    const doc = this.doc;
    const root = el(doc, 'div', `bar-row ${className}`);
    const label = el(doc, 'span', 'bar-label');
    const track = el(doc, 'div', 'bar');
    track.setAttribute('role', 'meter');
    track.setAttribute('aria-valuemin', '0');
    track.setAttribute('aria-valuemax', '100');
    const fill = el(doc, 'div', 'fill');
    track.append(fill);
    const detail = el(doc, 'span', 'bar-detail muted');
    root.append(label, track, detail);
    return { root, label, fill, track, detail };
  }

  private applyBar(parts: BarParts, model: BarModel | null): void {
    setHidden(parts.root, !model);
    if (!model) return;
    setText(parts.label, model.label);
    setText(parts.detail, model.detail);
    const width = `${model.widthPct.toFixed(1)}%`;
    if (parts.fill.style.width !== width) parts.fill.style.width = width;
    setAttr(parts.track, 'data-level', model.level);
    setAttr(parts.track, 'aria-valuenow', String(Math.round(model.widthPct)));
    setAttr(parts.track, 'aria-label', model.label);
    setAttr(parts.root, 'data-stale', String(model.stale));
  }

  private commandButton(command: ViewCommand, label: string, codicon: string, title: string): HTMLButtonElement {
    const button = el(this.doc, 'button', 'secondary');
    button.type = 'button';
    button.title = title;
    button.dataset.command = command;
    button.append(icon(this.doc, codicon), el(this.doc, 'span', undefined, label));
    button.addEventListener('click', () => this.post({ type: 'command', command }));
    return button;
  }

  private setServer(server: ServerState): void {
    let text = '';
    let action: [ViewCommand, string] | null = null;
    switch (server.kind) {
      case 'restarting':
        text = `Podium server stopped; restarting in ${restartDelay(server.delayMs)} (attempt ${server.attempt}).`;
        action = ['showLog', 'Show Log'];
        break;
      case 'stopped':
        text = `Podium server is not running: ${server.reason}`;
        action = ['restart', 'Restart Server'];
        break;
      case 'missingPython':
        text = `Python not found: ${server.python}. Set podium.pythonPath.`;
        action = ['fixSetup', 'Fix…'];
        break;
      case 'missingPodium':
        text = `Podium is not installed for ${server.python}.`;
        action = ['fixSetup', 'Fix…'];
        break;
      default:
        break;
    }
    // Cards are only as fresh as the server: dim them while it is not running.
    setAttr(this.root, 'data-server', server.kind === 'running' || server.kind === 'starting' ? 'up' : 'down');
    setHidden(this.banner, !text);
    setText(this.bannerText, text);
    if (action) {
      this.bannerCommand = action[0];
      setText(this.bannerButton, action[1]);
    }
  }
}
