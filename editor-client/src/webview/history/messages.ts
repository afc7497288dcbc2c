/** Messages between the extension host and the usage history webview. Types only. */
import type { UsageHistory, UsageHistoryParams } from '../../protocol';

export type ToHistory =
  /** the answer to the query `seq` */
  | { type: 'history'; seq: number; history: UsageHistory }
  | { type: 'error'; seq: number; message: string }
  /** ask again with the current controls (the panel was re-revealed, or the server restarted) */
  | { type: 'refresh' };

export type FromHistory =
  | { type: 'ready' }
  | { type: 'query'; seq: number; params: UsageHistoryParams };
