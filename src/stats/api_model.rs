//! The API-call model: how many TokenReviews and SubjectAccessReviews a gateway makes, from its
//! caches' TTLs, the number of identities and their churn. Used twice: to predict the exact count
//! of a measured run from the requests it sent (the model is checked against the API server's
//! own count), and to project calls per second to rates and identity counts never run.

use std::collections::BTreeMap;

/// How a mode uses one API (TokenReview or SubjectAccessReview).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ApiUse {
    /// The mode never calls it (e.g. TokenReview for mtls).
    NotCalled,
    /// One call per request (no cache).
    EveryRequest,
    /// One entry per identity, created on a miss and expiring `ttl_secs` after creation.
    Cached { ttl_secs: f64 },
}

/// The API server resources counted for TokenReviews and SubjectAccessReviews.
pub const TOKENREVIEWS: &str = "tokenreviews";
pub const SUBJECTACCESSREVIEWS: &str = "subjectaccessreviews";

/// kube-rbac-proxy's token cache TTL, compiled in (pkg/authn/delegating.go: `CacheTTL: 2 *
/// time.Minute`, for successes and failures alike); it does not follow gatebench's time scale.
pub const KRP_TOKEN_TTL_SECS: f64 = 120.0;
/// kube-rbac-proxy's SubjectAccessReview cache TTL for allowed answers (pkg/authz/auth.go:
/// `AllowCacheTTL: 5 * time.Minute`; denials are kept 30 s).
pub const KRP_SAR_ALLOW_TTL_SECS: f64 = 300.0;

/// How gateway mode `mode` uses each API, given its caches' TTLs (seconds, as run or real):
/// TokenReview for bearer modes (cached or per request), a cached SubjectAccessReview for
/// every authenticating mode, nothing for `none`. kube-rbac-proxy caches both with its own
/// compiled-in TTLs (the arguments do not apply). Unknown modes make no claim (empty).
pub fn mode_apis(
    mode: &str,
    token_ttl_secs: f64,
    sar_ttl_secs: f64,
) -> Vec<(&'static str, ApiUse)> {
    let token = ApiUse::Cached {
        ttl_secs: token_ttl_secs,
    };
    let sar = ApiUse::Cached {
        ttl_secs: sar_ttl_secs,
    };
    match mode {
        "tokenreview" => vec![
            (TOKENREVIEWS, ApiUse::EveryRequest),
            (SUBJECTACCESSREVIEWS, ApiUse::EveryRequest),
        ],
        "cached" | "hybrid" => vec![(TOKENREVIEWS, token), (SUBJECTACCESSREVIEWS, sar)],
        "jwks" | "mtls" => vec![
            (TOKENREVIEWS, ApiUse::NotCalled),
            (SUBJECTACCESSREVIEWS, sar),
        ],
        "kube-rbac-proxy" => vec![
            (
                TOKENREVIEWS,
                ApiUse::Cached {
                    ttl_secs: KRP_TOKEN_TTL_SECS,
                },
            ),
            (
                SUBJECTACCESSREVIEWS,
                ApiUse::Cached {
                    ttl_secs: KRP_SAR_ALLOW_TTL_SECS,
                },
            ),
        ],
        "none" => vec![
            (TOKENREVIEWS, ApiUse::NotCalled),
            (SUBJECTACCESSREVIEWS, ApiUse::NotCalled),
        ],
        _ => Vec::new(),
    }
}

/// The load a projection is made for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    pub rps: f64,
    /// Distinct identities sending (Prometheus and Alertmanager replicas, ...).
    pub identities: f64,
    /// Share of requests from identities never seen before (each costs one call per cache).
    pub churn_fraction: f64,
}

/// Calls per second of one API under `workload`, in real time. A cached identity that sends at
/// least once per TTL costs one call per TTL ("1 call per 5 min per token"); one that sends less
/// often costs one call per request, so per identity it is the smaller of its request rate and
/// 1/TTL. New identities each cost a call.
pub fn calls_per_sec(api: ApiUse, w: &Workload) -> f64 {
    let rps = w.rps.max(0.0);
    match api {
        ApiUse::NotCalled => 0.0,
        ApiUse::EveryRequest => rps,
        ApiUse::Cached { ttl_secs } => {
            let churned = w.churn_fraction.clamp(0.0, 1.0) * rps;
            let known = rps - churned;
            let refresh = if ttl_secs > 0.0 {
                w.identities.max(0.0) / ttl_secs
            } else {
                f64::INFINITY
            };
            churned + known.min(refresh)
        }
    }
}

/// Share of requests served without this API call (1.0 when the mode never calls it).
pub fn hit_ratio(api: ApiUse, w: &Workload) -> f64 {
    if w.rps <= 0.0 {
        return 1.0;
    }
    1.0 - (calls_per_sec(api, w) / w.rps).min(1.0)
}

