//! `throttle`: a burst of concurrent requests from cold identities, then the same burst warm,
//! optionally under a small API-server in-flight cap: reproduces client-side/APF queueing
//! without a cache and shows what the cache changes.

use super::{Window, base_summary, measured_phase, round_robin, write};
use crate::loadtest::context::Context;
use crate::loadtest::engine::PhasePlan;
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::burst_offsets;
use crate::loadtest::recording::{Recording, latency_summary};
use crate::loadtest::scrape::{delta, put_faults};
use crate::loadtest::summary::BURST_METHOD;
use crate::results::ThrottleResult;
use anyhow::{Context as _, Result};
use serde_json::json;
use std::time::Duration;

pub async fn run(ctx: &Context) -> Result<()> {
    if let Some(cap) = ctx.cli.apiserver_max_inflight {
        let kube = ctx
            .kube
            .as_ref()
            .context("--apiserver-max-inflight needs --kubeconfig")?;
        put_faults(kube, &json!({ "max_inflight": cap })).await?;
    }
    let result = bursts(ctx).await;
    if ctx.cli.apiserver_max_inflight.is_some()
        && let Some(kube) = &ctx.kube
    {
        put_faults(kube, &json!({})).await?;
    }
    result
}

async fn bursts(ctx: &Context) -> Result<()> {
    let concurrency = ctx.cli.concurrency.max(1);
    let identities = ctx.credentials.len();
    let cpu = CpuWindow::start();
    let before = ctx.probe.snapshot().await?;
    let plan = |name: &str| PhasePlan {
        name: name.into(),
        offsets: burst_offsets(concurrency),
        users: concurrency,
        request: round_robin(ctx, identities, 13),
    };
    let cold = measured_phase(ctx, &ctx.target, plan("throttle-cold")).await?;
    let warm = measured_phase(ctx, &ctx.target, plan("throttle-warm")).await?;
    let after = ctx.probe.snapshot().await?;
    let d = delta(&before, &after);
    let result = ThrottleResult {
        concurrency: concurrency as u64,
        identities: identities as u64,
        cold_latency_us: latency_summary(&cold.outcome.recording.histogram(None)),
        warm_latency_us: latency_summary(&warm.outcome.recording.histogram(None)),
        cold_apiserver_calls: cold.delta.apiserver_calls.clone(),
        warm_apiserver_calls: warm.delta.apiserver_calls.clone(),
        apiserver_throttled: d.apiserver_throttled,
        client_throttle_wait_secs: d.client_throttle_wait_secs,
    };
    let started_at = cold.outcome.started_at;
    let mut combined = Recording::default();
    let cold_elapsed = cold.outcome.elapsed;
    let warm_elapsed = warm.outcome.elapsed;
    combined.absorb(cold.outcome.recording, Duration::ZERO);
    combined.absorb(warm.outcome.recording, cold_elapsed);
    let window = Window {
        recording: &combined,
        elapsed: cold_elapsed + warm_elapsed,
        users: concurrency,
        delta: &d,
    };
    let mut summary = base_summary(ctx, BURST_METHOD, 0.0, window, &cpu);
    summary.throttle = Some(result);
    write(ctx, &mut summary, &combined, started_at)
}
