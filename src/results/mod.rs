//! The results schema: what `loadtest` writes for one run (`LoadSummary`) and what `decide`
//! gathers into `reports/results.json` (`Results`). Versioned; fields are only ever added
//! (with `#[serde(default)]`) within one `SCHEMA_VERSION`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod load;
mod paired;
mod verdict;

pub use load::*;
pub use paired::*;
pub use verdict::{Branch, Verdict, VerdictInput};

/// Bump when a field changes meaning or is removed.
/// 2: a run's server-side counts live once, in `LoadSummary.server` (`ServerCounts`), measured by
/// the load generator over exactly its timed window; `RunRecord` no longer repeats them.
/// 3: `Results.verdict` carries the verdict (branch, mode, sentence, inputs with intervals), and
/// `Settings` the latency budget and the identity counts projections are made for.
pub const SCHEMA_VERSION: u32 = 3;

/// A measured figure with its 95% interval (cluster bootstrap over `n` rounds, see `stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    /// Rounds (independent units) behind the interval; 0 for a single measurement.
    #[serde(default)]
    pub n: u64,
}

impl Estimate {
    /// A figure measured once, without an interval.
    pub fn point(value: f64) -> Estimate {
        Estimate {
            value,
            lo: value,
            hi: value,
            n: 0,
        }
    }

    /// Whether the interval includes zero: the difference was not resolved.
    pub fn contains_zero(&self) -> bool {
        self.lo <= 0.0 && self.hi >= 0.0
    }

    /// Every value of the interval scaled by `factor` (e.g. seconds to microseconds).
    pub fn scaled(&self, factor: f64) -> Estimate {
        let (a, b) = (self.lo * factor, self.hi * factor);
        Estimate {
            value: self.value * factor,
            lo: a.min(b),
            hi: a.max(b),
            n: self.n,
        }
    }
}

/// Which scenario family a run belongs to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
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
    /// Several gateways measured in interleaved rounds at one rate: how decide's steady runs
    /// are made (loadtest only; decide selects it as `steady`).
    Paired,
}

impl Scenario {
    /// The scenario families decide runs (paired is how it runs steady).
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
            Scenario::Paired => "paired",
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

impl RunOutcome {
    /// "ok", "failed", "no data" or "skipped".
    pub fn label(&self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed { .. } => "failed",
            RunOutcome::NoData { .. } => "no data",
            RunOutcome::Skipped { .. } => "skipped",
        }
    }
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

/// Server-side counts over one measured window; `None` (or an empty map) means not measured
/// (no such source), never "zero happened".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerCounts {
    /// API-server requests by "resource" or "resource/subresource", from the API server's own
    /// `apiserver_request_total` (the ground truth; non-resource requests left out).
    #[serde(default)]
    pub apiserver_calls: BTreeMap<String, u64>,
    /// API-server answers with code 429 (server-side throttling).
    #[serde(default)]
    pub apiserver_throttled: Option<u64>,
    #[serde(default)]
    pub token_cache: Option<CacheCounts>,
    #[serde(default)]
    pub sar_cache: Option<CacheCounts>,
    /// Completed TLS handshakes the gateway counted.
    #[serde(default)]
    pub tls_handshakes: Option<u64>,
    #[serde(default)]
    pub tls_handshake_failures: Option<u64>,
    /// Seconds the gateway's client-side rate limiter made API calls wait (summed over calls).
    #[serde(default)]
    pub client_throttle_wait_secs: Option<f64>,
    /// API calls the gateway says it made, by api (tokenreview, subjectaccessreview, jwks).
    #[serde(default)]
    pub gateway_apiserver_calls: BTreeMap<String, u64>,
    /// CPU seconds (user + system) of the gateway process(es), from /proc.
    #[serde(default)]
    pub gateway_cpu_secs: Option<f64>,
    /// The share of `gateway_cpu_secs` spent by the app behind a proxy (kube-rbac-proxy's
    /// upstream), when the target is one.
    #[serde(default)]
    pub upstream_cpu_secs: Option<f64>,
}

impl ServerCounts {
    const EMPTY: ServerCounts = ServerCounts {
        apiserver_calls: BTreeMap::new(),
        apiserver_throttled: None,
        token_cache: None,
        sar_cache: None,
        tls_handshakes: None,
        tls_handshake_failures: None,
        client_throttle_wait_secs: None,
        gateway_apiserver_calls: BTreeMap::new(),
        gateway_cpu_secs: None,
        upstream_cpu_secs: None,
    };

    /// TokenReviews: the API server's count, else the gateway's own.
    pub fn tokenreviews(&self) -> Option<u64> {
        self.api_calls("tokenreviews", "tokenreview")
    }

