// Records real `podium/usageHistory` answers into test/fixtures/usage-history.json for the history
// panel's unit tests. Run: node test/record-history.mjs [python]
// Temp git repo, CLAUDE_CONFIG_DIR and PODIUM_DB seeded by test/seed_history.py (days in UTC),
// one fake agent that works a few seconds, then the last 30 days grouped by model, project and
// agent (tz UTC).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { finish, sleep, startServer } from './recording.mjs';

const run = startServer({
  seed: (python, env, tmp) =>
    JSON.parse(
      execFileSync(python, ['test/seed_history.py', env.CLAUDE_CONFIG_DIR, env.PODIUM_DB, join(tmp, 'work'), '--tz', 'UTC'], { env }).toString(),
    ),
});
const { conn, seeded: seed } = run;
conn.listen();
await run.initialize({ authMode: 'both' });
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
await finish(run, 'test/fixtures/usage-history.json', { seed, answers });
console.log(`recorded ${Object.keys(answers).length} usageHistory answers`);
process.exit(0);
