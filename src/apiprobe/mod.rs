//! What an API server costs the gateway's auth path, measured against any admin kubeconfig: sequential
//! TokenReview+SAR latency, and the envtest experiment (200 concurrent at client-side QPS/burst limits)
//! through the gateway's own kube client and rate limiter. Results go into results.json and the report.

pub mod cli;
pub mod measure;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig {path}: {reason}")]
    Kubeconfig { path: String, reason: String },
    #[error("setting up the probe identity: {0}")]
    Setup(String),
    #[error("a TokenReview or SubjectAccessReview failed: {0}")]
    Call(String),
    #[error("the review did not authenticate the probe's own token: {0}")]
    NotAuthenticated(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How much to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// Sequential TokenReview+SAR pairs (one at a time, no client limit).
    pub sequential: u32,
    /// Pairs started at once in each burst.
    pub concurrency: u32,
    /// Client-side (qps, burst) of each burst, as client-go's and the gateway's limiter take them.
    pub client_limits: Vec<(f64, u32)>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        // The experiment the design note's gateway ran on envtest, at its two client settings.
        ProbeConfig {
            sequential: 500,
            concurrency: 200,
            client_limits: vec![(50.0, 100), (400.0, 500)],
        }
    }
}

/// A latency distribution in microseconds (HdrHistogram, 3 significant digits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyUs {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

/// One burst of `concurrency` TokenReview+SAR pairs at a client-side limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    pub client_qps: f64,
    pub client_burst: u32,
    pub concurrency: u32,
    /// Per pair, from the burst's start (time spent waiting on the client limiter included).
    pub latency_us: LatencyUs,
    pub wall_ms: u64,
    /// Pairs per second over the burst's wall time.
    pub pairs_per_sec: f64,
    pub errors: u64,
}

/// Everything one probe of one API server measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// "stand-in", "kube-apiserver v1.37.2", a cluster name...
    pub server: String,
    /// TokenReview then SAR, one pair at a time.
    pub sequential_pair_us: LatencyUs,
    /// TokenReview alone within those pairs.
    pub sequential_tokenreview_us: LatencyUs,
    /// Sequential TokenReviews per second (1 / mean TokenReview latency).
    pub sequential_tokenreviews_per_sec: f64,
    pub bursts: Vec<Burst>,
}
