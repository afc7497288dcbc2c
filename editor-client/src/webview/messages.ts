/** Messages between the extension host and the Agents webview. Types only. */
import type { AgentCard, Decision, DecisionScope, UsageSummary } from '../protocol';
import type { ServerState } from '../views/statusBar';

export type CardAction = 'pause' | 'resume' | 'stop' | 'remove' | 'terminal' | 'diff';
export type ViewCommand = 'spawn' | 'export' | 'history' | 'restart' | 'refreshSummary' | 'fixSetup' | 'showLog';

export type ToWebview =
  | { type: 'state'; cards: AgentCard[]; summary: UsageSummary | null; server: ServerState }
  | { type: 'card'; card: AgentCard }
  | { type: 'removed'; agentId: string }
  | { type: 'summary'; summary: UsageSummary }
  | { type: 'server'; server: ServerState }
  | { type: 'focusSummary' }
  /** with a requestId: bring that pending request into view */
  | { type: 'focusAgent'; agentId: string; requestId?: string }
  /** the answer to a 'send' */
  | { type: 'sent'; agentId: string; queued: boolean }
  | { type: 'sendFailed'; agentId: string; error: string }
  /** an 'answer' the server refused (e.g. already answered) */
  | { type: 'answerFailed'; agentId: string; requestId: string; error: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'action'; action: CardAction; agentId: string }
  | { type: 'command'; command: ViewCommand }
  | { type: 'send'; agentId: string; text: string }
  | {
      type: 'answer';
      agentId: string;
      requestId: string;
      decision: Decision;
      scope: DecisionScope;
    };
