// What the fixture recorders (record-notifications.mjs, record-history.mjs) share: a real
// `podium serve` in a temp git repo with its own CLAUDE_CONFIG_DIR and PODIUM_DB, an LSP
// connection to it, and the end of a run (shutdown, temp paths made stable, temp dir removed).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A temp repo and env; `seed(env, tmp)` runs before the server starts (it may fill the store). */
export function startServer({ python = process.argv[2] ?? resolve('../.venv/bin/python'), seed } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'podium-record-'));
  const repo = join(tmp, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  const git = (...args) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  writeFileSync(join(repo, 'README.md'), '# demo\n');
  git('add', '.');
  git('commit', '-q', '-m', 'init');
  const env = { ...process.env, CLAUDE_CONFIG_DIR: join(tmp, 'claude'), PODIUM_DB: join(tmp, 'podium.db') };
  const seeded = seed ? seed(python, env, tmp) : undefined;
  const child = spawn(python, ['-m', 'podium', 'serve'], { cwd: repo, env, stdio: ['pipe', 'pipe', 'inherit'] });
  // not listening yet: a recorder registers its notification handlers first
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const initialize = (initializationOptions) =>
    conn.sendRequest('initialize', { processId: process.pid, rootUri: pathToFileURL(repo).href, capabilities: {}, initializationOptions });
  return { tmp, conn, child, seeded, initialize };
}

/** Shut the server down and write `value` to `file` with the run's temp paths made stable (so the
 * fixture's diff stays small), plain and as Claude Code's encoded folder names. */
export async function finish({ tmp, conn, child }, file, value) {
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  await sleep(500);
  child.kill();
  const encoded = (p) => p.replace(/[^A-Za-z0-9]/g, '-');
  const text = JSON.stringify(value, null, 1)
    .split(tmp).join('/tmp/podium-record')
    .split(encoded(tmp)).join(encoded('/tmp/podium-record'));
  writeFileSync(file, text + '\n');
  rmSync(tmp, { recursive: true, force: true });
}
