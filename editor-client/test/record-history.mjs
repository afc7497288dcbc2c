// Records real `podium/usageHistory` answers into test/fixtures/usage-history.json for the history
// panel's unit tests. Run: node test/record-history.mjs [python]
// Temp git repo, CLAUDE_CONFIG_DIR and PODIUM_DB seeded by test/seed_history.py (days in UTC),
// one fake agent that works a few seconds, then the last 30 days grouped by model, project and
// agent (tz UTC).
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
const seed = JSON.parse(
  execFileSync(python, ['test/seed_history.py', env.CLAUDE_CONFIG_DIR, env.PODIUM_DB, join(tmp, 'work'), '--tz', 'UTC'], { env }).toString(),
);
const child = spawn(python, ['-m', 'podium', 'serve'], { cwd: repo, env, stdio: ['pipe', 'pipe', 'inherit'] });
const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
conn.listen();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await conn.sendRequest('initialize', {
  processId: process.pid,
  rootUri: pathToFileURL(repo).href,
  capabilities: {},
  initializationOptions: { authMode: 'both' },
});
await conn.sendNotification('initialized', {});
const agent = await conn.sendRequest('podium/spawnAgent', { name: 'alpha', task: 'Add a cart total', profile: 'fake', env: { ANTHROPIC_API_KEY: 'fake' } });
for (let i = 0; i < 60; i++) {
  const { agents } = await conn.sendRequest('podium/listAgents', {});
  const card = agents.find((a) => a.agentId === agent.agentId);
  if (card && card.usage.messages >= 2 && card.diff.added > 0) break;
  await sleep(250);
}
await conn.sendRequest('podium/stopAgent', { agentId: agent.agentId });
const answers = {};
for (const groupBy of ['model', 'project', 'agent']) {
  answers[groupBy] = await conn.sendRequest('podium/usageHistory', { groupBy, tz: 'UTC', until: seed.today });
}
await conn.sendRequest('shutdown');
await conn.sendNotification('exit');
await sleep(500);
child.kill();
// Paths differ per run: make them stable so the fixture diff stays small.
const encoded = (p) => p.replace(/[^A-Za-z0-9]/g, '-');
const text = JSON.stringify({ seed, answers }, null, 1)
  .split(tmp).join('/tmp/podium-record')
  .split(encoded(tmp)).join(encoded('/tmp/podium-record'));
writeFileSync('test/fixtures/usage-history.json', text + '\n');
rmSync(tmp, { recursive: true, force: true });
console.log(`recorded ${Object.keys(answers).length} usageHistory answers`);
process.exit(0);
