#!/usr/bin/env bash
# Regenerates the TFLite flatbuffers code from src/core/generated/tflite/schema.fbs (upstream
# tensorflow schema; provenance in SOURCE.md beside it). Never edit the outputs by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/src/core/generated/tflite"
FLATC="${FLATC:-flatc}"
command -v "$FLATC" >/dev/null || { echo "flatc not found (apt-get install flatbuffers-compiler)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# flatc 2.0.x (Debian) rejects '(deprecated)' on enum values and union members; newer flatc accepts
# it. Stripping the attribute there changes no value, id or layout.
sed -E 's/^([[:space:]]+[A-Za-z_][A-Za-z0-9_]*([[:space:]]*=[[:space:]]*[0-9]+)?)[[:space:]]*\(deprecated\)[[:space:]]*,/\1,/' \
  "$DIR/schema.fbs" > "$DIR/schema_flatc2.fbs"
cp "$DIR/schema_flatc2.fbs" "$TMP/schema.fbs"

# One flat file: simpler to bundle (esbuild) and to load (tsx) than ~190 files.
"$FLATC" --ts --gen-object-api --ts-flat-files -o "$TMP/ts" "$TMP/schema.fbs"
"$FLATC" --jsonschema -o "$TMP/js" "$TMP/schema.fbs"

# The generated file is not written for this repo's strict lint settings; type-check it loosely.
{ echo '// @ts-nocheck'; echo '/* eslint-disable */'; cat "$TMP/ts/schema_generated.ts"; } > "$DIR/schema_generated.ts"
cp "$TMP/js/schema.schema.json" "$DIR/schema.json"
echo "generated $DIR/schema_generated.ts, schema.json, schema_flatc2.fbs ($("$FLATC" --version))" >&2
