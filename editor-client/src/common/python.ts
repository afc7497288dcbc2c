/** Which Python runs `podium serve`, and what a failed preflight means. Pure. */

export interface PythonChoice {
  command: string;
  origin: 'setting' | 'python-extension' | 'default' | 'bundled';
}

/** Expands `${workspaceFolder}` and `~` in a configured path. */
export function expandPath(value: string, workspaceFolder: string | undefined, home: string): string {
  let out = value.trim();
  if (workspaceFolder) out = out.split('${workspaceFolder}').join(workspaceFolder);
  if (out === '~' || out.startsWith('~/')) out = home + out.slice(1);
  return out;
}

/** podium.pythonPath, else the Python extension's interpreter, else python3. */
export function choosePython(
  setting: string | undefined,
  pythonExtensionPath: string | undefined,
  workspaceFolder: string | undefined,
  home: string,
): PythonChoice {
  if (setting && setting.trim()) {
    return { command: expandPath(setting, workspaceFolder, home), origin: 'setting' };
  }
  if (pythonExtensionPath && pythonExtensionPath.trim()) {
    return { command: pythonExtensionPath.trim(), origin: 'python-extension' };
  }
  return { command: 'python3', origin: 'default' };
}

export type PreflightResult =
  | { ok: true; version: string }
  | { ok: false; problem: 'missingPython' | 'missingPodium'; detail: string };

/** The code the preflight runs: prints podium's version or fails with ModuleNotFoundError. */
export const PREFLIGHT_CODE = 'import podium, sys; sys.stdout.write(podium.__version__)';

/**
 * Classifies the outcome of `python -c PREFLIGHT_CODE`: `spawnError` is the error code of a
 * process that could not start (ENOENT, EACCES), else exit code and stderr.
 */
export function classifyPreflight(
  spawnError: string | undefined,
  exitCode: number | null,
  stdout: string,
  stderr: string,
): PreflightResult {
  if (spawnError) {
    const detail =
      spawnError === 'ENOENT'
        ? 'no such file'
        : spawnError === 'EACCES'
          ? 'not executable'
          : spawnError;
    return { ok: false, problem: 'missingPython', detail };
  }
  if (exitCode === 0) return { ok: true, version: stdout.trim() || 'unknown' };
  if (/ModuleNotFoundError|No module named/.test(stderr)) {
    return { ok: false, problem: 'missingPodium', detail: 'No module named podium' };
  }
  const lastLine = stderr.trim().split('\n').pop() ?? '';
  if (exitCode === 127 || /not found|No such file/i.test(lastLine)) {
    return { ok: false, problem: 'missingPython', detail: lastLine || `exit code ${exitCode}` };
  }
  return {
    ok: false,
    problem: 'missingPodium',
    detail: lastLine || `exit code ${exitCode ?? 'unknown'}`,
  };
}

export const INSTALL_INSTRUCTIONS = [
  '# Installing Podium',
  '',
  'The Podium extension runs a small Python server, `podium serve`, which needs Python 3.11 or',
  'newer. When the Python it finds (**Podium: Python Path**, the Python extension\'s interpreter,',
  'else `python3`) has no Podium, the extension builds its own environment in its storage from',
  'the Podium wheel it carries, and pip installs Podium\'s libraries (pygls, pydantic, …) from your',
  'package index: this needs network access once.',
  '',
  'Without network access, or to use Podium from a terminal too (`podium report`, `podium monitor`):',
  '',
  '1. Install Podium into a virtual environment, from the wheel inside the extension',
  '   (`~/.vscode/extensions/podium.podium-<version>/dist/wheels/`) or from a checkout of the',
  '   Podium repository:',
  '',
  '   ```sh',
  '   python3 -m venv ~/.venvs/podium',
  '   ~/.venvs/podium/bin/pip install ~/.vscode/extensions/podium.podium-*/dist/wheels/podium-*-py3-none-any.whl',
  '   # or, in a checkout: ~/.venvs/podium/bin/pip install .',
  '   ```',
  '',
  '2. Point the extension at that interpreter: set **Podium: Python Path** (`podium.pythonPath`)',
  '   to `~/.venvs/podium/bin/python`, or select it as the interpreter of the Python extension.',
  '',
  '3. Run **Podium: Restart Server** from the command palette.',
  '',
].join('\n');
