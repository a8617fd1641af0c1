//! The scenario matrix: which runs a profile makes, in run order.

use super::mode::Mode;
use super::plan::RunPlan;
use super::profile::ProfileSpec;
use super::scenario_runs::{
    churn, cold_burst, handshake, outage, paired_steady, rate_label, revocation, saturation,
    steady, throttle_client_qps, throttle_inflight,
};
use crate::gateway::AuthMode;
use crate::results::Scenario;
use clap::ValueEnum;

/// The reference gateway's auth modes (the default of `--modes`), in the order the report
/// lists them.
pub fn gateway_modes() -> Vec<Mode> {
    AuthMode::value_variants()
        .iter()
        .map(|&a| Mode::from(a))
        .collect()
}

/// What the user chose that shapes the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixInput {
    pub modes: Vec<Mode>,
    /// Empty = every scenario.
    pub scenarios: Vec<Scenario>,
    pub expected_rps: f64,
    pub growth_rps: f64,
    pub slo_p99_us: u64,
    /// Steady runs as paired comparisons of every mode at once (needs a local gateway per mode).
    pub paired: bool,
    /// How long the target API server itself keeps accepting a revoked token (kube-apiserver
    /// caches successful token authentications 10 s; the stand-in does not), in seconds: the
    /// revocation runs watch that much longer.
    pub apiserver_token_cache_secs: f64,
}

/// The whole matrix for a profile, in run order.
pub fn plan(spec: &ProfileSpec, input: &MatrixInput) -> Vec<RunPlan> {
    // Named scenarios run even on a profile that would leave them out (tiny), for tests.
    let wanted = |s: Scenario| {
        if input.scenarios.is_empty() {
            spec.full_matrix || s == Scenario::Steady
        } else {
            input.scenarios.contains(&s)
        }
    };
    // Quick keeps the secondary gateway modes of each scenario out to stay within its time
    // budget. Peers (kube-rbac-proxy, an external gateway) are only there when asked for, and
    // then run every scenario that takes them.
    let among_modes = |broad: &[Mode], quick: &[Mode], peers: bool| -> Vec<Mode> {
        let among = if spec.broad { broad } else { quick };
        input
            .modes
            .iter()
            .copied()
            .filter(|m| among.contains(m) || (peers && m.is_peer()))
            .collect()
    };
    let among = |broad: &[Mode], quick: &[Mode]| among_modes(broad, quick, true);
    use Mode::*;
    let mut plans = Vec::new();
    if wanted(Scenario::Steady) {
        let mut rates = vec![input.expected_rps];
        if rate_label(input.growth_rps) != rate_label(input.expected_rps) {
            rates.push(input.growth_rps);
        }
        for rate in rates {
            if input.paired {
                plans.push(paired_steady(spec, &paired_modes(&input.modes), rate));
            } else {
                plans.extend(input.modes.iter().map(|m| steady(spec, *m, rate)));
            }
        }
    }
    if wanted(Scenario::Saturation) {
        // The floor first: the others' steps are judged against its steps.
        let modes = among(
            &[None, Tokenreview, Cached, Jwks, Mtls, Hybrid],
            &[None, Cached, Mtls],
        );
        for mode in modes {
            plans.push(saturation(spec, mode, input.slo_p99_us));
        }
    }
    if wanted(Scenario::Churn) {
        for mode in among(&[Cached, Hybrid, Jwks], &[Cached]) {
            plans.push(churn(spec, mode, input.expected_rps));
        }
    }
    if wanted(Scenario::ColdBurst) {
        let modes = among(&[Tokenreview, Cached, Jwks, Hybrid], &[Tokenreview, Cached]);
        for mode in modes {
            plans.push(cold_burst(spec, mode));
        }
    }
    if wanted(Scenario::Revocation) {
        let modes = among(
            &[Tokenreview, Cached, Jwks, Mtls, Hybrid],
            &[Tokenreview, Cached, Jwks, Mtls],
        );
        for mode in modes {
            plans.push(revocation(
                spec,
                mode,
                input.expected_rps,
                input.apiserver_token_cache_secs,
            ));
        }
    }
    if wanted(Scenario::Outage) {
        let modes = among(
            &[Tokenreview, Cached, Jwks, Hybrid],
            &[Tokenreview, Cached, Jwks],
        );
        for mode in modes {
            plans.push(outage(spec, mode, input.expected_rps));
        }
    }
    if wanted(Scenario::Throttle) {
        for mode in among(&[Tokenreview, Cached], &[Tokenreview, Cached]) {
            plans.push(throttle_client_qps(spec, mode));
            plans.push(throttle_inflight(spec, mode));
        }
    }
    if wanted(Scenario::Handshake) {
        // A TLS handshake's cost is measured on gatebench's own listener only.
        for mode in among_modes(&[Cached, Mtls], &[Cached, Mtls], false) {
            plans.push(handshake(spec, mode, input.expected_rps));
        }
    }
    plans
}

/// A paired comparison always includes the floor every cost is measured against.
fn paired_modes(modes: &[Mode]) -> Vec<Mode> {
    let mut out = modes.to_vec();
    if !out.contains(&Mode::None) {
        out.insert(0, Mode::None);
    }
    out
}

/// Rough wall time of a plan on this machine: timed windows plus per-run start-up.
pub fn estimated_secs(plans: &[RunPlan]) -> f64 {
    const PER_RUN_STARTUP_SECS: f64 = 2.5;
    // Each slot of a paired run also scrapes the API server and the gateway twice.
    const PER_SLOT_SECS: f64 = 0.03;
    plans
        .iter()
        .map(|p| {
            let slots = if p.is_paired() {
                (p.load.rounds * p.modes.len()) as f64
            } else {
                0.0
            };
            p.duration_secs + PER_RUN_STARTUP_SECS + slots * PER_SLOT_SECS
        })
        .sum()
}

#[cfg(test)]
mod tests;
