#!/usr/bin/env bash
# Runs scripts/python-client-check.py (the official `kubernetes` Python client) against the stand-in
# and, with `--with-kube-apiserver`, against kube-apiserver too. Needs `pip install kubernetes`.
set -euo pipefail
cd "$(dirname "$0")/.."
GATEBENCH_BIN=${GATEBENCH_BIN:-target/debug/gatebench}
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# start NAME ARGS...: starts `gatebench ARGS` and waits (up to 180 s) for its listening line.
start() {
  local name=$1
  shift
  "$GATEBENCH_BIN" "$@" --kubeconfig-out "$dir/$name.kubeconfig" >"$dir/$name.out" 2>"$dir/$name.err" &
  pids+=($!)
  for _ in $(seq 1 180); do
    grep -q '"event":"listening"' "$dir/$name.out" 2>/dev/null && return 0
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "$name exited before listening:" >&2
      cat "$dir/$name.err" >&2
      return 1
    fi
    sleep 1
  done
  echo "$name did not report listening within 180 s" >&2
  return 1
}

start stand-in apiserver --listen 127.0.0.1:0
python3 scripts/python-client-check.py "$dir/stand-in.kubeconfig" stand-in
if [[ "${1:-}" == "--with-kube-apiserver" ]]; then
  start kube-apiserver kube-apiserver
  python3 scripts/python-client-check.py "$dir/kube-apiserver.kubeconfig" kube-apiserver
fi
