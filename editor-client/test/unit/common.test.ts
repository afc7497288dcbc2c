import { describe, expect, it } from 'vitest';
import { alertModel, MirrorFilter, settingsQueryFor } from '../../src/common/alerts';
import { Backoff } from '../../src/common/backoff';
import { defaultExportName, parseCustomRange, rangeFor } from '../../src/common/exportRange';
import { choosePython, classifyPreflight, expandPath } from '../../src/common/python';
import { serverEnvironment, serverSettings } from '../../src/common/settings';
import { PodiumState, type StateChange } from '../../src/common/state';
import { alerts, card, recorded } from './fixtures';

describe('Backoff', () => {
  it('doubles the delay up to a cap, resets after a stable run, gives up', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 8000, stableMs: 60_000, maxAttempts: 5 });
    expect([1, 2, 3, 4, 5].map(() => b.next(100)?.delayMs)).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(b.next(100)).toBeNull();
    expect(b.next(120_000)).toEqual({ delayMs: 1000, attempt: 1 });
  });
});

describe('python', () => {
  it('prefers the setting, then the Python extension, then python3', () => {
    expect(choosePython('${workspaceFolder}/.venv/bin/python', '/ext/python', '/ws', '/home/u')).toEqual({
      command: '/ws/.venv/bin/python',
      origin: 'setting',
    });
    expect(choosePython('', '/ext/python', '/ws', '/h')).toEqual({ command: '/ext/python', origin: 'python-extension' });
    expect(choosePython(undefined, undefined, undefined, '/h')).toEqual({ command: 'python3', origin: 'default' });
    expect(expandPath('~/venv/bin/python', undefined, '/home/u')).toBe('/home/u/venv/bin/python');
  });

  it('tells a missing interpreter from a missing package', () => {
    expect(classifyPreflight('ENOENT', null, '', '')).toEqual({ ok: false, problem: 'missingPython', detail: 'no such file' });
    expect(classifyPreflight(undefined, 1, '', "Traceback…\nModuleNotFoundError: No module named 'podium'\n")).toMatchObject({
      ok: false,
      problem: 'missingPodium',
    });
    expect(classifyPreflight(undefined, 0, '0.1.0', '')).toEqual({ ok: true, version: '0.1.0' });
  });
});

describe('settings', () => {
  it('passes only server keys as initializationOptions', () => {
    const config: Record<string, unknown> = { authMode: 'api', pythonPath: '/x', serverEnv: { A: '1' }, limits: { agentUSD: 5 } };
    expect(serverSettings((k) => config[k])).toEqual({ authMode: 'api', limits: { agentUSD: 5 } });
  });

  it('overlays podium.serverEnv strings on the environment', () => {
    const env = serverEnvironment({ PATH: '/bin', GONE: undefined }, { PODIUM_DB: '/tmp/p.db', BAD: 3 });
    expect(env).toEqual({ PATH: '/bin', PODIUM_DB: '/tmp/p.db', PYTHONUNBUFFERED: '1' });
  });
});

describe('alerts', () => {
  it('offers Resume and Raise Limit for a recorded pause-on-limit alert', () => {
    const paused = alerts().find((a) => a.action === 'pause')!;
    const m = alertModel(paused);
    expect(m.severity).toBe('error');
    expect(m.message).toBe(`Podium: ${paused.message}`);
    expect(m.actions).toEqual(['Resume', 'Open Card', 'Raise Limit']);
    expect(settingsQueryFor(paused)).toBe('podium.limits');
    const plan = alertModel({
      level: 'warning', message: 'plan at 80%', scope: 'plan', agentId: null, scopeKey: null,
      action: null, used: null, limit: null, pct: null,
    });
    expect(plan).toMatchObject({ severity: 'warning', actions: ['Open Settings'] });
  });

  it('answers a permission request from its notification; a rate limit opens onRateLimit', () => {
    const base = { level: 'warning' as const, agentId: 'ag-1', action: null, used: null, limit: null, pct: null };
    const ask = alertModel({ ...base, message: 'alpha asks to Write src/x.py', scope: 'permission', scopeKey: 'r1' });
    expect(ask).toEqual({ severity: 'warning', message: 'Podium: alpha asks to Write src/x.py', actions: ['Allow', 'Deny', 'Open Card'] });
    // without its request id nothing can be answered from the notification
    expect(alertModel({ ...base, message: 'm', scope: 'permission', scopeKey: null }).actions).toEqual(['Open Card']);
    const limited = { ...base, message: 'alpha is rate limited; resets 14:05', scope: 'rate_limit' as const, scopeKey: 'x' };
    expect(alertModel(limited).actions).toEqual(['Open Card', 'Open Settings']);
    expect(settingsQueryFor(limited)).toBe('podium.onRateLimit');
  });

  it('drops the window/showMessage mirror of each recorded alert', () => {
    const filter = new MirrorFilter(5000);
    let shown = 0;
    for (const r of recorded) {
      if (r.method === 'podium/alert') filter.noteAlert((r.params as { message: string }).message, r.at);
      if (r.method === 'window/showMessage' && !filter.isMirror((r.params as { message: string }).message, r.at + 300)) shown++;
    }
    expect(recorded.some((r) => r.method === 'window/showMessage')).toBe(true);
    expect(shown).toBe(0);
    expect(filter.isMirror('Podium: something else', 0)).toBe(false);
  });
});

describe('export ranges', () => {
  const now = new Date(2026, 10, 23, 14, 15, 0);
  it('computes inclusive local ranges', () => {
    expect(rangeFor('today', now)).toEqual({ since: '2026-11-23', until: '2026-11-23' });
    expect(rangeFor('last7', now)).toEqual({ since: '2026-11-17', until: '2026-11-23' });
    expect(rangeFor('thisMonth', now)).toEqual({ since: '2026-11-01', until: '2026-11-23' });
    expect(rangeFor('lastMonth', now)).toEqual({ since: '2026-10-01', until: '2026-10-31' });
    expect(rangeFor('all', now)).toEqual({});
  });
  it('parses custom ranges and rejects bad ones', () => {
    expect(parseCustomRange('2026-11-01..2026-11-23')).toEqual({ since: '2026-11-01', until: '2026-11-23' });
    expect(parseCustomRange('2026-11-01..')).toEqual({ since: '2026-11-01' });
    expect(parseCustomRange('2026-11-05')).toEqual({ since: '2026-11-05', until: '2026-11-05' });
    expect(parseCustomRange('2026-02-30')).toMatch(/Not a date/);
    expect(parseCustomRange('2026-11-23..2026-11-01')).toMatch(/after/);
    expect(parseCustomRange('')).toMatch(/Enter/);
    expect(defaultExportName('day', 'csv', now)).toBe('usage-day-20261123-141500.csv');
  });
});

describe('PodiumState', () => {
  it('keeps the latest card per agent and reports each change', () => {
    const state = new PodiumState();
    const changes: StateChange['kind'][] = [];
    state.onChange((c) => changes.push(c.kind));
    state.upsertCard(card());
    state.upsertCard(card({ status: 'paused' }));
    state.removeCard('nope');
    state.removeCard('ag-1');
    state.resetCards([card({ agentId: 'x' })]);
    expect(changes).toEqual(['card', 'card', 'removed', 'reset']);
    expect([...state.cards.keys()]).toEqual(['x']);
  });
});
