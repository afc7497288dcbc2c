/** Messages between the extension host and the Agents webview. Types only. */
import type { AgentCard, UsageSummary } from '../protocol';
import type { ServerState } from '../views/statusBar';

export type CardAction = 'pause' | 'resume' | 'stop' | 'remove' | 'terminal' | 'diff';
export type ViewCommand = 'spawn' | 'export' | 'restart' | 'refreshSummary' | 'fixSetup' | 'showLog';

export type ToWebview =
  | { type: 'state'; cards: AgentCard[]; summary: UsageSummary | null; server: ServerState }
  | { type: 'card'; card: AgentCard }
  | { type: 'removed'; agentId: string }
  | { type: 'summary'; summary: UsageSummary }
  | { type: 'server'; server: ServerState }
  | { type: 'focusSummary' }
  | { type: 'focusAgent'; agentId: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'action'; action: CardAction; agentId: string }
  | { type: 'command'; command: ViewCommand };
