//! The run of each scenario family: ids, durations and the gateway and `loadtest` flags it needs.

use super::matrix::{Credentials, RunPlan};
use super::profile::ProfileSpec;
use crate::results::Scenario;
use serde_json::json;
use std::collections::BTreeMap;

pub(super) fn base(
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

pub(super) fn rate_label(rate: f64) -> String {
    format!("{}", rate.round() as u64)
}

pub(super) fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn secs(value: f64) -> String {
    format!("{value:.2}")
}

pub(super) fn steady(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
    let id = format!("steady/{mode}/{}", rate_label(rate));
    let mut run = base(Scenario::Steady, mode, id, rate, spec.steady_secs, spec);
    run.loadtest_args = vec!["--duration".into(), secs(spec.steady_secs)];
    run
}

pub(super) fn saturation(spec: &ProfileSpec, mode: &str, slo_p99_us: u64) -> RunPlan {
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

pub(super) fn churn(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
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

pub(super) fn cold_burst(spec: &ProfileSpec, mode: &str) -> RunPlan {
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

pub(super) fn revocation(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
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
    if run.needs_crl {
        // A CRL is consulted only in the TLS handshake: on a keep-alive connection opened before the
        // revocation a revoked certificate stays accepted until the connection closes. A new
        // connection per request measures the CRL's own delay (file reload) instead.
        run.loadtest_args.push("--new-connection".into());
        run.params.insert(
            "connection".into(),
            json!("new connection per request (a CRL applies at the handshake only)"),
        );
    }
    run.params.insert("method".into(), json!(method));
    run.params
        .insert("revoke_after_secs".into(), json!(revoke_after_secs));
    run
}

pub(super) fn outage(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
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

pub(super) fn throttle_client_qps(spec: &ProfileSpec, mode: &str) -> RunPlan {
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

pub(super) fn throttle_inflight(spec: &ProfileSpec, mode: &str) -> RunPlan {
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

pub(super) fn handshake(spec: &ProfileSpec, mode: &str, rate: f64) -> RunPlan {
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
