#!/usr/bin/env bash
# Installs the system packages gatebench's tests use that a fresh Debian machine may lack.
set -euo pipefail
if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl (Debian package kubernetes-client)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq kubernetes-client
fi
