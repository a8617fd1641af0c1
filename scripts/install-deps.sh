#!/usr/bin/env bash
# Installs what gatebench's tests use that a fresh Debian machine may lack: kubectl and promtool
# (Debian). oha, which only the by-hand comparison uses, has its own script (install-oha.sh).
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
