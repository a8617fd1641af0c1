#!/usr/bin/env bash
# Soak (not in CI): 10 minutes at 1,000 RPS against `gatebench gateway --auth cached` with identity
# churn, an API outage every 2 minutes and stalled hostile connections; fails when the gateway's
# RSS or open fds keep growing or a legitimate request is lost. Prints a JSON summary and writes the
# per-second samples to reports/soak.csv.
#   SOAK_SECS (default 600), SOAK_RPS (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports
export SOAK_OUT="${SOAK_OUT:-$PWD/reports/soak.csv}"
cargo test --release --test measurement soak:: -- --ignored --nocapture --test-threads 1
