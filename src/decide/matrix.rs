//! The scenario matrix: which runs a profile makes, with the gateway and loadtest flags of each.

use super::profile::ProfileSpec;
use super::scenario_runs::{
    churn, cold_burst, handshake, outage, rate_label, revocation, saturation, steady,
    throttle_client_qps, throttle_inflight,
};
use crate::results::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;

/// Every gateway auth mode, in the order the report lists them.
pub const ALL_MODES: [&str; 6] = ["none", "tokenreview", "cached", "jwks", "mtls", "hybrid"];

/// How the load identities present themselves to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// ServiceAccount tokens minted through TokenRequest.
    Bearer,
    /// Client certificates from the PKI directory.
    ClientCert,
}

/// One planned scenario run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub id: String,
    pub scenario: Scenario,
    pub mode: String,
    pub offered_rps: f64,
    /// Planned timed window (the bar's length).
    pub duration_secs: f64,
    pub identities: u64,
    pub credentials: Credentials,
    /// Extra gateway flags (beyond listen/TLS/TTL flags).
    pub gateway_args: Vec<String>,
    /// Scenario flags for `loadtest` (beyond host/credentials/outputs).
    pub loadtest_args: Vec<String>,
    /// Needs the stand-in's fault admin endpoint (skipped on a real cluster; faults reset after).
    pub needs_stand_in: bool,
    /// The gateway gets a CRL file the scenario may rewrite.
    pub needs_crl: bool,
    pub params: BTreeMap<String, Value>,
}

/// What the user chose that shapes the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixInput {
    pub modes: Vec<String>,
    /// Empty = every scenario.
    pub scenarios: Vec<Scenario>,
    pub expected_rps: f64,
    pub growth_rps: f64,
    pub slo_p99_us: u64,
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
    // Quick keeps the secondary modes of each scenario out to stay within its time budget.
    let modes_among = |among: &[&str], quick_among: &[&str]| -> Vec<String> {
        let among = if spec.broad { among } else { quick_among };
        input
            .modes
            .iter()
            .filter(|m| among.contains(&m.as_str()))
            .cloned()
            .collect()
    };
    let mut plans = Vec::new();
    if wanted(Scenario::Steady) {
        let mut rates = vec![input.expected_rps];
        if rate_label(input.growth_rps) != rate_label(input.expected_rps) {
            rates.push(input.growth_rps);
        }
        for mode in &input.modes {
            for rate in &rates {
                plans.push(steady(spec, mode, *rate));
            }
        }
    }
    if wanted(Scenario::Saturation) {
        for mode in &input.modes {
            plans.push(saturation(spec, mode, input.slo_p99_us));
        }
    }
    if wanted(Scenario::Churn) {
        for mode in modes_among(&["cached", "hybrid", "jwks"], &["cached"]) {
            plans.push(churn(spec, &mode, input.expected_rps));
        }
    }
    if wanted(Scenario::ColdBurst) {
        for mode in modes_among(
            &["tokenreview", "cached", "jwks", "hybrid"],
            &["tokenreview", "cached"],
        ) {
            plans.push(cold_burst(spec, &mode));
        }
    }
    if wanted(Scenario::Revocation) {
        for mode in modes_among(
            &["tokenreview", "cached", "jwks", "mtls", "hybrid"],
            &["tokenreview", "cached", "jwks", "mtls"],
        ) {
            plans.push(revocation(spec, &mode, input.expected_rps));
        }
    }
    if wanted(Scenario::Outage) {
        for mode in modes_among(
            &["tokenreview", "cached", "jwks", "hybrid"],
            &["tokenreview", "cached", "jwks"],
        ) {
            plans.push(outage(spec, &mode, input.expected_rps));
        }
    }
    if wanted(Scenario::Throttle) {
        for mode in modes_among(&["tokenreview", "cached"], &["tokenreview", "cached"]) {
            plans.push(throttle_client_qps(spec, &mode));
            plans.push(throttle_inflight(spec, &mode));
        }
    }
    if wanted(Scenario::Handshake) {
        for mode in modes_among(&["cached", "mtls"], &["cached", "mtls"]) {
            plans.push(handshake(spec, &mode, input.expected_rps));
        }
    }
    plans
}

