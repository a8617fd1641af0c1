//! Paired comparisons: modes measured in interleaved rounds at one rate, each figure with its
//! interval and as a cost over the no-auth floor of the same rounds (computed in `stats`).

use super::{Estimate, GeneratorLimit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Latency quantiles, microseconds, each with its interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p50: Option<Estimate>,
    pub p90: Option<Estimate>,
    pub p99: Option<Estimate>,
}

/// One mode of a paired comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeComparison {
    pub mode: String,
    /// Rounds in which this mode (and, for a cost, the floor) was measured.
    pub rounds: u64,
    pub requests: u64,
    /// Requests that did not end in a 2xx.
    pub errors: u64,
    /// Absolute end-to-end latency on this machine, its slots pooled.
    pub latency_us: Quantiles,
    /// Latency over the floor's in the same rounds (None for the floor itself).
    #[serde(default)]
    pub cost_us: Option<Quantiles>,
    /// Gateway CPU microseconds per request.
    #[serde(default)]
    pub cpu_us_per_request: Option<Estimate>,
    /// Gateway CPU per request over the floor's in the same rounds.
    #[serde(default)]
    pub cpu_cost_us_per_request: Option<Estimate>,
}

/// The API-call model's prediction for one mode and API, beside the API server's count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCheck {
    pub mode: String,
    /// "tokenreviews" or "subjectaccessreviews".
    pub api: String,
    /// The cache TTL the model used, as run (scaled) seconds; None for one call per request.
    #[serde(default)]
    pub ttl_secs: Option<f64>,
    pub requests: u64,
    pub predicted: u64,
    /// What the API server counted during this mode's slots (None when not scraped).
    #[serde(default)]
    pub measured: Option<u64>,
    #[serde(default)]
    pub agrees: Option<bool>,
}

/// Modes measured paired and interleaved at one offered rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// E.g. "steady/100".
    pub id: String,
    pub offered_rps: f64,
    /// The no-auth mode every cost is measured against.
    pub floor: String,
    pub slot_secs: f64,
    pub rounds: u64,
    /// Modes in the order each round ran them (rotated round by round).
    pub order: Vec<Vec<String>>,
    /// How the comparison was measured and its intervals computed.
    pub method: String,
    pub modes: Vec<ModeComparison>,
    #[serde(default)]
    pub model_checks: Vec<ModelCheck>,
    /// The generator over the whole comparison (send delay, CPU).
    #[serde(default)]
    pub generator: GeneratorLimit,
    /// Per-slot figures, for the spread across rounds: (round, mode, p50 µs, p99 µs).
    #[serde(default)]
    pub slots: Vec<SlotFigures>,
    /// Anything about the comparison a reader must know (e.g. a gateway that failed a round).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One slot's own figures (no interval: one slot is one sample of the machine's state).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotFigures {
    pub round: u64,
    pub mode: String,
    pub requests: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    #[serde(default)]
    pub gateway_cpu_us_per_request: Option<f64>,
}

impl Comparison {
    pub fn mode(&self, mode: &str) -> Option<&ModeComparison> {
        self.modes.iter().find(|m| m.mode == mode)
    }

    /// Model checks by mode.
    pub fn checks_by_mode(&self) -> BTreeMap<&str, Vec<&ModelCheck>> {
        let mut out: BTreeMap<&str, Vec<&ModelCheck>> = BTreeMap::new();
        for c in &self.model_checks {
            out.entry(c.mode.as_str()).or_default().push(c);
        }
        out
    }
}
