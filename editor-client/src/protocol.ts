/**
 * The custom Podium protocol, mirrored from docs/protocol.md (the single source of truth) and
 * backend/podium/server/protocol.py. Types only plus method names: no runtime dependencies, so
 * the webview bundle and the unit tests can import it too.
 */

export const Methods = {
  spawnAgent: 'podium/spawnAgent',
  pauseAgent: 'podium/pauseAgent',
  resumeAgent: 'podium/resumeAgent',
  stopAgent: 'podium/stopAgent',
  removeAgent: 'podium/removeAgent',
  listAgents: 'podium/listAgents',
  usageSummary: 'podium/usageSummary',
  export: 'podium/export',
} as const;

export const Notifications = {
  statusBar: 'podium/statusBar',
  agentCard: 'podium/agentCard',
  agentRemoved: 'podium/agentRemoved',
  alert: 'podium/alert',
} as const;

export const ErrorCodes = {
  parseError: -32700,
  invalidParams: -32602,
  internalError: -32603,
  methodNotFound: -32601,
  invalidRequest: -32600,
  notFound: -31001,
  gitError: -31002,
  agentError: -31003,
  podiumError: -31000,
  serverNotInitialized: -32002,
} as const;

export type AuthMode = 'subscription' | 'api' | 'both' | 'proxy';
export type AgentStatus =
  | 'starting'
  | 'working'
  | 'waiting'
  | 'idle'
  | 'paused'
  | 'stopped'
  | 'exited'
  | 'error';
export type Source = 'subscription' | 'api' | 'proxy';
export type Severity = 'ok' | 'warning' | 'error';
export type AlertLevel = 'info' | 'warning' | 'critical';
export type LimitAction = 'warn' | 'pause' | 'stop';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  costUSD: number;
  messages: number;
}

export interface Diff {
  added: number;
  removed: number;
  files: number;
}

export interface Limit {
  usedPct: number;
  limitUSD: number;
  action: LimitAction | string;
}

export interface AgentCard {
  agentId: string;
  name: string;
  task: string;
  status: AgentStatus;
  /** epoch ms */
  statusSince: number;
  statusReason?: string | null;
  startedAt: number;
  worktree: string;
  branch: string;
  pid?: number | null;
  exitCode?: number | null;
  profile: string;
  source: Source;
  model?: string | null;
  usage: Usage;
  diff: Diff;
  limit?: Limit | null;
}

export interface StatusBar {
  text: string;
  tooltip: string;
  severity: Severity;
  mode: AuthMode | string;
}

export interface AgentCardNotification {
  card: AgentCard;
}

export interface AgentRemovedNotification {
  agentId: string;
}

export interface Alert {
  level: AlertLevel;
  message: string;
  agentId?: string | null;
  scope: 'agent' | 'session' | 'daily' | 'monthly' | 'plan' | 'usage_limit' | string;
  scopeKey?: string | null;
  action?: LimitAction | null;
  used?: number | null;
  limit?: number | null;
  pct?: number | null;
}

export interface SpawnAgentParams {
  task: string;
  name?: string;
  baseRef?: string;
  profile?: string;
  command?: string[];
  env?: Record<string, string>;
  source?: Source;
  limitUSD?: number;
}

export interface AgentIdParams {
  agentId: string;
}

export interface RemoveAgentParams extends AgentIdParams {
  deleteBranch?: boolean;
  force?: boolean;
}

export interface RemoveAgentResult {
  removed: string;
}

export interface ListAgentsResult {
  agents: AgentCard[];
}

export interface PlanWindowInfo {
  usedPct: number;
  source: 'official' | 'oauth' | 'estimate' | string;
  observedAt: number;
  resetsAt?: number | null;
  stale?: boolean;
  staleReason?: string | null;
}

export interface PlanInfo {
  plan: string;
  fiveHour?: PlanWindowInfo | null;
  sevenDay?: PlanWindowInfo | null;
  burnUSDPerHour?: number;
  tokensPerMin?: number;
  projectedUSDAtWindowEnd?: number | null;
  minutesToLimit?: number | null;
  /** why a figure could not be had, e.g. "oauth usage: HTTP 401 Unauthorized" */
  errors?: string[];
}

export interface LimitsInfo {
  agentUSD?: number | null;
  sessionUSD?: number | null;
  dailyUSD?: number | null;
  monthlyUSD?: number | null;
  agentTokens?: number | null;
  sessionTokens?: number | null;
  dailyTokens?: number | null;
  monthlyTokens?: number | null;
  onLimit?: string;
}

export interface AgentUsageRow {
  agentId: string;
  name: string;
  status: AgentStatus;
  source: Source;
  usage: Usage;
  limit?: Limit | null;
}

export interface UsageSummary {
  mode: AuthMode | string;
  generatedAt: number;
  plan: PlanInfo | null;
  api: { todayUSD: number; monthUSD: number };
  today: Usage;
  limits: LimitsInfo;
  agents: AgentUsageRow[];
}

export type ExportFormat = 'csv' | 'json';
export type ExportGroupBy = 'entry' | 'day' | 'agent' | 'model';

export interface ExportParams {
  format?: ExportFormat;
  /** YYYY-MM-DD, inclusive, local time zone */
  since?: string;
  until?: string;
  agentIds?: string[];
  groupBy?: ExportGroupBy;
  path?: string;
  overwrite?: boolean;
}

export interface ExportResult {
  path: string;
  rows: number;
  format: ExportFormat | string;
}

/** Settings the server accepts (initializationOptions / didChangeConfiguration). */
export const SERVER_SETTING_KEYS = [
  'authMode',
  'plan',
  'limits',
  'onLimit',
  'worktreeDir',
  'profiles',
  'claudeConfigDirs',
  'warningAt',
  'criticalAt',
  'keepAgentsRunning',
  'oauthUsage',
  'planLimits',
  'sourceOverrides',
  'metrics',
  'webhooks',
] as const;