/// Rough wall time of a plan on this machine: timed windows plus per-run start-up.
pub fn estimated_secs(plans: &[RunPlan]) -> f64 {
    const PER_RUN_STARTUP_SECS: f64 = 2.5;
    plans
        .iter()
        .map(|p| p.duration_secs + PER_RUN_STARTUP_SECS)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::profile::Profile;

    fn input(modes: &[&str]) -> MatrixInput {
        MatrixInput {
            modes: modes.iter().map(|m| m.to_string()).collect(),
            scenarios: Vec::new(),
            expected_rps: 100.0,
            growth_rps: 1000.0,
            slo_p99_us: 2000,
        }
    }

    #[test]
    fn quick_covers_every_scenario_and_mode_within_five_minutes() {
        let spec = ProfileSpec::of(Profile::Quick);
        let plans = plan(&spec, &input(&ALL_MODES));
        for scenario in Scenario::ALL {
            assert!(
                plans.iter().any(|p| p.scenario == scenario),
                "{scenario:?} missing"
            );
        }
        for mode in ALL_MODES {
            for rate in ["100", "1000"] {
                let id = format!("steady/{mode}/{rate}");
                assert!(plans.iter().any(|p| p.id == id), "{id} missing");
            }
        }
        // Start-up of the stand-in and PKI takes ~15 s more.
        assert!(
            estimated_secs(&plans) + 15.0 <= 300.0,
            "{}",
            estimated_secs(&plans)
        );
    }

    #[test]
    fn standard_takes_about_twenty_minutes() {
        let plans = plan(&ProfileSpec::of(Profile::Standard), &input(&ALL_MODES));
        let minutes = estimated_secs(&plans) / 60.0;
        assert!((15.0..=25.0).contains(&minutes), "{minutes:.1} min");
    }

    #[test]
    fn run_ids_are_unique() {
        let plans = plan(&ProfileSpec::of(Profile::Standard), &input(&ALL_MODES));
        let mut ids: Vec<_> = plans.iter().map(|p| p.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), plans.len());
    }

    #[test]
    fn equal_expected_and_growth_rates_make_one_steady_run() {
        let mut same = input(&["none"]);
        same.growth_rps = 100.0;
        let plans = plan(&ProfileSpec::of(Profile::Tiny), &same);
        let ids: Vec<_> = plans.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["steady/none/100"]);
    }

    #[test]
    fn tiny_runs_steady_only_for_the_chosen_modes() {
        let plans = plan(&ProfileSpec::of(Profile::Tiny), &input(&["none", "cached"]));
        let ids: Vec<_> = plans.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "steady/none/100",
                "steady/none/1000",
                "steady/cached/100",
                "steady/cached/1000"
            ]
        );
    }

    #[test]
    fn named_scenarios_run_even_on_tiny() {
        let mut wanted = input(&["cached"]);
        wanted.scenarios = vec![Scenario::Steady, Scenario::Outage];
        let plans = plan(&ProfileSpec::of(Profile::Tiny), &wanted);
        let ids: Vec<_> = plans.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["steady/cached/100", "steady/cached/1000", "outage/cached"]
        );
        assert!(plans[2].needs_stand_in);
    }

    #[test]
    fn mtls_uses_certificates_and_a_crl_for_revocation() {
        let plans = plan(&ProfileSpec::of(Profile::Quick), &input(&["mtls"]));
        let rev = plans.iter().find(|p| p.id == "revocation/mtls").unwrap();
        assert_eq!(rev.credentials, Credentials::ClientCert);
        assert!(rev.needs_crl);
        assert!(rev.loadtest_args.iter().any(|a| a == "--new-connection"));
        let sa = plan(&ProfileSpec::of(Profile::Quick), &input(&["cached"]));
        let sa = sa.iter().find(|p| p.id == "revocation/cached").unwrap();
        assert!(!sa.loadtest_args.iter().any(|a| a == "--new-connection"));
        assert!(
            plans
                .iter()
                .all(|p| p.credentials == Credentials::ClientCert)
        );
    }
}
