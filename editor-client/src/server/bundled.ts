/**
 * Podium's own Python environment, for a machine with Python >= 3.11 but no Podium: a virtual
 * environment in the extension's global storage, built once from the wheel the .vsix carries
 * (`dist/wheels/`, scripts/bundle_wheels.py). Its libraries (pygls, pydantic, …) come from the
 * user's package index; offline, the user gets a clear message and what to do.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BundleLocation {
  /** the .vsix's wheels: `<extension>/dist/wheels` */
  wheels: string;
  /** the extension's global storage folder */
  storage: string;
}

export type BundleResult = { ok: true; python: string; built: boolean } | { ok: false; detail: string };

/** The wheel version the .vsix carries (`podium-0.1.0-py3-none-any.whl` → `0.1.0`). */
export function bundledVersion(wheelNames: string[]): string | undefined {
  for (const name of wheelNames) {
    const m = /^podium-([^-]+)-.*\.whl$/.exec(name);
    if (m) return m[1];
  }
  return undefined;
}

export function envPython(envDir: string, platform: string = process.platform): string {
  return platform === 'win32' ? join(envDir, 'Scripts', 'python.exe') : join(envDir, 'bin', 'python');
}

const OFFLINE =
  /Failed to establish a new connection|Temporary failure in name resolution|Name or service not known|Network is unreachable|No matching distribution found|Could not find a version that satisfies|ProxyError|SSLError|timed out/i;

/** One line for a failed `pip install`: offline is said as such, with what to do. */
export function installProblem(stderr: string): string {
  if (OFFLINE.test(stderr)) {
    return (
      "could not download Podium's libraries (pygls, pydantic, …): no network or no access to " +
      'your package index. Connect and run "Podium: Restart Server", or install Podium yourself ' +
      'and set podium.pythonPath (see the README)'
    );
  }
  if (/requires a different Python|Requires-Python/i.test(stderr)) {
    return 'Podium needs Python 3.11 or newer: set podium.pythonPath to one';
  }
  const last = stderr.trim().split('\n').filter((l) => l.trim()).pop();
  return `pip install failed: ${last ?? 'no output'}`;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs, windowsHide: true, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      const spawn = error && typeof error.code === 'string' ? `${error.code}: ` : '';
      resolve({ code, stdout: String(stdout), stderr: spawn + String(stderr) });
    });
  });
}

/**
 * The environment's Python: built from `basePython` on first use (or when the .vsix carries
 * another version), reused afterwards. `report` shows progress; nothing here throws.
 */
export async function ensureBundledEnvironment(
  where: BundleLocation,
  basePython: string,
  env: NodeJS.ProcessEnv,
  report: (message: string) => void,
): Promise<BundleResult> {
  let wheels: string[];
  try {
    wheels = readdirSync(where.wheels).filter((n) => n.endsWith('.whl'));
  } catch {
    return { ok: false, detail: 'this build of the extension carries no Podium wheel' };
  }
  const version = bundledVersion(wheels);
  if (!version) return { ok: false, detail: 'this build of the extension carries no Podium wheel' };
  const envDir = join(where.storage, 'python-env');
  const python = envPython(envDir);
  const marker = join(envDir, 'podium-bundle.json');
  try {
    if (existsSync(python) && JSON.parse(readFileSync(marker, 'utf8')).version === version) {
      return { ok: true, python, built: false };
    }
  } catch {
    // no marker yet (or a broken one): build it
  }
  const check = await run(basePython, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 3)'], env, 30_000);
  if (check.code === 3) return { ok: false, detail: `${basePython} is older than Python 3.11, which Podium needs` };
  if (check.code !== 0) return { ok: false, detail: `${basePython} does not run: ${check.stderr.trim().split('\n').pop() ?? ''}` };
  report('creating a virtual environment…');
  rmSync(envDir, { recursive: true, force: true });
  mkdirSync(where.storage, { recursive: true });
  const venv = await run(basePython, ['-m', 'venv', envDir], env, 120_000);
  if (venv.code !== 0) {
    return { ok: false, detail: `could not create a virtual environment with ${basePython} (on Debian/Ubuntu: apt install python3-venv): ${venv.stderr.trim().split('\n').pop() ?? ''}` };
  }
  report(`installing Podium ${version} and its libraries…`);
  const pip = await run(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--find-links', where.wheels, `podium==${version}`],
    { ...env, PIP_NO_INPUT: '1' },
    600_000,
  );
  if (pip.code !== 0) {
    rmSync(envDir, { recursive: true, force: true });
    return { ok: false, detail: installProblem(pip.stderr + pip.stdout) };
  }
  writeFileSync(marker, JSON.stringify({ version, from: basePython }));
  return { ok: true, python, built: true };
}
