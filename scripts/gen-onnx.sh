#!/usr/bin/env bash
# Regenerates the protobufjs static code for ONNX from src/core/generated/onnx/onnx.proto.
# The .proto is the upstream onnx/onnx `onnx/onnx.proto` (commit noted in SOURCE.md beside it);
# to update it, replace the file, update SOURCE.md, and run this script. Never edit the output.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/src/core/generated/onnx"
BIN="$ROOT/node_modules/.bin"
cd "$DIR"
# No verify/convert/delimited helpers: the reader and writer only decode and encode, and the
# smaller module bundles faster. int64 fields come back as Long (the 'long' package is installed),
# which keeps 64-bit attribute values exact.
"$BIN/pbjs" -t static-module -w commonjs --no-verify --no-convert --no-delimited --no-typeurl \
  --no-service -o onnx.js onnx.proto
"$BIN/pbts" -o onnx.d.ts onnx.js
echo "generated $DIR/onnx.js and onnx.d.ts" >&2
