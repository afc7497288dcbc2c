import { describe, expect, it } from 'vitest';
import { statusBarForServer, statusBarFromPush } from '../../src/views/statusBar';
import { statusBars } from './fixtures';

describe('status bar', () => {
  it('shows the pushed text, tooltip table and severity background', () => {
    const m = statusBarFromPush({ text: 'Plan: 67%', tooltip: '| Agent | Status |\n|---|---|', severity: 'ok', mode: 'subscription', oldestPending: null });
    expect(m.visible).toBe(true);
    expect(m.text).toBe('$(hubot) Plan: 67%');
    expect(m.tooltip).toContain('| Agent | Status |');
    expect(m.background).toBeNull();
    expect(m.command).toBe('podium.openAgents');
    expect(statusBarFromPush({ text: 'x', tooltip: '', severity: 'warning', mode: 'api', oldestPending: null }).background).toBe('warning');
    expect(statusBarFromPush({ text: 'x', tooltip: '', severity: 'error', mode: 'api', oldestPending: null }).background).toBe('error');
  });

  it('says a click answers the oldest pending request when one waits', () => {
    const push = { text: '3 agents | ⚠ 2 pending | Plan: 67%', tooltip: 't', severity: 'warning' as const, mode: 'subscription' as const };
    const m = statusBarFromPush({ ...push, oldestPending: { agentId: 'ag-1', requestId: 'r1' } });
    expect(m.text).toBe('$(warning) 3 agents | ⚠ 2 pending | Plan: 67%');
    expect(m.tooltip).toContain('Click to answer the oldest pending request');
    expect(m.command).toBe('podium.openAgents');
    expect(statusBarFromPush({ ...push, oldestPending: null }).tooltip).toContain('Click to open the Podium Agents view');
  });

  it('renders every recorded push with its severity', () => {
    for (const push of statusBars()) {
      const m = statusBarFromPush(push);
      expect(m.text.endsWith(push.text)).toBe(true);
      expect(m.background).toBe(push.severity === 'ok' ? null : push.severity);
      expect(m.tooltip.startsWith(push.tooltip.trim())).toBe(true);
    }
  });

  it('is hidden until the first push, and clear when the server is down', () => {
    expect(statusBarForServer({ kind: 'starting' }, null).visible).toBe(false);
    expect(statusBarForServer({ kind: 'running' }, null).visible).toBe(false);
    const restarting1 = statusBarForServer({ kind: 'starting', restart: true }, null);
    expect(restarting1.visible).toBe(true);
    expect(restarting1.text).toContain('starting');
    const last = statusBars()[0];
    expect(statusBarForServer({ kind: 'running' }, last).text).toContain(last.text);
    const restarting = statusBarForServer({ kind: 'restarting', attempt: 2, delayMs: 2000, reason: 'the process exited' }, last);
    expect(restarting.text).toContain('restarting');
    expect(restarting.tooltip).toContain('Restarting in 2 s (attempt 2)');
    const soon = statusBarForServer({ kind: 'restarting', attempt: 1, delayMs: 300 }, null);
    expect(soon.tooltip).toContain('Restarting in 1 s (attempt 1)'); // not "0 s"
    const down = statusBarForServer({ kind: 'stopped', reason: 'crashed 6 times' }, last);
    expect(down).toMatchObject({ background: 'error', command: 'podium.restartServer' });
    const noPython = statusBarForServer({ kind: 'missingPython', python: '/nope/python', detail: 'no such file' }, null);
    expect(noPython).toMatchObject({ visible: true, background: 'error', command: 'podium.fixSetup' });
    expect(noPython.text).toContain('Python not found');
    expect(noPython.tooltip).toContain('/nope/python');
    const noPodium = statusBarForServer({ kind: 'missingPodium', python: 'python3' }, null);
    expect(noPodium.text).toContain('not installed');
    expect(noPodium.command).toBe('podium.fixSetup');
  });
});
