/** What the extension knows from the server's pushes. Pure; listeners get each change. */
import type { AgentCard, StatusBar, UsageSummary } from '../protocol';
import type { ServerState } from '../views/statusBar';

export type StateChange =
  | { kind: 'card'; card: AgentCard }
  | { kind: 'removed'; agentId: string }
  | { kind: 'reset'; cards: AgentCard[] }
  | { kind: 'statusBar'; statusBar: StatusBar }
  | { kind: 'summary'; summary: UsageSummary }
  | { kind: 'server'; server: ServerState };

export type Listener = (change: StateChange) => void;

export class PodiumState {
  readonly cards = new Map<string, AgentCard>();
  statusBar: StatusBar | null = null;
  summary: UsageSummary | null = null;
  server: ServerState = { kind: 'starting' };
  private readonly listeners = new Set<Listener>();

  onChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  upsertCard(card: AgentCard): void {
    if (!card || typeof card.agentId !== 'string') return;
    this.cards.set(card.agentId, card);
    this.emit({ kind: 'card', card });
  }

  removeCard(agentId: string): void {
    if (this.cards.delete(agentId)) this.emit({ kind: 'removed', agentId });
  }

  /** Replace every card (after podium/listAgents, e.g. on a (re)connect). */
  resetCards(cards: AgentCard[]): void {
    this.cards.clear();
    for (const card of cards) this.cards.set(card.agentId, card);
    this.emit({ kind: 'reset', cards: [...this.cards.values()] });
  }

  setStatusBar(statusBar: StatusBar): void {
    this.statusBar = statusBar;
    this.emit({ kind: 'statusBar', statusBar });
  }

  /** Forget the last push (a new server process will push its own). */
  clearStatusBar(): void {
    this.statusBar = null;
  }

  setSummary(summary: UsageSummary): void {
    this.summary = summary;
    this.emit({ kind: 'summary', summary });
  }

  setServer(server: ServerState): void {
    this.server = server;
    this.emit({ kind: 'server', server });
  }

  private emit(change: StateChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
