/** The host's side of the history webview's queries: one request each, answered by `seq`. Pure. */
import type { UsageHistory, UsageHistoryParams } from '../protocol';
import type { FromHistory, ToHistory } from '../webview/history/messages';

export type HistoryRequest = (params: UsageHistoryParams) => Promise<UsageHistory>;

function errorText(err: unknown): string {
  return err && typeof err === 'object' && 'message' in err ? String((err as Error).message) : String(err);
}

/** The answer to a query: the history, or the server's refusal / absence as text. */
export async function answerQuery(
  request: HistoryRequest,
  query: Extract<FromHistory, { type: 'query' }>,
): Promise<ToHistory> {
  try {
    return { type: 'history', seq: query.seq, history: await request(query.params) };
  } catch (err) {
    return { type: 'error', seq: query.seq, message: errorText(err) };
  }
}

/** A message from the webview, checked: anything else is ignored (it is untrusted input). */
export function parseFromHistory(message: unknown): FromHistory | null {
  if (!message || typeof message !== 'object') return null;
  const m = message as Record<string, unknown>;
  if (m.type === 'ready') return { type: 'ready' };
  if (m.type === 'query' && Number.isInteger(m.seq) && m.params && typeof m.params === 'object') {
    return { type: 'query', seq: m.seq as number, params: m.params as UsageHistoryParams };
  }
  return null;
}
