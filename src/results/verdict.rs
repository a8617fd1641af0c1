//! The verdict as results.json carries it: the branch, the mode of an alternative, the sentence a
//! platform lead acts on, and every input of the rule with its interval (computed by
//! `report::verdict`, stored so that other tools need not re-derive it).

use super::Estimate;
use serde::{Deserialize, Serialize};

/// Which way the rule came out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Branch {
    /// TokenReview + cache is enough: its cost fits the budget, its capacity the growth rate,
    /// its API calls the hit-ratio target, and the API server did not throttle it.
    #[serde(rename = "keep-tokenreview")]
    KeepTokenReview,
    /// Throttling persisted with the cache, or the cached gateway cannot carry the growth rate.
    ReconsiderMtls,
    /// TokenReview + cache missed the latency or hit-ratio bar and `Verdict.mode` met it.
    Alternative,
    /// The measurements cannot decide (named in the sentence).
    #[default]
    Inconclusive,
}

impl Branch {
    pub fn as_str(self) -> &'static str {
        match self {
            Branch::KeepTokenReview => "keep-tokenreview",
            Branch::ReconsiderMtls => "reconsider-mtls",
            Branch::Alternative => "alternative",
            Branch::Inconclusive => "inconclusive",
        }
    }
}

/// One input of the rule: what was measured (with its interval when it has one) and the bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerdictInput {
    /// Stable key, e.g. "latency-cost-p99/100", "capacity-per-core", "hit-ratio", "throttling".
    pub key: String,
    pub name: String,
    /// The measured value in words, with its interval.
    pub measured: String,
    pub threshold: String,
    /// Met, not met, or None when not measured or not resolved by the interval.
    pub ok: Option<bool>,
    /// The figure itself with its 95% interval, in `unit`.
    #[serde(default)]
    pub estimate: Option<Estimate>,
    #[serde(default)]
    pub unit: String,
    /// Whether this input decided the branch (named in the sentence).
    #[serde(default)]
    pub decisive: bool,
    /// The key of the input whose resolved interval bounds this one, when this one's own
    /// interval straddled its bar (a p99 cost at a lower rate bounded by the cost at a higher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounded_by: Option<String>,
}

/// The verdict of one results file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub branch: Branch,
    /// The alternative mode (only for `Branch::Alternative`).
    #[serde(default)]
    pub mode: Option<String>,
    pub sentence: String,
    pub rule: String,
    pub inputs: Vec<VerdictInput>,
}
