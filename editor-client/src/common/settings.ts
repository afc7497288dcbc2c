/** The extension's `podium.*` settings → the server's settings object. Pure. */
import { SERVER_SETTING_KEYS } from '../protocol';

export type ConfigReader = (key: string) => unknown;

/** Only the keys the server accepts (client-only keys such as pythonPath stay here). */
export function serverSettings(read: ConfigReader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = read(key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Keys whose change needs a server restart rather than didChangeConfiguration. */
export const RESTART_KEYS = ['pythonPath', 'serverEnv'] as const;

/** Environment for the server process: ours, plus podium.serverEnv (strings only). */
export function serverEnvironment(
  base: Record<string, string | undefined>,
  extra: unknown,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  if (extra && typeof extra === 'object' && !Array.isArray(extra)) {
    for (const [k, v] of Object.entries(extra as Record<string, unknown>)) {
      if (typeof v === 'string') env[k] = v;
    }
  }
  env.PYTHONUNBUFFERED = '1';
  return env;
}
