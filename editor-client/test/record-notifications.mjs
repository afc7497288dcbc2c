// Records the notifications of a real `podium serve` into test/fixtures/notifications.json, for
// the webview and view-model unit tests. Run: node test/record-notifications.mjs [python]
// Temp git repo, temp CLAUDE_CONFIG_DIR and PODIUM_DB, two fake agents (api with a $0.05 limit
// that pauses it, and subscription), ~8 s of pushes, then pause/resume/remove of one agent.
import { finish, sleep, startServer } from './recording.mjs';

const run = startServer();
const { conn } = run;
const t0 = Date.now();
const recorded = [];
for (const method of ['podium/statusBar', 'podium/agentCard', 'podium/agentRemoved', 'podium/alert', 'window/showMessage']) {
  conn.onNotification(method, (params) => recorded.push({ at: Date.now() - t0, method, params }));
}
conn.listen();
await run.initialize({ authMode: 'both', limits: { agentUSD: 0.05 }, onLimit: 'pause' });
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
await finish(run, 'test/fixtures/notifications.json', recorded);
console.log(`recorded ${recorded.length} notifications`);
process.exit(0);
