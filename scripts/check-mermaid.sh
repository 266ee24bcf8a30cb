#!/usr/bin/env bash
# Parses every Mermaid diagram in the generated docs and the README with Mermaid's own
# parser (the one GitHub renders with), so a diagram that would show as an error on GitHub
# is caught here. Needs Node.js and the npm registry: mermaid and jsdom are installed into
# a temporary folder, nothing into the repository. Not part of .ci/run (it downloads).
# Usage: scripts/check-mermaid.sh [FILE.md ...]   (from the repository root; default: the
# demo's generated/docs/*.md and README.md). Exit 1 when a diagram does not parse.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(generated/docs/*.md README.md)
fi
abs=()
for f in "${files[@]}"; do abs+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/mermaid/parse.mjs" "$work/"
(cd "$work" && npm install --silent --no-audit --no-fund mermaid@11 jsdom@25 >/dev/null)
(cd "$work" && node parse.mjs "${abs[@]}")
