#!/usr/bin/env bash
# `npm run launch`: QuantLens in a real VS Code (code-server) in your browser, with
# samples/mnist-12.onnx open in the QuantLens editor. On a fresh clone it first installs what is
# missing (Debian packages, Node 24 + code-server, npm dependencies) and builds the extension.
# Runs until Ctrl+C, then stops code-server by its process id and removes its throwaway folders.
# Options (also in the README): --port N, --no-open-file, --no-build, --vsix FILE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[launch] %s\n' "$*" >&2; }

build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) args+=("$a") ;;
  esac
done

# Idempotent: a few dpkg queries and file checks when everything is already there.
bash scripts/setup-tools.sh

if ((build)) || [ ! -f dist/extension.js ]; then
  log "building the extension"
  npm run --silent build
fi

# exec: Ctrl+C reaches the launcher directly, which stops code-server cleanly.
exec node --import tsx scripts/code-server.ts launch "${args[@]+"${args[@]}"}"
