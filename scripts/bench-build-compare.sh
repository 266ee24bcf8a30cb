#!/usr/bin/env bash
# The build-cost comparison the README quotes, in one run on one machine: eskema's
# generated code for N aggregates at each REV (default: HEAD), built from a clean checkout of
# that revision, against the same domain by hand for cqrs-es 0.5, ROUNDS times each,
# interleaved so every contender sees the same load.
# Usage: scripts/bench-build-compare.sh [N] [ROUNDS] [REV...]
set -euo pipefail
n="${1:-100}"
rounds="${2:-3}"
shift $(( $# < 2 ? $# : 2 ))
revs=("$@")
[ ${#revs[@]} -eq 0 ] && revs=(HEAD)
repo="$(cd "$(dirname "$0")/.." && pwd)"
trees=()
cleanup() {
    for t in "${trees[@]}"; do git -C "$repo" worktree remove --force "$t" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
for rev in "${revs[@]}"; do
    t="$(mktemp -d)"
    rmdir "$t"
    git -C "$repo" worktree add --quiet --detach "$t" "$rev"
    trees+=("$t")
done
for r in $(seq 1 "$rounds"); do
    echo "round $r"
    for i in "${!revs[@]}"; do
        ESKEMA_REPO="${trees[$i]}" "$repo/scripts/bench-build.sh" "$n" | grep '^|' | sed "s/^/eskema ${revs[$i]} /"
    done
    "$repo/scripts/bench-build-cqrs.sh" "$n" | grep '^|' | sed "s/^/cqrs-es /"
    WITH_JSON=1 "$repo/scripts/bench-build-cqrs.sh" "$n" | grep '^|' | sed "s/^/cqrs-es /"
done
