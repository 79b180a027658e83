#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 15), starting from its corpus in
# fuzz/corpus/TARGET; new inputs go to a scratch directory (merge them by hand with -merge=1).
# Needs a nightly toolchain and cargo-fuzz. Exits non-zero at the first target that crashes,
# leaving the input in fuzz/artifacts/TARGET/. Prints one line per target with its exec count.
# Sanitizer: none (-s none). The code is safe Rust, so AddressSanitizer finds nothing the
# panics and assertions do not; without it builds are ~2x faster and runs ~3x faster.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-15}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^ringmasq-fuzz$')
cargo +nightly fuzz build -s none
for t in $targets; do
    mkdir -p "$scratch/$t"
    if ! cargo +nightly fuzz run -s none "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
        tail -60 "$scratch/$t.log"
        echo "fuzz target $t FAILED (input in fuzz/artifacts/$t/)"
        exit 1
    fi
    echo "$t: $(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log") runs in ${secs}s"
done
