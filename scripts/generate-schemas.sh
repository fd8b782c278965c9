#!/usr/bin/env bash
# Regenerates src/core/generated/ from the schemas committed there. Needs Debian's flatc.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/gen-onnx.sh
bash scripts/gen-tflite.sh
