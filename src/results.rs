//! The results schema: what `loadtest` writes for one run (`LoadSummary`) and what `decide`
//! gathers into `reports/results.json` (`Results`). Versioned; fields are only ever added
//! (with `#[serde(default)]`) within one `SCHEMA_VERSION`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bump when a field changes meaning or is removed.
pub const SCHEMA_VERSION: u32 = 1;

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
}

/// One churn level of the `churn` scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChurnPoint {
    /// Fraction of requests from never-seen identities (0.0..=1.0).
    pub churn_fraction: f64,
    pub requests: u64,
    /// Token-cache hit ratio over this level, from the gateway's /metrics.
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
    /// API-server requests during the measured window by resource, from its /metrics
    /// (empty when no `--kubeconfig` was given).
    #[serde(default)]
    pub apiserver_calls: BTreeMap<String, u64>,
    /// API-server answers with code 429 during the measured window.
    #[serde(default)]
    pub apiserver_throttled: u64,
    /// Gateway cache counts during the measured window, from `--gateway-metrics`.
    #[serde(default)]
    pub token_cache: Option<CacheCounts>,
    #[serde(default)]
    pub sar_cache: Option<CacheCounts>,
    #[serde(default)]
    pub throttle: Option<ThrottleResult>,
    #[serde(default)]
    pub handshake: Option<HandshakeResult>,
    /// Path of goose's own report(s) written beside the summary, if any.
    #[serde(default)]
    pub goose_reports: Vec<String>,
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

/// Which scenario family a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Steady,
    Saturation,
    Churn,
    ColdBurst,
    Revocation,
    Outage,
    Throttle,
    Handshake,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Steady,
        Scenario::Saturation,
        Scenario::Churn,
        Scenario::ColdBurst,
        Scenario::Revocation,
        Scenario::Outage,
        Scenario::Throttle,
        Scenario::Handshake,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::Saturation => "saturation",
            Scenario::Churn => "churn",
            Scenario::ColdBurst => "cold-burst",
            Scenario::Revocation => "revocation",
            Scenario::Outage => "outage",
            Scenario::Throttle => "throttle",
            Scenario::Handshake => "handshake",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RunOutcome {
    Ok,
    /// A child process failed or the run errored.
    Failed {
        error: String,
    },
    /// The run finished but produced no measurements.
    NoData {
        reason: String,
    },
    /// Not run on purpose (e.g. a fault scenario on a real cluster).
    Skipped {
        reason: String,
    },
}

/// Hits and misses of one gateway cache during a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
}

impl CacheCounts {
    pub fn hit_ratio(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 / total as f64)
    }
}

/// One scenario run in `results.json`: the load summary plus the server-side deltas scraped
/// from /metrics before and after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique within a results file, e.g. "steady/cached/100".
    pub id: String,
    pub scenario: Scenario,
    /// Gateway auth mode: none, tokenreview, cached, jwks, mtls, hybrid.
    pub mode: String,
    pub offered_rps: f64,
    /// Scenario knobs as given (kube_qps, inflight cap, churn levels, ...).
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    pub outcome: RunOutcome,
    #[serde(default)]
    pub load: Option<LoadSummary>,
    /// Wall time of the timed window in seconds (scaled time, as run).
    pub duration_secs: f64,
    /// API-server requests during the run by resource (tokenreviews, subjectaccessreviews, ...),
    /// from the API server's own `apiserver_request_total`.
    #[serde(default)]
    pub apiserver_calls: BTreeMap<String, u64>,
    /// API-server answers with code 429 during the run (server-side throttling).
    #[serde(default)]
    pub apiserver_throttled: u64,
    /// Seconds the gateway's client-side rate limiter made requests wait, if it reports it.
    #[serde(default)]
    pub client_throttle_wait_secs: f64,
    #[serde(default)]
    pub token_cache: Option<CacheCounts>,
    #[serde(default)]
    pub sar_cache: Option<CacheCounts>,
    /// Gateway process CPU seconds (user+system) during the run, from /proc.
    #[serde(default)]
    pub gateway_cpu_secs: f64,
    #[serde(default)]
    pub tls_handshakes: u64,
}

/// Where and how the results were measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub gatebench_version: String,
    #[serde(default)]
    pub git_commit: Option<String>,
    pub rustc_version: String,
    pub os: String,
    pub cpu_model: String,
    pub cpus: usize,
    /// quick, standard, full (or a custom name).
    pub profile: String,
    /// Real seconds per run second for TTLs: 1.0 = real time; 10.0 = a 300 s TTL ran as 30 s.
    pub time_scale: f64,
    /// "embedded" or "kubeconfig:PATH", with " (gateway in-cluster)" when the gateway ran in the cluster.
    pub target: String,
    pub command_line: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// How latency was measured (coordinated omission statement).
    pub latency_method: String,
    /// Whether gateway and generator ran pinned to separate CPUs.
    #[serde(default)]
    pub pinned: bool,
    /// `kube-apiserver --version` of a `kube-apiserver` target (e.g. "v1.37.2").
    #[serde(default)]
    pub kube_apiserver_version: Option<String>,
    /// `etcd --version` of a `kube-apiserver` target (e.g. "3.7.3").
    #[serde(default)]
    pub etcd_version: Option<String>,
}

/// The thresholds the verdict is computed against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub expected_rps: f64,
    pub growth_rps: f64,
    pub slo_p99_us: u64,
    pub hit_ratio_target: f64,
    /// Token-cache TTL as the design note states it (real time), seconds.
    pub token_ttl_secs_real: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            expected_rps: 100.0,
            growth_rps: 1000.0,
            slo_p99_us: 2000,
            hit_ratio_target: 0.95,
            token_ttl_secs_real: 300.0,
        }
    }
}

/// One criterion estimate read from `target/criterion/**/new/estimates.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MicroBench {
    /// "group/function[/parameter]".
    pub id: String,
    pub median_ns: f64,
    pub lower_ns: f64,
    pub upper_ns: f64,
}

/// The whole of `reports/results.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    /// True when the run was interrupted (Ctrl-C) or a child failed before the matrix finished.
    pub partial: bool,
    pub environment: Environment,
    pub settings: Settings,
    pub runs: Vec<RunRecord>,
    #[serde(default)]
    pub microbenchmarks: Vec<MicroBench>,
}
