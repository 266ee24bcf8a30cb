#!/usr/bin/env bash
# Writes the seed corpus of the `check` fuzz target: the demo's schemas (one seed per file
# and one with all of them, as a multi-file domain), the good test schemas, and every
# bad-schema case (its files joined with the fuzz target's file separator).
# Usage: scripts/fuzz-seeds.sh   (from the repository root)
set -euo pipefail
out=fuzz/corpus/check
mkdir -p "$out"
rm -f "$out"/seed-*
sep=$'\n#--- next file ---\n'
join() { # files... -> stdout, separated
  local first=1
  for f in "$@"; do
    if [ $first = 0 ]; then printf '%s' "$sep"; fi
    cat "$f"; first=0
  done
}
for f in schemas/*.yaml codegen/tests/good/*.yaml; do
  cp "$f" "$out/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
join schemas/*.yaml > "$out/seed-demo-all.yaml"
join codegen/tests/good/*.yaml > "$out/seed-good-all.yaml"
for case in codegen/tests/bad_schemas/*/; do
  name=$(basename "$case")
  mapfile -t files < <(find "$case" -name '*.yaml' -o -name '*.yml' | sort)
  [ ${#files[@]} -gt 0 ] && join "${files[@]}" > "$out/seed-bad-$name.yaml"
done
echo "$(ls "$out"/seed-* | wc -l) seeds in $out ($(cat "$out"/seed-* | wc -c) bytes)"

# The `lock` target: a lock, then the schemas checked against it. The demo's lock with its
# schemas, and each evolution case: the lock of its schemas before (as `eskema lock` writes
# it, with the case's hand-written exceptions), then its schemas after.
lock_out=fuzz/corpus/lock
mkdir -p "$lock_out"
rm -f "$lock_out"/seed-*
lock_sep=$'\n#--- schemas ---\n'
eskema() { cargo run --quiet -p eskema-codegen -- "$@"; }
{ cat schemas/eskema.lock; printf '%s' "$lock_sep"; join schemas/*.yaml; } > "$lock_out/seed-demo.yaml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for case in codegen/tests/evolution/*/; do
  name=$(basename "$case")
  [ "$name" = base ] && continue
  before="$case/before"
  [ -d "$before" ] || before=codegen/tests/evolution/base
  eskema lock --lock-file "$tmp/$name.lock" "$before" > /dev/null
  [ -f "$case/exceptions.yaml" ] && cat "$case/exceptions.yaml" >> "$tmp/$name.lock"
  { cat "$tmp/$name.lock"; printf '%s' "$lock_sep"; join "$case"/*.yaml; } > "$lock_out/seed-$name.yaml"
done
echo "$(ls "$lock_out"/seed-* | wc -l) seeds in $lock_out ($(cat "$lock_out"/seed-* | wc -c) bytes)"
