import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_SETTING_KEYS } from '../../src/protocol';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const props = pkg.contributes.configuration.properties as Record<string, { enum?: string[]; markdownDescription?: string; description?: string }>;

describe('package.json', () => {
  it('contributes a described setting for every key the server accepts, plus pythonPath', () => {
    for (const key of [...SERVER_SETTING_KEYS, 'pythonPath']) {
      const prop = props[`podium.${key}`];
      expect(prop, key).toBeDefined();
      expect(prop.markdownDescription ?? prop.description, key).toBeTruthy();
    }
    expect(props['podium.authMode'].enum).toEqual(['subscription', 'api', 'both', 'proxy']);
    expect(props['podium.plan'].enum).toEqual(['pro', 'max5', 'max20', 'team', 'custom']);
    expect(props['podium.onLimit'].enum).toEqual(['warn', 'pause', 'stop']);
    expect(props['podium.permissionMode'].enum).toEqual(['default', 'acceptEdits', 'plan', 'bypassPermissions']);
    expect(props['podium.onRateLimit'].enum).toEqual(['wait', 'pause', 'switchToApi']);
  });

  it('contributes the palette commands and a Podium activity-bar container with the Agents view', () => {
    const commands = (pkg.contributes.commands as { command: string; category: string }[]).map((c) => c.command);
    for (const c of ['spawnAgent', 'pauseAgent', 'resumeAgent', 'stopAgent', 'removeAgent', 'exportUsage', 'showUsageSummary', 'restartServer', 'sendMessage']) {
      expect(commands).toContain(`podium.${c}`);
    }
    expect(pkg.contributes.viewsContainers.activitybar[0]).toMatchObject({ id: 'podium', title: 'Podium' });
    expect(pkg.contributes.views.podium[0]).toMatchObject({ type: 'webview', id: 'podium.agents', name: 'Agents' });
  });

  it('offers "Podium: Show Usage History" in the palette and the Agents view title; bundles Chart.js', () => {
    const command = (pkg.contributes.commands as { command: string; title: string; category: string }[]).find((c) => c.command === 'podium.showHistory');
    expect(command).toMatchObject({ title: 'Show Usage History', category: 'Podium' });
    const title = pkg.contributes.menus['view/title'] as { command: string; when: string; group: string }[];
    expect(title.find((m) => m.command === 'podium.showHistory')).toMatchObject({ when: 'view == podium.agents', group: expect.stringMatching(/^navigation@/) });
    expect(pkg.dependencies['chart.js']).toMatch(/^\^4\./);
    // the packaged extension ships the bundle (Chart.js inside), not node_modules
    const ignore = readFileSync(join(__dirname, '..', '..', '.vscodeignore'), 'utf8').split('\n');
    expect(ignore).toContain('!dist/history.js');
    expect(readFileSync(join(__dirname, '..', '..', 'esbuild.mjs'), 'utf8')).toContain("'src/webview/history/main.ts'");
  });
});
