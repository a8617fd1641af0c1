#!/usr/bin/env bash
# Installs oha, the outside generator the harness is checked against (scripts/oha-compare.sh,
# tests/measurement/oha_agreement.rs), from crates.io into ~/.cargo/bin, kept there across runs.
# Building it takes about 15 min of CPU (47 min wall on a busy 2-core machine), so CI, which does
# not run the comparison, does not install it.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v oha >/dev/null 2>&1; then
  echo "installing oha (cargo install oha --locked)"
  cargo install oha --locked
fi
