// The usage history panel in the end-to-end test (issue 17): opened from the usage summary, the
// Agents view's title bar and the palette (one panel at a time), on a store seeded with known
// usage (test/seed_history.py: two projects, two models, entries 2, 10, 20 and 40 days ago, each
// with a logged costUSD, and official plan figures). Each range and grouping is checked against
// the seed by reading back the data each chart holds (its figure's data-series attribute, taken
// from the Chart.js instance after drawing), not only by the screenshots.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const seedScript = fileURLToPath(new URL('../seed_history.py', import.meta.url));

/** Write the seeded transcripts and plan figures (before the server starts); returns the seed. */
export function seedHistory(python, env, root) {
  const out = execFileSync(python, [seedScript, env.CLAUDE_CONFIG_DIR, env.PODIUM_DB, root], { env });
  return JSON.parse(out.toString());
}

/** `YYYY-MM-DD` n days before the local day `day`. */
function daysBefore(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(y, m - 1, d - n);
  const pad = (v) => String(v).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const close = (a, b) => Math.abs(a - b) < 1e-6;

/** Seeded cost per `day` → group label → USD, for the entries in [since, until]. */
function seededCosts(seed, since, until, groupOf) {
  const days = new Map();
  for (const e of seed.entries) {
    if (e.day < since || e.day > until) continue;
    const groups = days.get(e.day) ?? new Map();
    groups.set(groupOf(e), (groups.get(groupOf(e)) ?? 0) + e.costUSD);
    days.set(e.day, groups);
  }
  return days;
}

export async function historyChecks({ page, agentsFrame, palette, check, until, shot, seed, python, env, withAgent, log }) {
  const tabs = page.locator('.tab', { hasText: 'Podium: Usage History' });

  async function historyFrame() {
    return until('the usage history webview', async () => {
      for (const frame of page.frames()) {
        if (await frame.$('figure[data-chart="cost"]').catch(() => null)) return frame;
      }
      return null;
    }, 30_000);
  }

  /** Waits for the answer to {since, until, groupBy} to be drawn; returns each chart's data. */
  async function drawn(frame, want) {
    return until(`the history for ${JSON.stringify(want)}`, async () => {
      const root = frame.locator('main');
      if ((await root.getAttribute('data-state')) !== 'ready') return null;
      const query = JSON.parse((await root.getAttribute('data-query')) ?? '{}');
      if (Object.entries(want).some(([k, v]) => query[k] !== v)) return null;
      const charts = {};
      for (const id of ['cost', 'tokens', 'plan']) {
        charts[id] = JSON.parse(await frame.locator(`figure[data-chart="${id}"]`).getAttribute('data-series'));
      }
      return charts;
    }, 30_000);
  }

  /** The cost chart holds the seeded cost of every seeded day, per group, and nothing else then. */
  function expectCosts(cost, want, by = 'label') {
    for (const [day, groups] of want) {
      const at = cost.labels.indexOf(day);
      if (at < 0) throw new Error(`no bucket ${day} in ${cost.labels[0]}..${cost.labels.at(-1)}`);
      for (const [label, usd] of groups) {
        const dataset = cost.datasets.find((d) => d[by] === label);
        if (!dataset) throw new Error(`no dataset "${label}" among ${cost.datasets.map((d) => d.label).join(', ')}`);
        if (!close(dataset.data[at], usd)) throw new Error(`${label} on ${day}: drew ${dataset.data[at]}, seeded ${usd}`);
      }
      const dayTotal = cost.datasets.reduce((sum, d) => sum + (d.data[at] ?? 0), 0);
      const seededTotal = [...groups.values()].reduce((a, b) => a + b, 0);
      if (!close(dayTotal, seededTotal)) throw new Error(`${day}: the chart holds $${dayTotal}, the seed $${seededTotal}`);
    }
    for (const d of cost.datasets) {
      if (d.type !== 'bar' || d.drawn !== cost.labels.length) throw new Error(`dataset ${d.label}: ${d.drawn} bars drawn for ${cost.labels.length} days`);
    }
  }

  const today = seed.today;
  const byModel = (e) => e.model;
  const byProject = (e) => e.project;
  let frame;

  await check('the summary\'s History button opens the usage history panel', async () => {
    await palette('Podium: Show Usage Summary'); // the Agents view, whatever the side bar showed
    // the bottom panel (the agent's terminal) would hide the table in the screenshots
    const hidePanel = page.locator('.part.panel .action-label[aria-label^="Hide Panel"], .part.panel .action-label.codicon-close');
    if (await hidePanel.count()) await hidePanel.first().click().catch(() => undefined);
    const agents = await agentsFrame();
    await agents.locator('button[data-command="history"]').click();
    await tabs.first().waitFor({ timeout: 20_000 });
    frame = await historyFrame();
  });

  await check('30 days by model: the seeded cost of each model on its day, read back from the chart', async () => {
    const charts = await drawn(frame, { since: daysBefore(today, 29), until: today, groupBy: 'model' });
    const { cost, tokens, plan } = charts;
    if (cost.labels.length !== 30 || cost.labels.at(-1) !== today) throw new Error(`labels ${cost.labels[0]}..${cost.labels.at(-1)} (${cost.labels.length})`);
    const want = seededCosts(seed, daysBefore(today, 29), today, byModel);
    if (want.size !== 3) throw new Error(`expected 3 seeded days in 30, got ${[...want.keys()]}`);
    expectCosts(cost, want);
    if (cost.labels.includes(seed.entries.find((e) => e.day < daysBefore(today, 29)).day)) throw new Error('the 40-day-old entry is in 30 days');
    // tokens by type on a seeded day; the hit rate line on it
    const day = daysBefore(today, 2);
    const at = tokens.labels.indexOf(day);
    const of = (key) => tokens.datasets.find((d) => d.key === key).data[at];
    const seeded = (key) => seed.entries.filter((e) => e.day === day).reduce((a, e) => a + e.tokens[key], 0);
    for (const key of ['input', 'output', 'cacheWrite', 'cacheRead']) {
      if (of(key) !== seeded(key)) throw new Error(`${key} on ${day}: drew ${of(key)}, seeded ${seeded(key)}`);
    }
    const rate = (100 * seeded('cacheRead')) / (seeded('input') + seeded('cacheWrite') + seeded('cacheRead'));
    if (Math.abs(of('cacheHitRate') - rate) > 1e-3) throw new Error(`hit rate on ${day}: ${of('cacheHitRate')} vs ${rate}`);
    // every seeded plan figure, and today's statusLine capture (67% / 21%)
    for (const p of seed.plan) {
      const line = plan.datasets.find((d) => d.key === p.window);
      if (!line.data.some((pt) => pt.x === p.ts && pt.y === p.usedPct)) throw new Error(`plan point ${JSON.stringify(p)} not drawn: ${JSON.stringify(line.data)}`);
    }
    if (!plan.datasets.find((d) => d.key === 'five_hour').data.some((pt) => pt.y === 67)) throw new Error('no 67% five-hour point from today');
    if (!plan.datasets.find((d) => d.key === 'seven_day').data.some((pt) => pt.y === 21)) throw new Error('no 21% weekly point from today');
    if ((await frame.locator('main').getAttribute('data-csp-violations')) !== '0') throw new Error('the page saw CSP violations');
  });
  await shot('history-1-30d-model');

  await check('7 days: only the seeded day inside it, per model', async () => {
    await frame.locator('button[data-range="7"]').click();
    const { cost } = await drawn(frame, { since: daysBefore(today, 6), until: today, groupBy: 'model' });
    if (cost.labels.length !== 7) throw new Error(`${cost.labels.length} days`);
    const want = seededCosts(seed, daysBefore(today, 6), today, byModel);
    if ([...want.keys()].join() !== daysBefore(today, 2)) throw new Error(`seeded days in 7: ${[...want.keys()]}`);
    expectCosts(cost, want);
  });
  await shot('history-2-7d-model');

  await check('90 days by project: each project\'s seeded cost per day, the 40-day-old one too', async () => {
    await frame.locator('select[data-control="groupBy"]').selectOption('project');
    await frame.locator('button[data-range="90"]').click();
    const { cost } = await drawn(frame, { since: daysBefore(today, 89), until: today, groupBy: 'project' });
    if (cost.labels.length !== 90) throw new Error(`${cost.labels.length} days`);
    const want = seededCosts(seed, daysBefore(today, 89), today, byProject);
    if (want.size !== 4) throw new Error(`expected 4 seeded days in 90, got ${[...want.keys()]}`);
    expectCosts(cost, want, 'key'); // the key is the project; the legend shows a shorter name
    for (const d of cost.datasets) {
      const shown = d.key.replace(/--podium-worktrees-(.+)$/, ' · worktree $1');
      if (d.label.startsWith('-') || !shown.endsWith(`-${d.label}`)) throw new Error(`project ${d.key} is shown as "${d.label}"`);
    }
    const title = await frame.locator('figure[data-chart="cost"] h2').textContent();
    if (title !== 'Daily cost by project') throw new Error(`title ${title}`);
  });
  await shot('history-3-90d-project');

  await check('by agent: the seeded usage is no agent\'s; the agents table lists the agent', async () => {
    await frame.locator('select[data-control="groupBy"]').selectOption('agent');
    const { cost } = await drawn(frame, { since: daysBefore(today, 89), until: today, groupBy: 'agent' });
    expectCosts(cost, seededCosts(seed, daysBefore(today, 89), today, () => '(not an agent)'));
    await frame.locator('section.agents').scrollIntoViewIfNeeded(); // for the screenshot
    if (!withAgent) return;
    const alpha = cost.datasets.find((d) => d.label === 'alpha');
    if (!alpha || !(alpha.data.at(-1) > 0)) throw new Error(`no cost of alpha today: ${JSON.stringify(alpha)}`);
    const row = frame.locator('tr[data-agent-id]', { hasText: 'alpha' }).first();
    const cell = (col) => row.locator(`[data-col="${col}"]`).textContent();
    if ((await cell('task')) !== 'Add a cart total') throw new Error(`task ${await cell('task')}`);
    if (!(Number((await cell('messages')).replace(/,/g, '')) > 0)) throw new Error(`messages ${await cell('messages')}`);
    if (!/^\$|^<\$/.test(await cell('cost'))) throw new Error(`cost ${await cell('cost')}`);
    for (const col of ['working', 'waiting']) {
      if (!/^(—|\d+[smhd]( \d+[mh])?)$/.test(await cell(col))) throw new Error(`${col}: ${await cell(col)}`);
    }
  });
  await shot('history-4-by-agent');

  await check('a custom range (two dates) shows only its days', async () => {
    await frame.locator('button[data-range="custom"]').click();
    const since = daysBefore(today, 12);
    const last = daysBefore(today, 8);
    await frame.locator('input[data-date="since"]').fill(since);
    await frame.locator('input[data-date="until"]').fill(last);
    const { cost } = await drawn(frame, { since, until: last, groupBy: 'agent' });
    if (cost.labels.join() !== [12, 11, 10, 9, 8].map((n) => daysBefore(today, n)).join()) throw new Error(`labels ${cost.labels}`);
    const want = seededCosts(seed, since, last, () => '(not an agent)');
    if (want.size !== 1) throw new Error(`seeded days: ${[...want.keys()]}`);
    expectCosts(cost, want);
  });
  await shot('history-5-custom');

  await check('the insights are what `podium report insights --json` finds, the seeded cache hit rate among them', async () => {
    const cli = JSON.parse(execFileSync(python, ['-m', 'podium', 'report', 'insights', '--json', '--no-ingest'], { env }).toString());
    const project = seed.entries.find((e) => e.cwd.endsWith('shop-api')).project;
    if (!cli.some((i) => i.id === 'cache_hit_rate' && i.subject === project)) throw new Error(`no cache insight for ${project}: ${JSON.stringify(cli)}`);
    await frame.locator('button[data-command="refresh"]').click();
    await drawn(frame, {}); // the answer to the refresh (state loading → ready)
    await until('the panel lists the same insights', async () => {
      const items = frame.locator('.insight');
      const shown = [];
      for (let i = 0; i < (await items.count()); i++) {
        const item = items.nth(i);
        shown.push([await item.getAttribute('data-insight-id'), await item.locator('.title').textContent(), await item.locator('.saving').textContent()]);
      }
      const want = cli.map((i) => [i.id, i.title, i.monthlySavingUSD > 0 ? `saves ~$${i.monthlySavingUSD.toFixed(2)}/month` : 'no direct saving']);
      if (JSON.stringify(shown) === JSON.stringify(want)) return true;
      log(`insights shown ${JSON.stringify(shown)} vs CLI ${JSON.stringify(want)}`);
      return false;
    }, 20_000, 1000);
    await frame.locator('section.insights').scrollIntoViewIfNeeded();
  });
  await shot('history-6-insights');

  await check('one panel at a time: the view title button and the palette re-reveal it', async () => {
    // close it, open it from the Agents view's title bar
    await tabs.first().hover();
    await tabs.first().locator('.codicon-close, .tab-actions .action-label').first().click();
    await until('the panel closed', async () => (await tabs.count()) === 0, 10_000);
    await (await agentsFrame()).locator('.cards').waitFor({ state: 'attached' });
    await page.locator('.part.sidebar .action-label[aria-label^="Show Usage History"]').first().click();
    frame = await historyFrame();
    const fresh = { since: daysBefore(today, 29), until: today, groupBy: 'model' }; // a new panel starts afresh
    await drawn(frame, fresh);
    await palette('Podium: Show Usage History');
    await page.waitForTimeout(1000);
    if ((await tabs.count()) !== 1) throw new Error(`${await tabs.count()} history tabs`);
    await drawn(frame, fresh);
  });
  await shot('history-7-reopened');
}
