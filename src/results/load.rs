//! What `loadtest` writes for one scenario run (`LoadSummary`) and the results of each scenario family.

use super::{Comparison, ServerCounts};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Latency percentiles in microseconds, read from an HdrHistogram (3 significant digits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyUs {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

/// One second of a run, counted by intended send time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondSample {
    pub t_secs: u64,
    pub requests: u64,
    pub errors: u64,
    pub p99_us: u64,
}

/// Whether the load generator, not the system under test, limited the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorLimit {
    pub limited: bool,
    /// Human-readable reason when `limited` (e.g. "generator CPU 98%", "achieved 71% of offered").
    #[serde(default)]
    pub reason: Option<String>,
    /// Generator process CPU seconds / wall seconds (1.0 = one full core).
    pub cpu_cores_used: f64,
    /// p99 of the delay the generator itself added before sending (actual send minus the later
    /// of the intended send time and the user's previous completion), microseconds.
    #[serde(default)]
    pub send_delay_p99_us: u64,
    /// Share of the users' time spent waiting on responses (0..1); near 1 means the users
    /// were all waiting on the system under test (raise `--users` or accept it as saturated).
    #[serde(default)]
    pub users_busy: f64,
}

/// One rate step of the `saturation` scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateStep {
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub latency_us: LatencyUs,
    pub error_ratio: f64,
    /// p99 within the SLO and errors <= 1%.
    pub held: bool,
    /// The generator, not the gateway, limited this step (see `GeneratorLimit`).
    #[serde(default)]
    pub generator_limited: bool,
    /// Gateway CPU microseconds per request during the step (local gateways).
    #[serde(default)]
    pub gateway_cpu_us_per_request: Option<f64>,
}

/// One churn level of the `churn` scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChurnPoint {
    /// Fraction of requests from never-seen identities (0.0..=1.0).
    pub churn_fraction: f64,
    pub requests: u64,
    /// Token-cache hit ratio over this level, from the gateway's /metrics (or, for a gateway
    /// without them, one minus the API server's TokenReviews per request).
    pub token_hit_ratio: f64,
    pub tokenreviews: u64,
}

/// Requests and outcomes for one group of identities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    pub requests: u64,
    pub ok: u64,
    /// Status code (or error kind) -> count.
    pub codes: BTreeMap<String, u64>,
}

impl Availability {
    pub fn ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.ok as f64 / self.requests as f64
        }
    }
}

/// `outage` scenario outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutageResult {
    pub window_secs: f64,
    /// Identities whose credentials were used (and so cached) before the outage.
    pub known: Availability,
    /// Identities first seen during the outage.
    pub new: Availability,
    /// From the end of the window to the first success of a new identity.
    #[serde(default)]
    pub recovery_ms: Option<u64>,
    /// Per-second availability across the run (for the chart): (t_secs, ok ratio).
    #[serde(default)]
    pub timeline: Vec<(f64, f64)>,
}

/// `revocation` scenario outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RevocationResult {
    /// "serviceaccount-delete" or "crl".
    pub method: String,
    /// Time from the revocation call returning to the first refusal (401/403), None if never refused.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// How long the scenario kept trying after the revocation.
    pub observed_for_ms: u64,
    /// Requests that still succeeded after revocation.
    pub accepted_after_revocation: u64,
}

/// `cold-burst` scenario outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdBurstResult {
    pub concurrency: u64,
    pub identities: u64,
    /// TokenReviews the API server counted during the burst.
    pub tokenreviews: u64,
    pub subjectaccessreviews: u64,
    pub latency_us: LatencyUs,
}

/// What `loadtest` writes for one scenario run (`--summary-out`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    pub schema_version: u32,
    pub scenario: String,
    pub target: String,
    /// How latency was measured, e.g. "latency from intended send time (fixed-rate schedule), coordinated omission corrected".
    pub method: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub duration_secs: f64,
    pub users: u64,
    pub identities: u64,
    pub latency_us: LatencyUs,
    /// "2xx", "4xx", "5xx", "error" -> percentiles.
    #[serde(default)]
    pub latency_by_class_us: BTreeMap<String, LatencyUs>,
    /// HTTP status code -> count.
    pub status_counts: BTreeMap<String, u64>,
    /// Transport error kind (connect, timeout, tls, ...) -> count.
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    #[serde(default)]
    pub timeseries: Vec<SecondSample>,
    pub generator: GeneratorLimit,
    /// Path of the HdrHistogram V2+Deflate interval log of this run, if written.
    #[serde(default)]
    pub histogram_log: Option<String>,
    /// "keepalive" or "new-connection-per-request".
    #[serde(default)]
    pub connection: String,
    #[serde(default)]
    pub steps: Vec<RateStep>,
    #[serde(default)]
    pub max_held_rps: Option<f64>,
    #[serde(default)]
    pub churn: Vec<ChurnPoint>,
    #[serde(default)]
    pub churn_at_95: Option<f64>,
    #[serde(default)]
    pub cold_burst: Option<ColdBurstResult>,
    #[serde(default)]
    pub revocation: Option<RevocationResult>,
    #[serde(default)]
    pub outage: Option<OutageResult>,
    /// Completion minus actual send time: what a closed-loop tool would have reported
    /// (shown beside `latency_us` to make coordinated omission visible).
    #[serde(default)]
    pub service_time_us: Option<LatencyUs>,
    /// Server-side counts over the measured window (API server, gateway metrics, gateway CPU).
    #[serde(default)]
    pub server: ServerCounts,
    #[serde(default)]
    pub throttle: Option<ThrottleResult>,
    #[serde(default)]
    pub handshake: Option<HandshakeResult>,
    /// Path of goose's own report(s) written beside the summary, if any.
    #[serde(default)]
    pub goose_reports: Vec<String>,
    /// `paired` scenario: several gateways measured in interleaved rounds.
    #[serde(default)]
    pub paired: Option<PairedSummary>,
}

/// What the `paired` scenario measured: the comparison, and each mode's own summary (its slots
/// pooled), which decide turns into one run record per mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedSummary {
    pub comparison: Comparison,
    pub per_mode: BTreeMap<String, LoadSummary>,
}

/// `throttle` scenario outcome: one burst of concurrent requests from cold identities, then
/// the same burst again once the gateway has seen them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThrottleResult {
    pub concurrency: u64,
    pub identities: u64,
    pub cold_latency_us: LatencyUs,
    pub warm_latency_us: LatencyUs,
    /// API-server calls by resource during the cold and the warm burst.
    pub cold_apiserver_calls: BTreeMap<String, u64>,
    pub warm_apiserver_calls: BTreeMap<String, u64>,
    /// API-server 429 answers over both bursts.
    pub apiserver_throttled: u64,
    /// Seconds the gateway's client-side rate limiter made requests wait over both bursts.
    #[serde(default)]
    pub client_throttle_wait_secs: f64,
}

/// `handshake` scenario outcome: the same rate with keep-alive and with a new connection
/// (and so a TLS handshake when the target is https) per request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandshakeResult {
    /// "bearer" or "client-certificate".
    pub credential: String,
    pub keepalive_latency_us: LatencyUs,
    pub new_connection_latency_us: LatencyUs,
    /// Gateway-counted TLS handshakes during each phase (from `--gateway-metrics`).
    #[serde(default)]
    pub keepalive_handshakes: u64,
    #[serde(default)]
    pub new_connection_handshakes: u64,
}
