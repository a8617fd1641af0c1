#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, starting from its checked-in seeds.
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_SANITIZER none (default: the targets check panics and assertions) or address
#   FUZZ_TARGETS   space-separated subset (default: all)
# cargo-fuzz passes nightly-only -Z flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# take them, so no nightly is needed. A crash leaves its input in fuzz/artifacts/TARGET/ and fails
# the run: copy it to fuzz/seeds/TARGET/ and add a regression test beside the code it broke.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
cargo fuzz build --sanitizer "$sanitizer" --debug-assertions

# New inputs go to a scratch corpus, so a run never changes the checked-in seeds.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $targets; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    echo "== fuzz $target for ${secs}s"
    if cargo fuzz run --sanitizer "$sanitizer" --debug-assertions "$target" \
        "$scratch/$target" "seeds/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)" "$log" || tail -n 3 "$log"
    else
        echo "!! $target failed:"
        tail -n 40 "$log"
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz targets with crashes: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: every target ran ${secs}s without a crash"
