//! The scenario matrix: which runs a profile makes, with the gateway and loadtest flags of each.

use super::profile::ProfileSpec;
use crate::results::Scenario;
use serde_json::{Value, json};
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

fn base(
    scenario: Scenario,
    mode: &str,
    id: String,
    rate: f64,
    secs: f64,
    spec: &ProfileSpec,
) -> RunPlan {
    RunPlan {
        id,
        scenario,
        mode: mode.to_string(),
        offered_rps: rate,
        duration_secs: secs,
        identities: spec.identities,
        credentials: if mode == "mtls" {
            Credentials::ClientCert
        } else {
            Credentials::Bearer
        },
        gateway_args: Vec::new(),
        loadtest_args: Vec::new(),
        needs_stand_in: false,
        needs_crl: false,
        params: BTreeMap::new(),
    }
}

fn rate_label(rate: f64) -> String {
    format!("{}", rate.round() as u64)
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn secs(value: f64) -> String {
    format!("{value:.2}")
}

fn steady(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
    let id = format!("steady/{mode}/{}", rate_label(rate));
    let mut run = base(Scenario::Steady, mode, id, rate, spec.steady_secs, spec);
    run.loadtest_args = vec!["--duration".into(), secs(spec.steady_secs)];
    run
}

fn saturation(spec: &ProfileSpec, mode: &str, slo_p99_us: u64) -> RunPlan {
    let rates = spec.saturation_rates();
    let mut run = base(
        Scenario::Saturation,
        mode,
        format!("saturation/{mode}"),
        rates.last().copied().unwrap_or(0.0),
        spec.saturation_step_secs * rates.len() as f64,
        spec,
    );
    run.loadtest_args = vec![
        "--start-rate".into(),
        spec.saturation_start_rps.to_string(),
        "--step-factor".into(),
        spec.saturation_step_factor.to_string(),
        "--max-rate".into(),
        spec.saturation_max_rps.to_string(),
        "--duration".into(),
        secs(spec.saturation_step_secs),
        "--slo-p99-us".into(),
        slo_p99_us.to_string(),
    ];
    run.params.insert("steps_rps".into(), json!(rates));
    run.params
        .insert("step_secs".into(), json!(spec.saturation_step_secs));
    run.params.insert("slo_p99_us".into(), json!(slo_p99_us));
    run
}

fn churn(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
    let levels = spec.churn_levels.len() as f64;
    let mut run = base(
        Scenario::Churn,
        mode,
        format!("churn/{mode}"),
        rate,
        spec.churn_level_secs * levels,
        spec,
    );
    run.loadtest_args = vec![
        "--churn-levels".into(),
        list(&spec.churn_levels),
        "--duration".into(),
        secs(spec.churn_level_secs),
    ];
    run.params
        .insert("churn_levels".into(), json!(spec.churn_levels));
    run.params
        .insert("level_secs".into(), json!(spec.churn_level_secs));
    run
}

fn cold_burst(spec: &ProfileSpec, mode: &str) -> RunPlan {
    let concurrency = spec.cold_burst_concurrency;
    let identities = spec.identities.min(5);
    let mut run = base(
        Scenario::ColdBurst,
        mode,
        format!("cold-burst/{mode}"),
        0.0,
        1.0,
        spec,
    );
    run.identities = identities;
    run.loadtest_args = vec!["--concurrency".into(), concurrency.to_string()];
    run.params.insert("concurrency".into(), json!(concurrency));
    run
}

fn revocation(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
    // Warm the cache first, then watch long enough to see it expire: the TTL plus a margin.
    let revoke_after_secs = 1.0_f64.min(spec.token_ttl_secs() / 2.0);
    let window_secs = revoke_after_secs + (spec.token_ttl_secs() * 1.4).max(2.0);
    let mut run = base(
        Scenario::Revocation,
        mode,
        format!("revocation/{mode}"),
        rate.min(100.0),
        window_secs,
        spec,
    );
    let method = if mode == "mtls" { "crl" } else { "sa" };
    run.needs_crl = method == "crl";
    run.loadtest_args = vec![
        "--revoke".into(),
        method.into(),
        "--revoke-after-secs".into(),
        secs(revoke_after_secs),
        "--duration".into(),
        secs(window_secs),
    ];
    run.params.insert("method".into(), json!(method));
    run.params
        .insert("revoke_after_secs".into(), json!(revoke_after_secs));
    run
}

fn outage(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
    // Shorter than the TTL, so the note's claim (cached tokens keep working) is what is tested.
    let window_secs = (spec.token_ttl_secs() * 0.5).max(1.0);
    let at_secs = window_secs * 0.6;
    let total_secs = window_secs * 2.5;
    let mut run = base(
        Scenario::Outage,
        mode,
        format!("outage/{mode}"),
        rate.min(100.0),
        total_secs,
        spec,
    );
    run.needs_stand_in = true;
    run.loadtest_args = vec![
        "--outage-kind".into(),
        "unavailable".into(),
        "--outage-at-secs".into(),
        secs(at_secs),
        "--outage-secs".into(),
        secs(window_secs),
        "--duration".into(),
        secs(total_secs),
    ];
    run.params
        .insert("outage_kind".into(), json!("unavailable"));
    run.params.insert("window_secs".into(), json!(window_secs));
    run
}

fn throttle_client_qps(spec: &ProfileSpec, mode: &str) -> RunPlan {
    let concurrency = spec.throttle_concurrency;
    let mut run = base(
        Scenario::Throttle,
        mode,
        format!("throttle/{mode}/client-qps-50"),
        0.0,
        2.0,
        spec,
    );
    // The real gateway's client-go settings: QPS 50, burst 100.
    run.gateway_args = vec![
        "--kube-qps".into(),
        "50".into(),
        "--kube-burst".into(),
        "100".into(),
    ];
    run.loadtest_args = vec!["--concurrency".into(), concurrency.to_string()];
    run.params.insert("kube_qps".into(), json!(50));
    run.params.insert("kube_burst".into(), json!(100));
    run.params.insert("concurrency".into(), json!(concurrency));
    run
}

fn throttle_inflight(spec: &ProfileSpec, mode: &str) -> RunPlan {
    const MAX_INFLIGHT: u32 = 10;
    let concurrency = spec.throttle_concurrency;
    let mut run = base(
        Scenario::Throttle,
        mode,
        format!("throttle/{mode}/inflight-{MAX_INFLIGHT}"),
        0.0,
        2.0,
        spec,
    );
    run.needs_stand_in = true;
    run.loadtest_args = vec![
        "--concurrency".into(),
        concurrency.to_string(),
        "--apiserver-max-inflight".into(),
        MAX_INFLIGHT.to_string(),
    ];
    run.params
        .insert("max_inflight".into(), json!(MAX_INFLIGHT));
    run.params.insert("concurrency".into(), json!(concurrency));
    run
}

fn handshake(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
    // loadtest runs a keep-alive phase, then a new-connection phase, each this long.
    let mut run = base(
        Scenario::Handshake,
        mode,
        format!("handshake/{mode}"),
        rate,
        spec.handshake_secs * 2.0,
        spec,
    );
    run.loadtest_args = vec!["--duration".into(), secs(spec.handshake_secs)];
    run.params
        .insert("phase_secs".into(), json!(spec.handshake_secs));
    run
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
        assert!(
            plans
                .iter()
                .all(|p| p.credentials == Credentials::ClientCert)
        );
    }
}
