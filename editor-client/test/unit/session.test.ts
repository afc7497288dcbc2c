// @vitest-environment happy-dom
/** The session part of the cards: pending requests, the message box, the last turn, rate limits. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentCard, PendingRequest } from '../../src/protocol';
import { cardModel, messageBox, pendingModel } from '../../src/views/cards';
import type { FromWebview } from '../../src/webview/messages';
import { AgentsView } from '../../src/webview/render';
import { card } from './fixtures';

let root: HTMLElement;
let posted: FromWebview[];
let now: number;
let view: AgentsView;

const q = <T extends Element = HTMLElement>(sel: string, from: ParentNode = root): T => from.querySelector(sel) as T;
const qa = (sel: string, from: ParentNode = root): HTMLElement[] => [...from.querySelectorAll<HTMLElement>(sel)];

const request = (over: Partial<PendingRequest> = {}): PendingRequest => ({
  requestId: 'r1',
  tool: 'Write',
  summary: 'src/cart.py',
  since: 1_000_000,
  ...over,
});
const claude = (over: Partial<AgentCard> = {}): AgentCard => card({ profile: 'claude', status: 'waiting', ...over });

function push(c: AgentCard): HTMLElement {
  view.handle({ type: 'card', card: c });
  return view.cardElement(c.agentId)!;
}

function press(target: HTMLElement, key: string, init: KeyboardEventInit = {}): void {
  target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init }));
}

afterEach(() => {
  vi.useRealTimers();
});

beforeEach(() => {
  document.body.textContent = '';
  root = document.createElement('main');
  document.body.append(root);
  posted = [];
  now = 1_000_000 + 12_000;
  view = new AgentsView(root, (m) => posted.push(m), () => now);
  view.handle({ type: 'state', cards: [], summary: null, server: { kind: 'running' } });
});

describe('card model', () => {
  it('names each pending request by tool and summary, with its age and an Allow all', () => {
    expect(pendingModel(request(), 1_000_000 + 75_000)).toEqual({
      requestId: 'r1',
      tool: 'Write',
      summary: 'src/cart.py',
      label: 'Write src/cart.py',
      age: 'waiting 1m',
      allowAll: 'Allow all Write',
    });
    expect(pendingModel(request({ tool: 'Bash', summary: '' }), 1_000_000).label).toBe('Bash');
  });

  it('opens the message box only for a live session, and says why otherwise', () => {
    expect(messageBox(claude())).toEqual({ enabled: true, placeholder: 'Message alpha (Enter to send)' });
    expect(messageBox(claude({ status: 'working' }))).toEqual({
      enabled: true,
      placeholder: 'Message alpha (queued until this turn ends)',
    });
    expect(messageBox(claude({ status: 'rateLimited' })).enabled).toBe(true);
    expect(messageBox(claude({ status: 'paused' }))).toEqual({ enabled: true, placeholder: 'Message alpha (queued until it resumes)' });
    expect(messageBox(claude({ status: 'exited' }))).toEqual({ enabled: false, placeholder: 'Session ended: Resume to continue it' });
    expect(messageBox(card({ profile: 'shell' }))).toEqual({
      enabled: false,
      placeholder: 'No messages: shell agents run without a session',
    });
    // another profile is a session when the server names its permission mode
    expect(messageBox(card({ profile: 'fake', permissionMode: null })).enabled).toBe(false);
    expect(messageBox(card({ profile: 'fake', status: 'waiting', permissionMode: 'default' })).enabled).toBe(true);
  });

  it('offers Resume on an ended session, not on an ended plain process', () => {
    for (const status of ['stopped', 'exited', 'error'] as const) {
      const m = cardModel(claude({ status }), now);
      expect(m.actions.resume, status).toBe(true);
      expect(m.resumeSession).toBe(true);
      expect(m.actions.stop).toBe(false);
    }
    expect(cardModel(card({ profile: 'shell', status: 'exited' }), now).actions.resume).toBe(false);
    expect(cardModel(card({ status: 'exited' }), now).actions.resume).toBe(false); // a fake without a session
    expect(cardModel(claude({ status: 'paused' }), now)).toMatchObject({ resumeSession: false, actions: { resume: true } });
  });

  it('does not repeat a pending request as the reason above its own box', () => {
    const asks = { statusReason: 'asks to Write src/cart.py' };
    expect(cardModel(claude({ ...asks, pending: [request()] }), now).reason).toBeNull();
    // answered: whatever the server says next is shown again
    expect(cardModel(claude({ ...asks, pending: [] }), now).reason).toBe('asks to Write src/cart.py');
    expect(cardModel(claude({ ...asks, status: 'paused', pending: [request()] }), now).reason).toBe('asks to Write src/cart.py');
  });

  it('shows a rate-limited agent as such, still pausable and stoppable', () => {
    const m = cardModel(claude({ status: 'rateLimited', statusSince: now - 120_000, statusReason: 'rate limited; resets 14:05' }), now);
    expect(m.statusText).toBe('Rate limited for 2m');
    expect(m.statusIcon).toBe('watch');
    expect(m.reason).toBe('rate limited; resets 14:05');
    expect(m.actions).toMatchObject({ pause: true, stop: true, resume: false });
  });

  it("puts Claude Code's own cost next to Podium's when they differ by more than 1%", () => {
    const usage = { ...card().usage, costUSD: 0.32 };
    expect(cardModel(claude({ usage, reportedCostUSD: 0.3215 }), now).usageLine).toBe('45K tokens ($0.32) [API]');
    const off = cardModel(claude({ usage, reportedCostUSD: 0.35, permissionMode: 'default' }), now);
    expect(off.usageLine).toBe('45K tokens ($0.32) [API] · Claude Code: $0.35');
    expect(off.usageTitle).toContain("Claude Code's own total: $0.35");
    expect(off.usageTitle).toContain('Permission mode: default');
    // a plan's dollars are not real: only in the hover
    const sub = cardModel(claude({ usage, source: 'subscription', reportedCostUSD: 0.35 }), now);
    expect(sub.usageLine).toBe('23 messages [Sub]');
    expect(sub.usageTitle).toContain("Claude Code's own total: $0.35");
  });

  it('takes cards from servers without the session fields', () => {
    const old = card();
    delete (old as Partial<AgentCard>).pending;
    delete (old as Partial<AgentCard>).lastTurn;
    expect(cardModel(old, now)).toMatchObject({ pending: [], lastTurn: null });
  });
});

describe('pending requests on a card', () => {
  it('lists them oldest first with Allow / Deny / Allow all <tool>, each answering once', () => {
    const node = push(claude({ pending: [request(), request({ requestId: 'r2', tool: 'Bash', summary: 'npm test', since: 1_005_000 })] }));
    expect(node.dataset.pending).toBe('true');
    expect(q('.pending', node).hidden).toBe(false);
    expect(q('.pending-title', node).textContent).toBe('2 requests waiting for you');
    const rows = qa('.request', node);
    expect(rows.map((r) => r.dataset.requestId)).toEqual(['r1', 'r2']);
    expect(q('.request-label', rows[0]).textContent).toBe('Write src/cart.py');
    expect(q('.request-age', rows[0]).textContent).toBe('waiting 12s');
    expect(q('.request-age', rows[1]).textContent).toBe('waiting <10s'); // 7 s: not "0s"-style precision
    expect(q('[data-decision="allow"]', rows[0]).getAttribute('aria-label')).toBe('Allow alpha to Write src/cart.py');
    expect(q('[data-decision="deny"]', rows[0]).getAttribute('aria-label')).toBe("Deny alpha's request to Write src/cart.py");
    expect(q('[data-decision="allowAll"]', rows[1]).textContent).toBe('Allow all Bash');
    expect(rows[0].getAttribute('aria-label')).toBe('alpha asks to Write src/cart.py');

    q<HTMLButtonElement>('[data-decision="allow"]', rows[0]).click();
    q<HTMLButtonElement>('[data-decision="deny"]', rows[0]).click(); // busy: ignored
    q<HTMLButtonElement>('[data-decision="allowAll"]', rows[1]).click();
    expect(posted).toEqual([
      { type: 'answer', agentId: 'ag-1', requestId: 'r1', decision: 'allow', scope: 'once' },
      { type: 'answer', agentId: 'ag-1', requestId: 'r2', decision: 'allow', scope: 'agent' },
    ]);
    expect(q<HTMLButtonElement>('[data-decision="deny"]', rows[0]).disabled).toBe(true);
  });

  it('deny posts a deny; a refused answer re-enables the buttons and says why', () => {
    const node = push(claude({ pending: [request()] }));
    q<HTMLButtonElement>('[data-decision="deny"]', node).click();
    expect(posted.at(-1)).toEqual({ type: 'answer', agentId: 'ag-1', requestId: 'r1', decision: 'deny', scope: 'once' });
    view.handle({ type: 'answerFailed', agentId: 'ag-1', requestId: 'r1', error: 'request r1 was already answered' });
    expect(q<HTMLButtonElement>('[data-decision="deny"]', node).disabled).toBe(false);
    expect(q('.request-error', node).hidden).toBe(false);
    expect(q('.request-error', node).textContent).toBe('request r1 was already answered');
  });

  it('updates in place: a row survives pushes, goes when answered, a new one joins in order', () => {
    const node = push(claude({ pending: [request()] }));
    const row = q('.request', node);
    now += 60_000;
    push(claude({ pending: [request()] }));
    expect(q('.request', node)).toBe(row);
    expect(q('.request-age', row).textContent).toBe('waiting 1m');
    push(claude({ pending: [request(), request({ requestId: 'r0', since: 999_000 })].sort((a, b) => a.since - b.since) }));
    expect(qa('.request', node).map((r) => r.dataset.requestId)).toEqual(['r0', 'r1']);
    push(claude({ pending: [request({ requestId: 'r0', since: 999_000 })] }));
    expect(row.isConnected).toBe(false);
    push(claude({ pending: [] }));
    expect(q('.pending', node).hidden).toBe(true);
    expect(node.dataset.pending).toBe('false');
  });

  it('focusAgent with a requestId brings that request into view, even before its card arrives', () => {
    view.handle({ type: 'focusAgent', agentId: 'ag-1', requestId: 'r2' });
    const node = push(claude({ pending: [request(), request({ requestId: 'r2' })] }));
    expect(document.activeElement).toBe(view.cardElement('ag-1')!.querySelector('[data-request-id="r2"]'));
    view.handle({ type: 'focusAgent', agentId: 'ag-1', requestId: 'gone' }); // answered meanwhile: the first
    expect(document.activeElement).toBe(q('[data-request-id="r1"]', node));
    push(claude({ pending: [] }));
    view.handle({ type: 'focusAgent', agentId: 'ag-1', requestId: 'r1' }); // none left: the card
    expect(document.activeElement).toBe(node);
  });

  it('never renders a request as HTML', () => {
    const node = push(claude({ pending: [request({ summary: '<img src=x onerror=alert(1)>' })] }));
    expect(node.querySelector('img')).toBeNull();
    expect(q('.request-label', node).textContent).toBe('Write <img src=x onerror=alert(1)>');
  });
});

describe('the message box', () => {
  it('Enter sends the text; Shift+Enter and blank text do not', () => {
    const node = push(claude());
    const input = q<HTMLTextAreaElement>('.message-input', node);
    expect(input.disabled).toBe(false);
    expect(input.placeholder).toBe('Message alpha (Enter to send)');
    input.value = '   ';
    press(input, 'Enter');
    input.value = 'Also add tests';
    press(input, 'Enter', { shiftKey: true });
    expect(posted).toEqual([]);
    press(input, 'Enter');
    expect(posted).toEqual([{ type: 'send', agentId: 'ag-1', text: 'Also add tests' }]);
    expect(input.disabled).toBe(true); // until the server answers
    expect(q('.message-note', node).textContent).toBe('Sending…');
    press(input, 'Enter');
    expect(posted).toHaveLength(1);
  });

  it('says queued when the server queued it, clears the box, and is ready for the next', () => {
    const node = push(claude({ status: 'working' }));
    const input = q<HTMLTextAreaElement>('.message-input', node);
    input.value = 'and the docs';
    q<HTMLButtonElement>('button.send', node).click();
    expect(posted.at(-1)).toEqual({ type: 'send', agentId: 'ag-1', text: 'and the docs' });
    view.handle({ type: 'sent', agentId: 'ag-1', queued: true });
    expect(input.value).toBe('');
    expect(input.disabled).toBe(false);
    expect(q('.message-note', node).textContent).toBe('Queued: it goes out when the current turn ends.');
    input.value = 'x';
    input.dispatchEvent(new Event('input'));
    expect(q('.message-note', node).hidden).toBe(true);
    press(input, 'Enter');
    view.handle({ type: 'sent', agentId: 'ag-1', queued: false });
    expect(q('.message-note', node).textContent).toBe('Sent.');
  });

  it('lets "Sent." go after a while, and "Queued" once the running turn has ended', () => {
    vi.useFakeTimers();
    const node = push(claude({ status: 'working', lastTurn: 'wrote 1 file' }));
    const input = q<HTMLTextAreaElement>('.message-input', node);
    const note = q('.message-note', node);
    input.value = 'one';
    press(input, 'Enter');
    view.handle({ type: 'sent', agentId: 'ag-1', queued: false });
    vi.advanceTimersByTime(7000);
    expect(note.hidden).toBe(false);
    vi.advanceTimersByTime(1500);
    expect(note.hidden).toBe(true);
    input.value = 'two';
    press(input, 'Enter');
    view.handle({ type: 'sent', agentId: 'ag-1', queued: true });
    push(claude({ status: 'working', lastTurn: 'wrote 1 file' })); // the same turn runs on
    vi.advanceTimersByTime(60_000);
    expect(note.textContent).toMatch(/^Queued/);
    push(claude({ status: 'working', lastTurn: 'wrote 3 files' })); // it ended: the message went out
    expect(note.hidden).toBe(true);
  });

  it('keeps the text and shows the error when the server refuses', () => {
    const node = push(claude());
    const input = q<HTMLTextAreaElement>('.message-input', node);
    input.value = 'hello';
    press(input, 'Enter');
    view.handle({ type: 'sendFailed', agentId: 'ag-1', error: 'alpha has ended: resume it first' });
    expect(input.value).toBe('hello');
    expect(input.disabled).toBe(false);
    const note = q('.message-note', node);
    expect(note.textContent).toBe('alpha has ended: resume it first');
    expect(note.dataset.error).toBe('true');
    expect(note.getAttribute('role')).toBe('alert');
  });

  it('refuses more than 64 KB without asking the server', () => {
    const node = push(claude());
    const input = q<HTMLTextAreaElement>('.message-input', node);
    input.value = 'é'.repeat(33_000); // 66,000 bytes of UTF-8
    press(input, 'Enter');
    expect(posted).toEqual([]);
    expect(q('.message-note', node).textContent).toBe('Too long: a message is at most 64 KB.');
  });

  it('is disabled with a hint where no message can go, and keeps typed text across pushes', () => {
    const shell = push(card({ agentId: 'sh', profile: 'shell', startedAt: 5 }));
    const box = q<HTMLTextAreaElement>('.message-input', shell);
    expect(box.disabled).toBe(true);
    expect(box.placeholder).toBe('No messages: shell agents run without a session');
    box.value = 'typed';
    press(box, 'Enter');
    expect(posted).toEqual([]);

    const node = push(claude());
    const input = q<HTMLTextAreaElement>('.message-input', node);
    input.value = 'half a thought';
    input.focus();
    push(claude({ status: 'working', usage: { ...claude().usage, messages: 40 } }));
    expect(q('.message-input', node)).toBe(input);
    expect(input.value).toBe('half a thought');
    expect(document.activeElement).toBe(input);
    push(claude({ status: 'exited', exitCode: 0 }));
    expect(input.disabled).toBe(true);
    expect(input.placeholder).toBe('Session ended: Resume to continue it');
  });
});

describe('last turn, resume and rate limits on the card', () => {
  it('shows the last turn in one line', () => {
    const node = push(claude({ lastTurn: 'wrote 2 files' }));
    expect(q('.last-turn', node).hidden).toBe(false);
    expect(q('.last-turn', node).textContent).toBe('Last turn: wrote 2 files');
    push(claude({ lastTurn: null }));
    expect(q('.last-turn', node).hidden).toBe(true);
  });

  it('offers Resume on an ended Claude agent', () => {
    const node = push(claude({ status: 'stopped' }));
    const resume = q<HTMLButtonElement>('button[data-action="resume"]', node);
    expect(resume.hidden).toBe(false);
    expect(resume.title).toBe('Continue the ended session in its worktree');
    resume.click();
    expect(posted).toEqual([{ type: 'action', action: 'resume', agentId: 'ag-1' }]);
  });

  it('styles the rate-limited state apart and names the reset time', () => {
    const node = push(claude({ status: 'rateLimited', statusSince: now - 30_000, statusReason: 'rate limited; resets 14:05' }));
    expect(node.dataset.status).toBe('rateLimited');
    expect(q('.status-text', node).textContent).toBe('Rate limited for 30s');
    expect(q('.status .codicon', node).className).toBe('codicon codicon-watch');
    expect(q('.reason', node).textContent).toBe('rate limited; resets 14:05');
    expect(node.getAttribute('aria-label')).toBe('Agent alpha: Rate limited for 30s');
  });
});
