/**
 * The session part of an agent card: the last turn's outcome, the permission requests waiting on
 * the user (Allow / Deny / Allow all <tool>), and the message box (Enter sends a follow-up).
 * Keyed, in-place updates like the rest of the view: typed text and focus survive every push.
 */
import type { Decision, DecisionScope } from '../protocol';
import type { CardModel, PendingModel } from '../views/cards';
import { button, el, icon, setAttr, setHidden, setText } from './dom';
import type { FromWebview } from './messages';

type Post = (message: FromWebview) => void;

/** podium/sendMessage takes at most 64 KB of UTF-8. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** how long "Sent." stays under the box */
export const SENT_NOTE_MS = 8000;

interface RequestParts {
  root: HTMLLIElement;
  label: HTMLElement;
  age: HTMLElement;
  error: HTMLElement;
  allow: HTMLButtonElement;
  deny: HTMLButtonElement;
  allowAll: HTMLButtonElement;
}

export class CardSession {
  readonly lastTurn: HTMLElement;
  readonly pending: HTMLElement;
  readonly box: HTMLFormElement;
  private readonly pendingTitle: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly note: HTMLElement;
  private readonly rows = new Map<string, RequestParts>();
  private sending = false;
  private enabled = false;
  private name = '';
  private lastTurnText: string | null = null;
  /** a "Queued" note goes once the running turn ended (the message then went out) */
  private queuedAt: string | null | undefined;
  private noteTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly doc: Document,
    private readonly agentId: string,
    private readonly post: Post,
  ) {
    this.lastTurn = el(doc, 'div', 'last-turn muted');
    this.lastTurn.hidden = true;

    this.pending = el(doc, 'section', 'pending');
    this.pending.hidden = true;
    this.pendingTitle = el(doc, 'div', 'pending-title');
    this.list = el(doc, 'ul', 'requests');
    this.list.setAttribute('role', 'list');
    this.pending.append(this.pendingTitle, this.list);

    this.box = el(doc, 'form', 'message');
    this.input = el(doc, 'textarea', 'message-input');
    this.input.rows = 1;
    this.input.setAttribute('aria-label', 'Message to the agent');
    this.sendButton = el(doc, 'button', 'icon-button send');
    this.sendButton.type = 'button';
    this.sendButton.title = 'Send (Enter)';
    this.sendButton.append(icon(doc, 'send'));
    this.note = el(doc, 'div', 'message-note muted');
    this.note.setAttribute('role', 'status');
    this.note.hidden = true;
    const row = el(doc, 'div', 'message-row');
    row.append(this.input, this.sendButton);
    this.box.append(row, this.note);
    this.box.addEventListener('submit', (event) => event.preventDefault());
    this.sendButton.addEventListener('click', () => this.submit());
    this.input.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter is a new line; an IME composition keeps its Enter.
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('input', () => {
      if (!this.sending) this.setNote(null);
    });
  }

  apply(model: CardModel): void {
    this.name = model.name;
    this.lastTurnText = model.lastTurn;
    if (this.queuedAt !== undefined && model.lastTurn !== this.queuedAt) {
      this.queuedAt = undefined;
      this.setNote(null);
    }
    setHidden(this.lastTurn, !model.lastTurn);
    setText(this.lastTurn, model.lastTurn ? `Last turn: ${model.lastTurn}` : '');

    setHidden(this.pending, model.pending.length === 0);
    const n = model.pending.length;
    setText(this.pendingTitle, `${n} request${n === 1 ? '' : 's'} waiting for you`);
    const keep = new Set(model.pending.map((p) => p.requestId));
    for (const [id, parts] of this.rows) {
      if (!keep.has(id)) {
        parts.root.remove();
        this.rows.delete(id);
      }
    }
    let previous: HTMLElement | null = null;
    for (const request of model.pending) {
      let parts = this.rows.get(request.requestId);
      if (!parts) {
        parts = this.createRequest(request.requestId);
        this.rows.set(request.requestId, parts);
      }
      // oldest first, as the server lists them
      const expected: ChildNode | null = previous ? previous.nextSibling : this.list.firstChild;
      if (expected !== parts.root) this.list.insertBefore(parts.root, expected);
      this.applyRequest(parts, request);
      previous = parts.root;
    }

    this.enabled = model.message.enabled;
    setAttr(this.box, 'data-enabled', String(model.message.enabled));
    setAttr(this.input, 'placeholder', model.message.placeholder);
    setAttr(this.input, 'aria-label', `Message to ${model.name}`);
    this.updateDisabled();
  }

  /** The server took the message: it went out now, or waits for the running turn. */
  sent(queued: boolean): void {
    this.sending = false;
    this.input.value = '';
    if (queued) {
      this.setNote('Queued: it goes out when the current turn ends.');
      this.queuedAt = this.lastTurnText;
    } else {
      this.setNote('Sent.');
      this.noteTimer = setTimeout(() => this.setNote(null), SENT_NOTE_MS);
    }
    this.updateDisabled();
  }

  sendFailed(error: string): void {
    this.sending = false;
    this.setNote(error, true);
    this.updateDisabled();
  }

  answerFailed(requestId: string, error: string): void {
    const parts = this.rows.get(requestId);
    if (!parts) return;
    setAttr(parts.root, 'data-busy', 'false');
    for (const b of [parts.allow, parts.deny, parts.allowAll]) b.disabled = false;
    setHidden(parts.error, false);
    setText(parts.error, error);
  }

  /** Bring one request into view (the status bar's click on "⚠ N pending"). */
  focusRequest(requestId: string | undefined): boolean {
    const parts = (requestId && this.rows.get(requestId)) || this.rows.values().next().value;
    if (!parts) return false;
    parts.root.scrollIntoView?.({ block: 'nearest' });
    parts.root.focus();
    return true;
  }

  requestElement(requestId: string): HTMLElement | undefined {
    return this.rows.get(requestId)?.root;
  }

  private submit(): void {
    if (!this.enabled || this.sending) return;
    const text = this.input.value;
    if (!text.trim()) return;
    if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) {
      this.setNote('Too long: a message is at most 64 KB.', true);
      return;
    }
    this.sending = true;
    this.setNote('Sending…');
    this.updateDisabled();
    this.post({ type: 'send', agentId: this.agentId, text });
  }

  private updateDisabled(): void {
    const disabled = !this.enabled || this.sending;
    if (this.input.disabled !== disabled) this.input.disabled = disabled;
    if (this.sendButton.disabled !== disabled) this.sendButton.disabled = disabled;
    setAttr(this.sendButton, 'aria-label', `Send the message to ${this.name}`);
  }

  private setNote(text: string | null, error = false): void {
    if (this.noteTimer !== undefined) clearTimeout(this.noteTimer);
    this.noteTimer = undefined;
    if (!text) this.queuedAt = undefined;
    setHidden(this.note, !text);
    setText(this.note, text ?? '');
    setAttr(this.note, 'data-error', String(error));
    setAttr(this.note, 'role', error ? 'alert' : 'status');
  }

  private createRequest(requestId: string): RequestParts {
    const doc = this.doc;
    const root = el(doc, 'li', 'request');
    root.dataset.requestId = requestId;
    root.tabIndex = -1;
    const line = el(doc, 'div', 'request-line');
    const label = el(doc, 'span', 'request-label');
    const age = el(doc, 'span', 'request-age muted');
    line.append(icon(doc, 'shield'), label, age);
    const actions = el(doc, 'div', 'request-actions');
    const allow = button(doc, 'primary', 'check', 'Allow');
    const deny = button(doc, 'secondary', 'close', 'Deny');
    const allowAll = button(doc, 'secondary', 'check-all', 'Allow all');
    const error = el(doc, 'div', 'request-error');
    error.setAttribute('role', 'alert');
    error.hidden = true;
    const answer = (decision: Decision, scope: DecisionScope) => () => {
      if (root.dataset.busy === 'true') return;
      root.dataset.busy = 'true';
      for (const b of [allow, deny, allowAll]) b.disabled = true;
      setHidden(error, true);
      this.post({ type: 'answer', agentId: this.agentId, requestId, decision, scope });
    };
    allow.dataset.decision = 'allow';
    deny.dataset.decision = 'deny';
    allowAll.dataset.decision = 'allowAll';
    allow.addEventListener('click', answer('allow', 'once'));
    deny.addEventListener('click', answer('deny', 'once'));
    allowAll.addEventListener('click', answer('allow', 'agent'));
    actions.append(allow, deny, allowAll);
    root.append(line, actions, error);
    return { root, label, age, error, allow, deny, allowAll };
  }

  private applyRequest(parts: RequestParts, request: PendingModel): void {
    setText(parts.label, request.label);
    setAttr(parts.label, 'title', request.label);
    setText(parts.age, request.age);
    setAttr(parts.root, 'aria-label', `${this.name} asks to ${request.label}`);
    const allAllowLabel = parts.allowAll.lastElementChild;
    if (allAllowLabel) setText(allAllowLabel, request.allowAll);
    setAttr(parts.allow, 'aria-label', `Allow ${this.name} to ${request.label}`);
    setAttr(parts.deny, 'aria-label', `Deny ${this.name}'s request to ${request.label}`);
    setAttr(parts.allowAll, 'aria-label', `${request.allowAll} for ${this.name} from now on`);
    setAttr(parts.allowAll, 'title', `Allow every ${request.tool} of ${this.name} from now on, without asking`);
  }
}
