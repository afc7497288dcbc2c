// Records the notifications of a real `podium serve` into test/fixtures/notifications.json, for
// the webview and view-model unit tests. Run: node test/record-notifications.mjs [python]
// Temp git repo, temp CLAUDE_CONFIG_DIR and PODIUM_DB, two fake agents (api with a $0.05 limit
// that pauses it, and subscription), ~8 s of pushes, then pause/resume/remove of one agent.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node';

const python = process.argv[2] ?? resolve('../.venv/bin/python');
const tmp = mkdtempSync(join(tmpdir(), 'podium-record-'));
const repo = join(tmp, 'repo');
execFileSync('git', ['init', '-q', '-b', 'main', repo]);
const git = (...args) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
writeFileSync(join(repo, 'README.md'), '# demo\n');
git('add', '.');
git('commit', '-q', '-m', 'init');

const env = { ...process.env, CLAUDE_CONFIG_DIR: join(tmp, 'claude'), PODIUM_DB: join(tmp, 'podium.db') };
const child = spawn(python, ['-m', 'podium', 'serve'], { cwd: repo, env, stdio: ['pipe', 'pipe', 'inherit'] });
const conn = rpc.createMessageConnection(
  new rpc.StreamMessageReader(child.stdout),
  new rpc.StreamMessageWriter(child.stdin),
);
const t0 = Date.now();
const recorded = [];
for (const method of ['podium/statusBar', 'podium/agentCard', 'podium/agentRemoved', 'podium/alert', 'window/showMessage']) {
  conn.onNotification(method, (params) => recorded.push({ at: Date.now() - t0, method, params }));
}
conn.listen();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await conn.sendRequest('initialize', {
  processId: process.pid,
  rootUri: pathToFileURL(repo).href,
  capabilities: {},
  initializationOptions: { authMode: 'both', limits: { agentUSD: 0.05 }, onLimit: 'pause' },
});
await conn.sendNotification('initialized', {});
const a = await conn.sendRequest('podium/spawnAgent', { name: 'alpha', task: 'Fix auth bypass', profile: 'fake', env: { ANTHROPIC_API_KEY: 'fake' } });
const b = await conn.sendRequest('podium/spawnAgent', { name: 'bravo', task: 'Add caching layer', profile: 'fake' });
await sleep(8000);
const summary = await conn.sendRequest('podium/usageSummary', {});
recorded.push({ at: Date.now() - t0, method: 'result:podium/usageSummary', params: summary });
await conn.sendRequest('podium/pauseAgent', { agentId: b.agentId });
await sleep(500);
await conn.sendRequest('podium/resumeAgent', { agentId: b.agentId });
await sleep(1500);
await conn.sendRequest('podium/removeAgent', { agentId: a.agentId, force: true });
await sleep(500);
await conn.sendRequest('shutdown');
await conn.sendNotification('exit');
await sleep(500);
child.kill();
// Paths differ per run: make them stable so the fixture diff stays small.
const text = JSON.stringify(recorded, null, 1).split(tmp).join('/tmp/podium-record');
writeFileSync('test/fixtures/notifications.json', text + '\n');
rmSync(tmp, { recursive: true, force: true });
console.log(`recorded ${recorded.length} notifications`);
process.exit(0);
