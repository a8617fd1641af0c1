#!/usr/bin/env bash
# Generator ceiling on this machine: gateway pinned to CPU 0, loadtest to CPU 1, release build.
# Usage: bash loadtests/ceiling.sh [OUTDIR]   (after `cargo build --release --bins`)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-reports/ceiling}
mkdir -p "$out"
bin=${BIN:-target/release}

start() { # start NAME ARGS... : runs gatebench ARGS, waits for its listening line in $out/NAME.out
  local name=$1; shift
  "$bin/gatebench" "$@" >"$out/$name.out" 2>"$out/$name.err" &
  echo $! >"$out/$name.pid"
  for _ in $(seq 100); do grep -q listening "$out/$name.out" 2>/dev/null && return; sleep 0.1; done
  echo "$name did not start" >&2; exit 1
}
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])" "$1" "$2"; }
cleanup() { for p in "$out"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; rm -f "$p"; done; }
trap cleanup EXIT

start apiserver apiserver --listen 127.0.0.1:0 --kubeconfig-out "$out/admin.kubeconfig"
GATEBENCH_PIN_CPU=0 start none gateway --kubeconfig "$out/admin.kubeconfig" --auth none \
  --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0
GATEBENCH_PIN_CPU=0 start cached gateway --kubeconfig "$out/admin.kubeconfig" --auth cached \
  --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0

none_url=$(field "$out/none.out" url)
cached_url=$(field "$out/cached.out" url)
cached_metrics=$(field "$out/cached.out" metrics_url)

for rate in ${RATES:-1000 2000 3000 4000 6000 8000}; do
  GATEBENCH_PIN_CPU=1 "$bin/loadtest" --scenario steady --host "$none_url" --rate "$rate" \
    --duration "${DURATION:-8}" --identities 1 --quiet \
    --summary-out "$out/none-$rate.json" 2>>"$out/loadtest.err"
done
GATEBENCH_PIN_CPU=1 "$bin/loadtest" --scenario steady --host "$cached_url" --rate 1000 \
  --duration "${DURATION:-15}" --identities 10 --kubeconfig "$out/admin.kubeconfig" --setup-rbac \
  --gateway-metrics "$cached_metrics" --quiet --summary-out "$out/cached-1000.json" 2>>"$out/loadtest.err"

python3 - "$out" <<'PY'
import json, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    s = json.loads(f.read_text())
    l, g = s["latency_us"], s["generator"]
    print(f"{f.stem:12} offered {s['offered_rps']:6.0f} achieved {s['achieved_rps']:7.1f} rps "
          f"p50 {l['p50']:6} p99 {l['p99']:7} max {l['max']:7} us  gen {g['cpu_cores_used']:.2f} cores "
          f"send-delay p99 {g.get('send_delay_p99_us', 0)} us  limited={g['limited']} {g.get('reason') or ''} "
          f"codes={s['status_counts']}")
PY
