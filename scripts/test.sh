#!/usr/bin/env bash
# The README's test command: installs what is missing (scripts/setup-tools.sh), then runs every
# test layer.
#   npm test                 all layers
#   npm test -- unit webview only those layers
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-tools.sh
exec node scripts/test-all.mjs "$@"
