//! The run of each scenario family: ids, durations and the gateway and `loadtest` knobs it needs.

use super::mode::Mode;
use super::plan::RunPlan;
use super::profile::ProfileSpec;
use crate::loadtest::cli::{Cli, RevokeMethod};
use crate::results::Scenario;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

fn base(
    scenario: Scenario,
    modes: Vec<Mode>,
    id: String,
    rate: f64,
    secs: f64,
    spec: &ProfileSpec,
) -> RunPlan {
    let mut load = Cli::new(scenario, Path::new("summary.json"));
    if rate > 0.0 {
        load.rate = rate;
    }
    RunPlan {
        id,
        scenario,
        modes,
        offered_rps: rate,
        duration_secs: secs,
        identities: spec.identities,
        ttl_scale: spec.time_scale,
        client_qps: None,
        load,
        needs_stand_in: false,
        needs_crl: false,
        params: BTreeMap::new(),
    }
    .with_fixed_ttls()
}

impl RunPlan {
    /// A peer's cache TTLs are its own (kube-rbac-proxy's are compiled in): its runs are in real
    /// time and say so.
    fn with_fixed_ttls(mut self) -> RunPlan {
        if self.modes.iter().any(|m| !m.ttls_scale()) && self.ttl_scale != 1.0 {
            self.ttl_scale = 1.0;
            self.params.insert(
                "ttls".into(),
                json!("the peer's own cache TTLs, in real time (the time scale does not apply)"),
            );
        }
        self
    }
}

/// The token cache TTL `mode` runs with, in seconds as run.
fn token_ttl_secs(spec: &ProfileSpec, mode: Mode) -> f64 {
    match mode {
        Mode::KubeRbacProxy => crate::stats::api_model::KRP_TOKEN_TTL_SECS,
        _ => spec.token_ttl_secs(),
    }
}

pub fn rate_label(rate: f64) -> String {
    format!("{}", rate.round() as u64)
}

/// Every mode at once, interleaved in rounds at one rate: one record per mode comes out.
///
/// Its gateways run their TTLs in real time. A paired comparison measures the latency of the
/// steady state, and with TTLs scaled down a cached mode would miss `time_scale` times more often
/// than in production (more still because each gateway idles while the others have their
/// slots): at 100 RPS a few percent of its requests, enough to put the uncached path into its
/// p99. TTL behaviour is measured where it is the subject (churn, revocation, outage).
pub fn paired_steady(spec: &ProfileSpec, modes: &[Mode], rate: f64) -> RunPlan {
    let slot = spec.paired_slot_secs(rate);
    let rounds = spec.paired_rounds_at(rate);
    // A warm-up of half a slot per mode before the rounds.
    let secs = slot * modes.len() as f64 * (rounds as f64 + 0.5);
    let id = format!("steady/{}", rate_label(rate));
    let mut run = base(Scenario::Steady, modes.to_vec(), id, rate, secs, spec);
    run.load.scenario = Scenario::Paired;
    run.load.rounds = rounds;
    run.load.slot_secs = slot;
    run.ttl_scale = 1.0;
    run.params.insert("rounds".into(), json!(rounds));
    run.params.insert("slot_secs".into(), json!(slot));
    run
}

/// One mode alone at a fixed rate (the in-cluster gateway, which is one Deployment).
pub fn steady(spec: &ProfileSpec, mode: Mode, rate: f64) -> RunPlan {
    let id = format!("steady/{}/{}", mode.as_str(), rate_label(rate));
    let mut run = base(
        Scenario::Steady,
        vec![mode],
        id,
        rate,
        spec.steady_secs,
        spec,
    );
    run.load.duration = spec.steady_secs;
    run
}

pub fn saturation(spec: &ProfileSpec, mode: Mode, slo_p99_us: u64) -> RunPlan {
    let rates = spec.saturation_rates();
    let secs: f64 = rates.iter().map(|r| spec.saturation_step_secs_at(*r)).sum();
    let id = format!("saturation/{}", mode.as_str());
    let last = rates.last().copied().unwrap_or(0.0);
    let mut run = base(Scenario::Saturation, vec![mode], id, last, secs, spec);
    let load = &mut run.load;
    load.start_rate = spec.saturation_start_rps;
    load.step_factor = spec.saturation_step_factor;
    load.max_rate = spec.saturation_max_rps;
    load.duration = spec.saturation_step_secs;
    load.min_step_samples = spec.saturation_min_step_samples;
    load.slo_p99_us = slo_p99_us;
    run.params.insert("steps_rps".into(), json!(rates));
    run.params
        .insert("step_secs".into(), json!(spec.saturation_step_secs));
    run.params.insert(
        "min_step_samples".into(),
        json!(spec.saturation_min_step_samples),
    );
    run.params.insert("slo_p99_us".into(), json!(slo_p99_us));
    run
}

pub fn churn(spec: &ProfileSpec, mode: Mode, rate: f64) -> RunPlan {
    let secs = spec.churn_level_secs * spec.churn_levels.len() as f64;
    let id = format!("churn/{}", mode.as_str());
    let mut run = base(Scenario::Churn, vec![mode], id, rate, secs, spec);
    run.load.churn_levels = spec.churn_levels.clone();
    run.load.duration = spec.churn_level_secs;
    run.params
        .insert("churn_levels".into(), json!(spec.churn_levels));
    run.params
        .insert("level_secs".into(), json!(spec.churn_level_secs));
    run
}

