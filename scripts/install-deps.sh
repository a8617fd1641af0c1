#!/usr/bin/env bash
# Installs what gatebench's tests use that a fresh Debian machine may lack: kubectl (Debian) and
# oha (crates.io, into ~/.cargo/bin, kept there across runs).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
updated=false
apt_install() {
  if [[ $updated == false ]]; then
    apt-get update -qq
    updated=true
  fi
  apt-get install -y -qq --no-install-recommends "$@"
}
if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl (Debian package kubernetes-client)"
  apt_install kubernetes-client
fi
# promtool checks that the stand-in's /metrics is valid classic text format (conformance tests).
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian package prometheus)"
  apt_install prometheus
fi
if ! command -v oha >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/oha" ]; then
  # The outside generator the harness is checked against (tests/measurement/oha_agreement.rs).
  # Building it takes about 15 min of CPU (47 min wall on a busy 2-core machine); once.
  echo "installing oha (cargo install oha --locked)"
  cargo install oha --locked
fi