    /// SubjectAccessReviews: the API server's count, else the gateway's own.
    pub fn subjectaccessreviews(&self) -> Option<u64> {
        self.api_calls("subjectaccessreviews", "subjectaccessreview")
    }

    fn api_calls(&self, resource: &str, gateway_api: &str) -> Option<u64> {
        // Which side was scraped shows in its always-present counters.
        if self.apiserver_throttled.is_some() {
            Some(self.apiserver_calls.get(resource).copied().unwrap_or(0))
        } else if self.client_throttle_wait_secs.is_some() {
            Some(
                self.gateway_apiserver_calls
                    .get(gateway_api)
                    .copied()
                    .unwrap_or(0),
            )
        } else {
            None
        }
    }

    /// Adds another window's counts (for a run made of separate windows, e.g. paired slots).
    /// A figure measured in either window is measured in the sum.
    pub fn absorb(&mut self, other: &ServerCounts) {
        fn add<T: Copy + std::ops::Add<Output = T>>(a: &mut Option<T>, b: Option<T>) {
            *a = match (*a, b) {
                (Some(x), Some(y)) => Some(x + y),
                (x, y) => x.or(y),
            };
        }
        fn add_map(a: &mut BTreeMap<String, u64>, b: &BTreeMap<String, u64>) {
            for (k, v) in b {
                *a.entry(k.clone()).or_default() += v;
            }
        }
        let add_cache = |a: &mut Option<CacheCounts>, b: &Option<CacheCounts>| {
            if let Some(b) = b {
                let a = a.get_or_insert_with(CacheCounts::default);
                a.hits += b.hits;
                a.misses += b.misses;
            }
        };
        add_map(&mut self.apiserver_calls, &other.apiserver_calls);
        add(&mut self.apiserver_throttled, other.apiserver_throttled);
        add_cache(&mut self.token_cache, &other.token_cache);
        add_cache(&mut self.sar_cache, &other.sar_cache);
        add(&mut self.tls_handshakes, other.tls_handshakes);
        add(
            &mut self.tls_handshake_failures,
            other.tls_handshake_failures,
        );
        add(
            &mut self.client_throttle_wait_secs,
            other.client_throttle_wait_secs,
        );
        add_map(
            &mut self.gateway_apiserver_calls,
            &other.gateway_apiserver_calls,
        );
        add(&mut self.gateway_cpu_secs, other.gateway_cpu_secs);
        add(&mut self.upstream_cpu_secs, other.upstream_cpu_secs);
    }

    /// Whether the API server answered 429 or the client-side limiter made calls wait.
    pub fn throttled(&self) -> bool {
        self.apiserver_throttled.unwrap_or(0) > 0
            || self.client_throttle_wait_secs.unwrap_or(0.0) > 0.0
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
}

impl RunRecord {
    /// The run's server-side counts (empty when it produced no load summary).
    pub fn server(&self) -> &ServerCounts {
        static NONE: ServerCounts = ServerCounts::EMPTY;
        self.load.as_ref().map_or(&NONE, |l| &l.server)
    }

    /// The run's server-side counts, for building records (adds an empty load summary if none).
    pub fn server_mut(&mut self) -> &mut ServerCounts {
        &mut self.load.get_or_insert_with(Default::default).server
    }
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
    /// SubjectAccessReview cache TTL for allowed answers (real time), seconds.
    #[serde(default = "default_sar_ttl")]
    pub sar_ttl_secs_real: f64,
    /// The p99 latency authentication may add over the no-auth floor, microseconds (the note's
    /// cached-latency claim, 2 ms, read as a cost).
    #[serde(default = "default_budget")]
    pub latency_budget_us: u64,
    /// Identity counts (Prometheus and Alertmanager replicas) API calls are projected for.
    #[serde(default = "default_identities")]
    pub identities: Vec<u64>,
}

fn default_sar_ttl() -> f64 {
    300.0
}

fn default_budget() -> u64 {
    2_000
}

fn default_identities() -> Vec<u64> {
    vec![10, 100, 1_000]
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            expected_rps: 100.0,
            growth_rps: 1000.0,
            slo_p99_us: 2000,
            hit_ratio_target: 0.95,
            token_ttl_secs_real: 300.0,
            sar_ttl_secs_real: default_sar_ttl(),
            latency_budget_us: default_budget(),
            identities: default_identities(),
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
    /// Modes measured paired and interleaved, one comparison per rate.
    #[serde(default)]
    pub comparisons: Vec<Comparison>,
    /// The verdict on these results (written by decide and `gatebench report`).
    #[serde(default)]
    pub verdict: Option<Verdict>,
}