pub fn cold_burst(spec: &ProfileSpec, mode: Mode) -> RunPlan {
    let concurrency = spec.cold_burst_concurrency;
    let id = format!("cold-burst/{}", mode.as_str());
    let mut run = base(Scenario::ColdBurst, vec![mode], id, 0.0, 1.0, spec);
    run.identities = spec.identities.min(5);
    run.load.concurrency = concurrency as usize;
    run.params.insert("concurrency".into(), json!(concurrency));
    run
}

/// `apiserver_cache_secs`: how long the API server itself may keep accepting the revoked token.
pub fn revocation(spec: &ProfileSpec, mode: Mode, rate: f64, apiserver_cache_secs: f64) -> RunPlan {
    // Warm the cache first, then watch long enough to see it expire: the TTL plus a margin, plus
    // the API server's own cache for a revoked ServiceAccount (a CRL never asks it).
    let ttl = token_ttl_secs(spec, mode);
    let revoke_after_secs = 1.0_f64.min(ttl / 2.0);
    let crl = mode == Mode::Mtls;
    let server_lag = if crl { 0.0 } else { apiserver_cache_secs * 1.2 };
    let window_secs = revoke_after_secs + (ttl * 1.4).max(2.0) + server_lag;
    let id = format!("revocation/{}", mode.as_str());
    let mut run = base(
        Scenario::Revocation,
        vec![mode],
        id,
        rate.min(100.0),
        window_secs,
        spec,
    );
    run.needs_crl = crl;
    run.load.revoke = if crl {
        RevokeMethod::Crl
    } else {
        RevokeMethod::Sa
    };
    run.load.revoke_after_secs = Some(revoke_after_secs);
    run.load.duration = window_secs;
    if crl {
        // A CRL is consulted only in the TLS handshake: on a keep-alive connection opened before the
        // revocation a revoked certificate stays accepted until the connection closes. A new
        // connection per request measures the CRL's own delay (file reload) instead.
        run.load.new_connection = true;
        run.params.insert(
            "connection".into(),
            json!("new connection per request (a CRL applies at the handshake only)"),
        );
    }
    run.params
        .insert("method".into(), json!(if crl { "crl" } else { "sa" }));
    run.params
        .insert("revoke_after_secs".into(), json!(revoke_after_secs));
    // The report scales only the part of the delay the cache accounts for.
    if !crl {
        run.params.insert("token_ttl_secs".into(), json!(ttl));
        run.params.insert(
            "apiserver_token_cache_secs".into(),
            json!(apiserver_cache_secs),
        );
    }
    run
}

pub fn outage(spec: &ProfileSpec, mode: Mode, rate: f64) -> RunPlan {
    // Shorter than the TTL, so the note's claim (cached tokens keep working) is what is tested.
    let window_secs = (spec.token_ttl_secs() * 0.5).max(1.0);
    let total_secs = window_secs * 2.5;
    let id = format!("outage/{}", mode.as_str());
    let mut run = base(
        Scenario::Outage,
        vec![mode],
        id,
        rate.min(100.0),
        total_secs,
        spec,
    );
    run.needs_stand_in = true;
    run.load.outage_kind = "unavailable".into();
    run.load.outage_at_secs = Some(window_secs * 0.6);
    run.load.outage_secs = window_secs;
    run.load.duration = total_secs;
    run.params
        .insert("outage_kind".into(), json!("unavailable"));
    run.params.insert("window_secs".into(), json!(window_secs));
    run
}

pub fn throttle_client_qps(spec: &ProfileSpec, mode: Mode) -> RunPlan {
    let concurrency = spec.throttle_concurrency;
    let id = format!("throttle/{}/client-qps-50", mode.as_str());
    let mut run = base(Scenario::Throttle, vec![mode], id, 0.0, 2.0, spec);
    // The real gateway's client-go settings: QPS 50, burst 100.
    run.client_qps = Some((50, 100));
    run.load.concurrency = concurrency as usize;
    run.params.insert("kube_qps".into(), json!(50));
    run.params.insert("kube_burst".into(), json!(100));
    run.params.insert("concurrency".into(), json!(concurrency));
    run
}

pub fn throttle_inflight(spec: &ProfileSpec, mode: Mode) -> RunPlan {
    const MAX_INFLIGHT: u32 = 10;
    let concurrency = spec.throttle_concurrency;
    let id = format!("throttle/{}/inflight-{MAX_INFLIGHT}", mode.as_str());
    let mut run = base(Scenario::Throttle, vec![mode], id, 0.0, 2.0, spec);
    run.needs_stand_in = true;
    run.load.concurrency = concurrency as usize;
    run.load.apiserver_max_inflight = Some(MAX_INFLIGHT);
    run.params
        .insert("max_inflight".into(), json!(MAX_INFLIGHT));
    run.params.insert("concurrency".into(), json!(concurrency));
    run
}

pub fn handshake(spec: &ProfileSpec, mode: Mode, rate: f64) -> RunPlan {
    // loadtest runs a keep-alive phase, then a new-connection phase, each this long.
    let id = format!("handshake/{}", mode.as_str());
    let secs = spec.handshake_secs * 2.0;
    let mut run = base(Scenario::Handshake, vec![mode], id, rate, secs, spec);
    run.load.duration = spec.handshake_secs;
    run.params
        .insert("phase_secs".into(), json!(spec.handshake_secs));
    run
}
