#!/usr/bin/env bash
# The harness against oha (--latency-correction, same connection count), alternated three times
# against the same gateway at the same fixed rate, for `none` and `cached` at 100 and 1,000 RPS
# (gateway pinned to CPU 0, either generator to CPU 1). Prints the markdown table that
# docs/loadtest.md quotes. OHA_COMPARE_SECS sets each run's length (default 8).
# Usage: bash scripts/oha-compare.sh     (installs oha first when missing: scripts/install-oha.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/install-oha.sh
uptime
cargo test --release --test measurement oha_agreement::comparison_table -- --ignored --nocapture \
  --test-threads 1 2>&1 | grep -E '^\||^running|test result'
