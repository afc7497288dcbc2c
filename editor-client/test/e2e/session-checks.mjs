// The session part of the end-to-end test (issue 13): a permission request on the card answered
// with its buttons, the status bar's "⚠ N pending" click, a follow-up typed in the card's message
// box, and the rate-limited state — all against `podium serve` running the fake agent as a
// Claude Code session: the workspace's `claude` profile is the fake agent, which Podium starts
// exactly as the CLI (stdin FIFO, --settings with the permission hook, --permission-mode). The
// fake retries its second turn's first request three times with HTTP 429, 2.5 s apart, after a
// rate_limit_event of 67% / 21%.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The workspace's `podium.profiles.claude`: the fake agent, with the session surfaces. */
export function fakeProfile(python) {
  return [python, '-m', 'podium', 'fake-agent', '--steps', '25', '--rate-limit', '0.67,0.21',
    '--api-retries', '3', '--api-retry-turn', '2', '--retry-delay', '2.5'];
}

/** Whether any transcript under `claudeDir/projects` holds `text` (the agent's own record). */
function transcriptsHold(claudeDir, text) {
  const projects = join(claudeDir, 'projects');
  if (!existsSync(projects)) return false;
  for (const project of readdirSync(projects)) {
    for (const file of readdirSync(join(projects, project))) {
      if (file.endsWith('.jsonl') && readFileSync(join(projects, project, file), 'utf8').includes(text)) return true;
    }
  }
  return false;
}

const stepFile = (worktree, n) => join(worktree, 'fake_agent', `step_${String(n).padStart(4, '0')}.py`);
const stepsWritten = (worktree) => {
  const dir = join(worktree, 'fake_agent');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^step_\d+\.py$/.test(f)).length : 0;
};

/** Right after the spawn: the first Write waits for the user on the card. */
export async function permissionChecks({ page, frame, card, worktree, check, until, shot }) {
  const statusText = () => page.locator('.statusbar-item', { hasText: 'agent' }).first().textContent({ timeout: 1000 });
  const request = card.locator('.request').first();

  await check('the agent asks before its first Write: a pending request on the card and ⚠ 1 pending', async () => {
    await request.waitFor({ timeout: 30_000 });
    const label = await request.locator('.request-label').textContent();
    if (label !== 'Write fake_agent/step_0001.py') throw new Error(`request label ${label}`);
    for (const name of ['Allow', 'Deny', 'Allow all Write']) {
      if (!(await request.getByRole('button', { name: new RegExp(`^${name}`) }).count())) throw new Error(`no ${name} button`);
    }
    await until('"⚠ 1 pending" in the status bar', async () => (await statusText()).includes('⚠ 1 pending'), 15_000);
    if (existsSync(stepFile(worktree, 1))) throw new Error('the file was written before anyone allowed it');
  });
  await shot('02a-pending');

  await check('the request raises a notification with Allow and Deny', async () => {
    const toast = page.locator('.notification-toast', { hasText: 'asks to' }).first();
    await toast.waitFor({ timeout: 20_000 });
    for (const name of ['Allow', 'Deny']) {
      if (!(await toast.getByRole('button', { name, exact: true }).count())) throw new Error(`no ${name} action`);
    }
  });

  await check('clicking "⚠ 1 pending" in the status bar brings the request into view', async () => {
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } }).catch(() => undefined);
    await page.locator('.statusbar-item', { hasText: 'pending' }).first().click();
    const id = await request.getAttribute('data-request-id');
    await until('the request focused', async () => (await frame.evaluate(() => document.activeElement?.getAttribute('data-request-id'))) === id, 15_000);
  });

  await check('Allow on the card: the file appears in the worktree and the request leaves the card', async () => {
    const id = await request.getAttribute('data-request-id');
    await request.locator('button[data-decision="allow"]').click();
    await until('step_0001.py in the worktree', () => existsSync(stepFile(worktree, 1)), 30_000);
    await until('the request gone from the card', async () => (await card.locator(`.request[data-request-id="${id}"]`).count()) === 0, 15_000);
  });

  await check('Allow all Write on the next request: the agent writes on without asking', async () => {
    const next = card.locator('.request').first();
    await next.waitFor({ timeout: 30_000 });
    const label = await next.locator('.request-label').textContent();
    if (label !== 'Write fake_agent/step_0002.py') throw new Error(`second request ${label}`);
    await next.locator('button[data-decision="allowAll"]').click();
    await until('two more files written without a request', () => existsSync(stepFile(worktree, 3)), 30_000);
    if ((await card.locator('.request').count()) > 0) throw new Error('still asking after Allow all Write');
    await until('no "pending" in the status bar', async () => !(await statusText()).includes('pending'), 15_000);
  });
  await shot('02b-allowed');
}

/** A follow-up from the card's message box: a new turn, which the fake gets rate limited. */
export async function followUpChecks({ card, worktree, claudeDir, check, until, shot, sleep }) {
  const text = 'Also add a test for the cart total';
  const status = () => card.locator('.status-text').textContent();
  let before = 0;

  await check('a follow-up typed in the card and sent with Enter reaches the agent', async () => {
    const input = card.locator('.message-input');
    await until('the message box enabled', async () => !(await input.isDisabled()), 30_000);
    before = stepsWritten(worktree);
    await input.click();
    await input.fill(text);
    await input.press('Enter');
    const note = card.locator('.message-note');
    await until('the box to say Sent or Queued', async () => /^(Sent\.|Queued: )/.test(await note.textContent()), 20_000);
    if (await input.inputValue()) throw new Error('the box kept the sent text');
    // the agent's own transcript has it as the prompt of a new turn
    await until('the message in the agent\'s transcript', () => transcriptsHold(claudeDir, text), 90_000);
  });

  await check('its turn is rate limited (HTTP 429, retried): the card says so with the reset time, then works on', async () => {
    await until('status Rate limited', async () => /^Rate limited for /.test(await status()), 30_000, 100);
    if ((await card.getAttribute('data-status')) !== 'rateLimited') throw new Error('card not styled rateLimited');
    const reason = card.locator('.reason');
    await until('the reason with the reset time', async () => (await reason.isVisible()) && /resets/.test(await reason.textContent()), 5_000, 100);
    const colour = await card.evaluate((n) => getComputedStyle(n).borderLeftColor);
    await shot('06a-rate-limited');
    await until('working again after the retries', async () => !/^Rate limited/.test(await status()), 30_000);
    await until('the new turn writes files', () => stepsWritten(worktree) > before, 30_000);
    await sleep(100);
    const after = await card.evaluate((n) => getComputedStyle(n).borderLeftColor);
    if (after === colour) throw new Error(`the rate-limited colour (${colour}) is the working colour`);
  });

  await check('the card shows the last turn\'s outcome', async () => {
    await until('a last-turn line', async () => {
      const line = card.locator('.last-turn');
      return (await line.isVisible()) && /^Last turn: \S/.test(await line.textContent());
    }, 90_000);
  });
}