/// Misses an expire-after-create cache with one entry per identity has for `requests`
/// (identity, send time in µs), in any order: each identity misses on its first request and on
/// its first request at or after its entry's creation plus `ttl_us`. This is the exact count
/// the gateway's cache should make for a run, up to requests racing an expiry.
pub fn simulated_misses(requests: impl IntoIterator<Item = (usize, u64)>, ttl_us: u64) -> u64 {
    simulated_misses_from(requests, ttl_us, 0)
}

/// [`simulated_misses`] counting only the misses at or after `from_us`: earlier requests (a
/// warm-up) fill the cache but are not part of the measured window.
fn simulated_misses_from(
    requests: impl IntoIterator<Item = (usize, u64)>,
    ttl_us: u64,
    from_us: u64,
) -> u64 {
    let mut by_identity: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for (identity, t_us) in requests {
        by_identity.entry(identity).or_default().push(t_us);
    }
    let mut misses = 0;
    for times in by_identity.values_mut() {
        times.sort_unstable();
        let mut expires_at: Option<u64> = None;
        for &t in times.iter() {
            if expires_at.is_none_or(|e| t >= e) {
                misses += u64::from(t >= from_us);
                expires_at = Some(t + ttl_us);
            }
        }
    }
    misses
}

/// Whether a measured count agrees with the model's prediction: within 10% or 2 calls,
/// whichever is larger (requests that race an expiry can land on either side of it).
pub fn agrees(measured: u64, predicted: u64) -> bool {
    let tolerance = (predicted as f64 * 0.10).max(2.0);
    (measured as f64 - predicted as f64).abs() <= tolerance
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `identities` round-robin at `rps` for `secs`, as (identity, µs) pairs.
    fn round_robin(rps: f64, identities: usize, secs: f64) -> Vec<(usize, u64)> {
        let n = (rps * secs) as usize;
        (0..n)
            .map(|k| (k % identities, (k as f64 * 1e6 / rps) as u64))
            .collect()
    }

    #[test]
    fn simulation_counts_first_requests_and_refreshes() {
        // Identity 0 at 0, 1 s, 2 s, 5 s with a 2 s TTL: miss at 0, hit at 1, miss at 2 (>= 0+2),
        // miss at 5 (>= 2+2). Identity 1 once.
        let reqs = [
            (0, 0),
            (0, 1_000_000),
            (0, 2_000_000),
            (0, 5_000_000),
            (1, 300),
        ];
        assert_eq!(simulated_misses(reqs, 2_000_000), 4);
        assert_eq!(
            simulated_misses(reqs.iter().rev().copied(), 2_000_000),
            4,
            "any order"
        );
        assert_eq!(simulated_misses([], 1), 0);
        // A warm-up before 1.5 s fills the cache; only the misses from then on count.
        assert_eq!(simulated_misses_from(reqs, 2_000_000, 1_500_000), 2);
    }

    #[test]
    fn projection_equals_the_counts_of_a_synthetic_run() {
        // 10 identities at 100 RPS for 60 s with a 5 s TTL: every identity sends every 0.1 s,
        // so each costs one call per TTL: 10 x 60 / 5 = 120 (the simulation adds at most one
        // partial TTL per identity at the end).
        let ttl = ApiUse::Cached { ttl_secs: 5.0 };
        let w = Workload {
            rps: 100.0,
            identities: 10.0,
            churn_fraction: 0.0,
        };
        let projected = calls_per_sec(ttl, &w) * 60.0;
        let simulated = simulated_misses(round_robin(100.0, 10, 60.0), 5_000_000);
        assert!((projected - 120.0).abs() < 1e-9, "{projected}");
        assert!(
            agrees(simulated, projected as u64),
            "{simulated} vs {projected}"
        );
        assert!((hit_ratio(ttl, &w) - 0.98).abs() < 1e-9);
    }

    #[test]
    fn sparse_identities_cost_a_call_per_request_and_churn_adds_calls() {
        let ttl = ApiUse::Cached { ttl_secs: 300.0 };
        let sparse = Workload {
            rps: 1.0,
            identities: 10_000.0,
            churn_fraction: 0.0,
        };
        assert_eq!(
            calls_per_sec(ttl, &sparse),
            1.0,
            "never more calls than requests"
        );
        assert_eq!(hit_ratio(ttl, &sparse), 0.0);
        let churn = Workload {
            rps: 1_000.0,
            identities: 100.0,
            churn_fraction: 0.05,
        };
        let calls = calls_per_sec(ttl, &churn);
        assert!((calls - (50.0 + 100.0 / 300.0)).abs() < 1e-9, "{calls}");
        assert_eq!(calls_per_sec(ApiUse::EveryRequest, &churn), 1_000.0);
        assert_eq!(calls_per_sec(ApiUse::NotCalled, &churn), 0.0);
        assert_eq!(hit_ratio(ApiUse::NotCalled, &churn), 1.0);
    }

    #[test]
    fn agreement_tolerance() {
        assert!(agrees(100, 109) && !agrees(100, 112));
        assert!(agrees(0, 2) && !agrees(0, 3));
    }
}
