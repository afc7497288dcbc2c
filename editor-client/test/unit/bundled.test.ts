import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledVersion, ensureBundledEnvironment, envPython, installProblem } from '../../src/server/bundled';

const repo = resolve(__dirname, '..', '..', '..');
const python = process.env.PODIUM_PYTHON ?? join(repo, '.venv', 'bin', 'python');
const tmp = mkdtempSync(join(tmpdir(), 'podium-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bundled environment: pure parts', () => {
  it('reads the carried version from the wheel names', () => {
    expect(bundledVersion(['README', 'podium-0.3.1-py3-none-any.whl'])).toBe('0.3.1');
    expect(bundledVersion(['podium-0.1.0-cp311-cp311-linux_x86_64.whl', 'podium-0.1.0-py3-none-any.whl'])).toBe('0.1.0');
    expect(bundledVersion(['other-1.0-py3-none-any.whl'])).toBeUndefined();
  });

  it('puts the interpreter where venv does', () => {
    expect(envPython('/s/env', 'linux')).toBe('/s/env/bin/python');
    expect(envPython('C:\\s\\env', 'win32')).toMatch(/Scripts.python\.exe$/);
  });

  it('says offline as offline, with what to do', () => {
    const offline = installProblem(
      "WARNING: Retrying ... Failed to establish a new connection: [Errno -3] Temporary failure in name resolution\nERROR: Could not find a version that satisfies the requirement pygls>=2.1.1",
    );
    expect(offline).toMatch(/no network/);
    expect(offline).toMatch(/Podium: Restart Server/);
    expect(installProblem('ERROR: Package podium requires a different Python: 3.10.1 not in >=3.11')).toMatch(/3\.11/);
    expect(installProblem('boom\nERROR: something else\n')).toBe('pip install failed: ERROR: something else');
  });
});

describe('bundled environment: a real Python', () => {
  it('without the libraries offline: a clear error and no half-built environment left', async () => {
    if (!existsSync(python)) return; // (make venv first; the e2e covers the rest)
    const wheels = join(tmp, 'wheels');
    execFileSync(python, [join(repo, 'editor-client', 'scripts', 'bundle_wheels.py'), wheels], { stdio: 'pipe' });
    const storage = join(tmp, 'storage');
    const messages: string[] = [];
    // an index with nothing but Podium itself: its libraries cannot be found, as offline
    const env = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: '', PIP_CONFIG_FILE: '/dev/null' };
    const got = await ensureBundledEnvironment({ wheels, storage }, python, env, (m) => messages.push(m));
    expect(got.ok).toBe(false);
    expect(got.ok ? '' : got.detail).toMatch(/no network or no access to your package index/);
    expect(messages).toEqual(['creating a virtual environment…', 'installing Podium 0.1.0 and its libraries…']);
    expect(existsSync(join(storage, 'python-env'))).toBe(false);
  }, 180_000);

  it('reuses an environment built for the carried version', async () => {
    const wheels = join(tmp, 'w2');
    mkdirSync(wheels, { recursive: true });
    writeFileSync(join(wheels, 'podium-0.1.0-py3-none-any.whl'), '');
    const storage = join(tmp, 's2');
    const envDir = join(storage, 'python-env');
    mkdirSync(join(envDir, 'bin'), { recursive: true });
    writeFileSync(join(envDir, 'bin', 'python'), '');
    writeFileSync(join(envDir, 'podium-bundle.json'), JSON.stringify({ version: '0.1.0' }));
    const got = await ensureBundledEnvironment({ wheels, storage }, '/no/such/python', process.env, () => {});
    expect(got).toEqual({ ok: true, python: join(envDir, 'bin', 'python'), built: false });
    const none = await ensureBundledEnvironment({ wheels: join(tmp, 'none'), storage }, python, process.env, () => {});
    expect(none).toEqual({ ok: false, detail: 'this build of the extension carries no Podium wheel' });
  });
});
