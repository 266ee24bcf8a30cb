#!/usr/bin/env bash
# Times `cargo build` of the same synthetic domain written by hand for cqrs-es 0.5 (the crate
# ../shared/bench/cqrs_equivalent.py writes: same commands, events, validation rules and
# upcast), the baseline for scripts/bench-build.sh. Usage: scripts/bench-build-cqrs.sh [N]
# [GENERATOR]: GENERATOR is the path of cqrs_equivalent.py (default: the workplace copy).
set -euo pipefail
n="${1:-100}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
gen="${2:-$repo/../shared/bench/cqrs_equivalent.py}"
[ -f "$gen" ] || { echo "error: $gen not found (pass the path of cqrs_equivalent.py)" >&2; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 "$gen" "$n" "$dir"
export CARGO_TARGET_DIR="$dir/target"
echo "warming dependencies (not timed)..."
cargo build --quiet --manifest-path "$dir/Cargo.toml" 2>/dev/null || true
cargo clean --quiet --manifest-path "$dir/Cargo.toml" -p cqrs-build
start=$(date +%s.%N)
cargo build --quiet --manifest-path "$dir/Cargo.toml"
end=$(date +%s.%N)
incremental="on"
[ "${CARGO_INCREMENTAL:-1}" = "0" ] && incremental="off"
printf '| %s aggregates | cargo build (debug, incremental %s) of the same domain by hand for cqrs-es 0.5: %.1f s |\n' "$n" "$incremental" "$(echo "$end - $start" | bc)"
