#!/usr/bin/env bash
# Times `cargo build` of the code generated for a synthetic domain of N aggregates
# (default 100): a throwaway crate in a temp dir with build.rs, the schema, and the
# scaffolded logic stubs. Usage: scripts/bench-build.sh [N] (ESKEMA_REPO=DIR: build that
# checkout of eskema instead of this one)
# Cargo's incremental compilation (on by default for debug builds) is kept as the user's
# environment sets it; CARGO_INCREMENTAL=0 times the build without it.
set -euo pipefail
n="${1:-100}"
repo="${ESKEMA_REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/schemas" "$dir/src"
ESKEMA_BENCH_AGGREGATES="$n" ESKEMA_BENCH_WRITE="$dir/schemas" \
    cargo bench --quiet --manifest-path "$repo/Cargo.toml" -p eskema-codegen --bench generate
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "bench-build"
version = "0.1.0"
edition = "2024"
[dependencies]
eskema = { path = "$repo/runtime" }
[build-dependencies]
eskema-codegen = { path = "$repo/codegen" }
[workspace]
TOML
cat > "$dir/build.rs" <<'RS'
fn main() {
    if let Err(e) = eskema_codegen::Builder::new().schemas("schemas").generate() {
        e.fail_build();
    }
}
RS
printf 'eskema::include_domain!("synthetic");\npub mod logic;\n' > "$dir/src/lib.rs"
cargo run --quiet --manifest-path "$repo/Cargo.toml" -p eskema-codegen -- scaffold "$dir/schemas" --out "$dir/src/logic" > /dev/null
export CARGO_TARGET_DIR="$dir/target"
echo "warming dependencies (not timed)..."
cargo build --quiet --manifest-path "$dir/Cargo.toml" 2>/dev/null || true
cargo clean --quiet --manifest-path "$dir/Cargo.toml" -p bench-build
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$dir/cpu" cargo build --quiet --manifest-path "$dir/Cargo.toml"
end=$(date +%s.%N)
cpu=$(awk '{print $1 + $2}' "$dir/cpu")
incremental="on"
[ "${CARGO_INCREMENTAL:-1}" = "0" ] && incremental="off"
# Wall time, and CPU time (user + system of cargo and every compiler it ran): CPU time moves
# less when the machine is shared.
printf '| %s aggregates | cargo build (debug, incremental %s) of the user crate: build script (check + emit) and the generated code + stubs: %.1f s wall, %.1f s CPU |\n' "$n" "$incremental" "$(echo "$end - $start" | bc)" "$cpu"
