#!/usr/bin/env bash
# Drives the gatebench API server stand-in with stock kubectl only and checks every answer.
# Usage: scripts/kubectl-smoke.sh   (uses $GATEBENCH_BIN, else target/debug/gatebench, building it if missing)
set -euo pipefail

cd "$(dirname "$0")/.."
BIN="${GATEBENCH_BIN:-target/debug/gatebench}"
if [[ ! -x "$BIN" ]]; then
    cargo build --quiet --bin gatebench
    BIN=target/debug/gatebench
fi
command -v kubectl >/dev/null || { echo "kubectl-smoke: kubectl not found" >&2; exit 1; }

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

FAILURES=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1" >&2; FAILURES=$((FAILURES + 1)); }
# expect_eq NAME ACTUAL EXPECTED
expect_eq() { if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: got [$2], want [$3]"; fi; }
# expect_has NAME HAYSTACK NEEDLE
expect_has() { if [[ "$2" == *"$3"* ]]; then pass "$1"; else fail "$1: [$2] lacks [$3]"; fi; }
expect_lacks() { if [[ "$2" != *"$3"* ]]; then pass "$1"; else fail "$1: [$2] has [$3]"; fi; }

"$BIN" apiserver --listen 127.0.0.1:0 --kubeconfig-out "$WORK/kubeconfig" >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
for _ in $(seq 1 300); do
    grep -q '"event":"listening"' "$WORK/stdout" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stderr" >&2; echo "kubectl-smoke: server exited" >&2; exit 1; }
    sleep 0.1
done
grep -q '"event":"listening"' "$WORK/stdout" || { echo "kubectl-smoke: server did not start" >&2; exit 1; }
echo "server: $(cat "$WORK/stdout")"

k() { kubectl --kubeconfig "$WORK/kubeconfig" "$@" 2>&1; }

# create_token SA NS [AUDIENCE]: `kubectl create token` (kubectl >= 1.24), or the same TokenRequest
# through `create --raw` on older clients (Debian's kubernetes-client package is 1.20).
if [[ -z "${SMOKE_FORCE_RAW_TOKEN:-}" ]] && kubectl create token --help >/dev/null 2>&1; then
    create_token() { k create token "$1" -n "$2" --duration 10m ${3:+--audience "$3"}; }
else
    echo "kubectl has no 'create token'; minting through create --raw TokenRequest"
    create_token() {
        local aud=""
        [[ -n "${3:-}" ]] && aud="\"audiences\":[\"$3\"],"
        printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{%s"expirationSeconds":600}}' "$aud" >"$WORK/tokenrequest.json"
        k create --raw "/api/v1/namespaces/$2/serviceaccounts/$1/token" -f "$WORK/tokenrequest.json" |
            sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
    }
fi

expect_eq "create namespace" "$(k create namespace smoke)" "namespace/smoke created"
expect_eq "create serviceaccount gw" "$(k create serviceaccount gw -n smoke)" "serviceaccount/gw created"
expect_eq "create serviceaccount load-0" "$(k create serviceaccount load-0 -n smoke)" "serviceaccount/load-0 created"
expect_has "duplicate serviceaccount is refused" "$(k create serviceaccount gw -n smoke || true)" 'serviceaccounts "gw" already exists'
expect_eq "get serviceaccount" "$(k get serviceaccount load-0 -n smoke -o jsonpath='{.metadata.name}')" "load-0"
expect_eq "create clusterrole" \
    "$(k create clusterrole gatebench-signal-source --verb=create --resource=services --resource-name=gateway-service)" \
    "clusterrole.rbac.authorization.k8s.io/gatebench-signal-source created"
expect_eq "clusterrole rules stored" \
    "$(k get clusterrole gatebench-signal-source -o jsonpath='{.rules[0].resourceNames[0]}')" "gateway-service"
expect_eq "create clusterrolebinding" \
    "$(k create clusterrolebinding gw-delegator --clusterrole=system:auth-delegator --serviceaccount=smoke:gw)" \
    "clusterrolebinding.rbac.authorization.k8s.io/gw-delegator created"
expect_eq "create rolebinding" \
    "$(k create rolebinding signal --clusterrole=gatebench-signal-source --serviceaccount=smoke:load-0 -n smoke)" \
    "rolebinding.rbac.authorization.k8s.io/signal created"

LOAD_TOKEN="$(create_token load-0 smoke gatebench)"
expect_eq "create token is a JWT" "$(awk -F. '{print NF}' <<<"$LOAD_TOKEN")" "3"
GW_TOKEN="$(create_token gw smoke)"

