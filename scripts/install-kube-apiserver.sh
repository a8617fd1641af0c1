#!/usr/bin/env bash
# Builds the upstream binaries gatebench runs against (kube-apiserver, etcd, kube-rbac-proxy) from
# their Go modules at pinned release tags into .tools/, skipping each one that is already there.
#
#   .tools/kubernetes/<K8S_VERSION>/bin/{kube-apiserver,etcd}
#   .tools/kube-rbac-proxy/<KRP_VERSION>/bin/kube-rbac-proxy
#
# Needs a Go toolchain (1.25+) and the Go module proxy; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
KRP_VERSION=${KRP_VERSION:-v0.19.1}

ROOT=$PWD/.tools
K8S_BIN=$ROOT/kubernetes/$K8S_VERSION/bin
KRP_BIN=$ROOT/kube-rbac-proxy/$KRP_VERSION/bin
WORK=$ROOT/build
mkdir -p "$K8S_BIN" "$KRP_BIN" "$WORK"

# Static binaries, no VCS stamping (the module zips carry no .git), never switch toolchains.
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

command -v go >/dev/null || { echo "install-kube-apiserver: go is not on PATH" >&2; exit 1; }

# present BIN WANT: the binary exists and its --version output mentions WANT.
present() {
  [[ -x "$1" ]] && "$1" --version 2>&1 | grep -qF -- "$2"
}

# timed NAME CMD...: runs CMD and records how long it took in .tools/build-times.txt.
timed() {
  local name=$1 start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  echo "$name built in $((end - start)) s ($(go env GOVERSION), $(nproc) cores, $BUILD_DATE)" |
    tee -a "$ROOT/build-times.txt"
}

# A build module of our own: k8s.io/kubernetes requires its staging modules at v0.0.0 (resolved by
# ./staging replaces in its own go.mod, which do not apply to a dependency), so every one of them is
# replaced by the published v0.<minor>.<patch> of the same release.
build_kube_apiserver() {
  local dir=$WORK/kubernetes-$K8S_VERSION staging_version mod major minor
  staging_version=v0.${K8S_VERSION#v1.}
  rm -rf "$dir"
  mkdir -p "$dir"
  mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  {
    echo "module gatebench.local/kube-build"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$mod"
    echo ")"
  } >"$dir/go.mod"
  major=${K8S_VERSION#v}
  major=${major%%.*}
  minor=${K8S_VERSION#v*.}
  minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    # "archive" is what kube's hack/lib/version.sh records for a build from a source archive.
    ldflags+=" -X $pkg.gitTreeState=archive -X $pkg.buildDate=$BUILD_DATE"
  done
  (
    cd "$dir"
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION"
    go build -trimpath -ldflags="$ldflags" -o "$K8S_BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  )
}

# etcd's server binary is the main package at the root of module go.etcd.io/etcd/server/v3.
build_etcd() {
  local dir=$WORK/etcd-$ETCD_VERSION
  rm -rf "$dir"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod init gatebench.local/etcd-build >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -trimpath -ldflags="-s -w" -o "$K8S_BIN/etcd" go.etcd.io/etcd/server/v3
  )
}

# kube-rbac-proxy is built inside a copy of its own module so that its go.mod (and its replace
# directives) decide the dependency versions, as its own release build does.
build_kube_rbac_proxy() {
  local dir=$WORK/kube-rbac-proxy-$KRP_VERSION src
  src=$(go mod download -json "github.com/brancz/kube-rbac-proxy@$KRP_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  rm -rf "$dir"
  cp -r "$src" "$dir"
  chmod -R u+w "$dir"
  # The version flags its Makefile sets (gitCommit is unknown: the module zip has no .git).
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KRP_VERSION"
  ldflags+=" -X k8s.io/component-base/version/verflag.programName=kube-rbac-proxy"
  (
    cd "$dir"
    go build -trimpath -ldflags="$ldflags" -o "$KRP_BIN/kube-rbac-proxy" ./cmd/kube-rbac-proxy
  )
}

if present "$K8S_BIN/kube-apiserver" "$K8S_VERSION"; then
  echo "kube-apiserver $K8S_VERSION present"
else
  timed "kube-apiserver $K8S_VERSION" build_kube_apiserver
fi
if present "$K8S_BIN/etcd" "${ETCD_VERSION#v}"; then
  echo "etcd $ETCD_VERSION present"
else
  timed "etcd $ETCD_VERSION" build_etcd
fi
if present "$KRP_BIN/kube-rbac-proxy" "$KRP_VERSION"; then
  echo "kube-rbac-proxy $KRP_VERSION present"
else
  timed "kube-rbac-proxy $KRP_VERSION" build_kube_rbac_proxy
fi

"$K8S_BIN/kube-apiserver" --version
"$K8S_BIN/etcd" --version | head -1
"$KRP_BIN/kube-rbac-proxy" --version 2>&1 | head -1
