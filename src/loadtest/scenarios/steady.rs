//! `steady`: N identities round-robin at a fixed rate for a duration: latency, hit ratio, API calls.

use super::{Window, base_summary, fixed_rate_phase, round_robin, write};
use crate::loadtest::context::Context;
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::summary::METHOD;
use anyhow::Result;

pub async fn run(ctx: &Context) -> Result<()> {
    let rate = ctx.cli.rate;
    let cpu = CpuWindow::start();
    let request = round_robin(ctx, ctx.credentials.len(), 1);
    let m = fixed_rate_phase(ctx, &ctx.target, "steady", rate, ctx.duration(), request).await?;
    let mut summary = base_summary(ctx, METHOD, rate, Window::of(&m), &cpu);
    write(
        ctx,
        &mut summary,
        &m.outcome.recording,
        m.outcome.started_at,
    )
}