review_file() {  # TOKEN AUDIENCE -> path of a TokenReview body
    printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s","audiences":["%s"]}}' "$1" "$2" >"$WORK/review.json"
    echo "$WORK/review.json"
}
sar_file() {  # USER NAMESPACE NAME -> path of a SubjectAccessReview body
    printf '{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"%s","groups":["system:serviceaccounts","system:authenticated"],"resourceAttributes":{"namespace":"%s","verb":"create","resource":"services","name":"%s"}}}' "$1" "$2" "$3" >"$WORK/sar.json"
    echo "$WORK/sar.json"
}

# The gateway's own identity does the reviews, as a gateway would.
gw() { kubectl --kubeconfig "$WORK/kubeconfig" --token "$GW_TOKEN" "$@" 2>&1; }
expect_eq "gateway may create tokenreviews" "$(gw auth can-i create tokenreviews.authentication.k8s.io --all-namespaces)" "yes"
REVIEW="$(gw create --raw /apis/authentication.k8s.io/v1/tokenreviews -f "$(review_file "$LOAD_TOKEN" gatebench)")"
expect_has "TokenReview authenticated" "$REVIEW" '"authenticated":true'
expect_has "TokenReview username" "$REVIEW" '"username":"system:serviceaccount:smoke:load-0"'
expect_has "TokenReview audiences" "$REVIEW" '"audiences":["gatebench"]'
WRONG="$(gw create --raw /apis/authentication.k8s.io/v1/tokenreviews -f "$(review_file "$LOAD_TOKEN" other)")"
expect_lacks "wrong audience not authenticated" "$WRONG" '"authenticated":true'

SAR="$(gw create --raw /apis/authorization.k8s.io/v1/subjectaccessreviews -f "$(sar_file system:serviceaccount:smoke:load-0 smoke gateway-service)")"
expect_has "SAR allowed" "$SAR" '"allowed":true'
SAR="$(gw create --raw /apis/authorization.k8s.io/v1/subjectaccessreviews -f "$(sar_file system:serviceaccount:smoke:load-0 smoke other-service)")"
expect_has "SAR denied for another resourceName" "$SAR" '"allowed":false'
SAR="$(gw create --raw /apis/authorization.k8s.io/v1/subjectaccessreviews -f "$(sar_file system:serviceaccount:smoke:gw smoke gateway-service)")"
expect_has "SAR denied for an unbound SA" "$SAR" '"allowed":false'

LOAD_API_TOKEN="$(create_token load-0 smoke)"
expect_has "caller without auth-delegator is Forbidden" \
    "$(kubectl --kubeconfig "$WORK/kubeconfig" --token "$LOAD_API_TOKEN" create --raw /apis/authentication.k8s.io/v1/tokenreviews -f "$(review_file "$LOAD_TOKEN" gatebench)" 2>&1 || true)" \
    "Forbidden"
expect_has "bad token is Unauthorized" \
    "$(kubectl --kubeconfig "$WORK/kubeconfig" --token not-a-token get namespaces 2>&1 || true)" "Unauthorized"

expect_eq "delete serviceaccount" "$(k delete serviceaccount load-0 -n smoke)" 'serviceaccount "load-0" deleted'
REVOKED="$(gw create --raw /apis/authentication.k8s.io/v1/tokenreviews -f "$(review_file "$LOAD_TOKEN" gatebench)")"
expect_lacks "deleted SA's token not authenticated" "$REVOKED" '"authenticated":true'
expect_has "deleted SA's token error" "$REVOKED" "deleted"

JWKS="$(k get --raw /openid/v1/jwks)"
expect_has "JWKS has an RSA key" "$JWKS" '"kty":"RSA"'
expect_has "JWKS key is for RS256" "$JWKS" '"alg":"RS256"'
expect_has "OIDC discovery" "$(k get --raw /.well-known/openid-configuration)" '"jwks_uri":'

METRICS="$(k get --raw /metrics)"
# Classic text format, labels sorted, kube's label set and values (create is POST, scope "resource").
TR_LABELS='component="apiserver",dry_run="",group="authentication.k8s.io",resource="tokenreviews",scope="resource",subresource="",verb="POST",version="v1"'
expect_has "metrics type the counter" "$METRICS" "# TYPE apiserver_request_total counter"
expect_has "metrics count the 3 allowed TokenReviews" "$METRICS" "apiserver_request_total{code=\"201\",$TR_LABELS} 3"
expect_has "metrics count the forbidden TokenReview" "$METRICS" "apiserver_request_total{code=\"403\",$TR_LABELS} 1"

kill -TERM "$SERVER_PID"
if wait "$SERVER_PID"; then pass "graceful exit on SIGTERM"; else fail "server exit status $?"; fi
SERVER_PID=""

if [[ "$FAILURES" -ne 0 ]]; then
    echo "kubectl-smoke: $FAILURES check(s) failed" >&2
    exit 1
fi
echo "kubectl-smoke: all checks passed"
