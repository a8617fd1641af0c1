//! `cold-burst`: C concurrent first requests over a few never-seen identities at once: API
//! calls per identity (coalescing) and the burst's latency.

use super::{Window, base_summary, measured_phase, round_robin, write};
use crate::loadtest::context::Context;
use crate::loadtest::engine::PhasePlan;
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::burst_offsets;
use crate::loadtest::recording::latency_summary;
use crate::loadtest::summary::BURST_METHOD;
use crate::results::ColdBurstResult;
use anyhow::Result;

pub async fn run(ctx: &Context) -> Result<()> {
    let concurrency = ctx.cli.concurrency.max(1);
    let identities = ctx.credentials.len();
    let cpu = CpuWindow::start();
    let plan = PhasePlan {
        name: "cold-burst".into(),
        offsets: burst_offsets(concurrency),
        users: concurrency,
        request: round_robin(ctx, identities, 7),
    };
    let m = measured_phase(ctx, &ctx.target, plan).await?;
    let latency = latency_summary(&m.outcome.recording.histogram(None));
    let mut summary = base_summary(ctx, BURST_METHOD, 0.0, Window::of(&m), &cpu);
    summary.cold_burst = Some(ColdBurstResult {
        concurrency: concurrency as u64,
        identities: identities as u64,
        tokenreviews: m.delta.tokenreviews(),
        subjectaccessreviews: m
            .delta
            .apiserver_calls
            .get("subjectaccessreviews")
            .copied()
            .unwrap_or(0),
        latency_us: latency,
    });
    write(
        ctx,
        &mut summary,
        &m.outcome.recording,
        m.outcome.started_at,
    )
}
