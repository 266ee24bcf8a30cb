#!/usr/bin/env bash
# Times `cargo build` of the same synthetic domain written by hand for cqrs-es 0.5 (the crate
# ../shared/bench/cqrs_equivalent.py writes: same commands, events, validation rules and
# upcast), the baseline for scripts/bench-build.sh. Usage: scripts/bench-build-cqrs.sh [N]
# [GENERATOR]: GENERATOR is the path of cqrs_equivalent.py (default: the workplace copy).
# WITH_JSON=1 also compiles what a running app needs and eskema's output always compiles:
# each command and event enum decoded from JSON, each event encoded (a cqrs-es app compiles
# these once its repository stores events and its API takes commands as JSON).
set -euo pipefail
n="${1:-100}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
gen="${2:-$repo/../shared/bench/cqrs_equivalent.py}"
[ -f "$gen" ] || { echo "error: $gen not found (pass the path of cqrs_equivalent.py)" >&2; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 "$gen" "$n" "$dir"
variant="as written"
if [ "${WITH_JSON:-0}" = "1" ]; then
    variant="with its JSON paths compiled"
    {
        echo "/// The JSON paths of a running app: commands and events decoded, events encoded."
        echo "pub fn json_paths(v: &serde_json::Value) -> usize {"
        echo "    let mut n = 0;"
        for a in $(seq 0 $((n - 1))); do
            echo "    n += usize::from(serde_json::from_value::<thing$a::Thing${a}Command>(v.clone()).is_ok());"
            echo "    if let Ok(e) = serde_json::from_value::<thing$a::Thing${a}Event>(v.clone()) { n += usize::from(serde_json::to_value(&e).is_ok()); }"
        done
        echo "    n"
        echo "}"
    } >> "$dir/src/lib.rs"
fi
export CARGO_TARGET_DIR="$dir/target"
echo "warming dependencies (not timed)..."
cargo build --quiet --manifest-path "$dir/Cargo.toml" 2>/dev/null || true
cargo clean --quiet --manifest-path "$dir/Cargo.toml" -p cqrs-build
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$dir/cpu" cargo build --quiet --manifest-path "$dir/Cargo.toml"
end=$(date +%s.%N)
cpu=$(awk '{print $1 + $2}' "$dir/cpu")
incremental="on"
[ "${CARGO_INCREMENTAL:-1}" = "0" ] && incremental="off"
# Wall time, and CPU time (user + system of cargo and every compiler it ran): CPU time moves
# less when the machine is shared.
printf '| %s aggregates | cargo build (debug, incremental %s) of the same domain by hand for cqrs-es 0.5 (%s): %.1f s wall, %.1f s CPU |\n' "$n" "$incremental" "$variant" "$(echo "$end - $start" | bc)" "$cpu"
