//! `saturation`: steps the rate up until p99 exceeds the SLO or errors exceed 1%; reports the
//! highest rate that held.

use super::{Window, base_summary, round_robin, write};
use crate::loadtest::context::Context;
use crate::loadtest::engine::{PhasePlan, run_phase};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::fixed_rate_offsets;
use crate::loadtest::recording::{Recording, latency_summary};
use crate::loadtest::scrape::delta;
use crate::loadtest::summary::METHOD;
use crate::results::RateStep;
use anyhow::{Result, bail};
use std::time::Duration;

/// Highest error ratio a step may have and still hold.
const MAX_ERROR_RATIO: f64 = 0.01;

pub async fn run(ctx: &Context) -> Result<()> {
    if ctx.cli.step_factor <= 1.0 || ctx.cli.start_rate <= 0.0 {
        bail!("saturation needs --start-rate > 0 and --step-factor > 1");
    }
    let cpu = CpuWindow::start();
    let before = ctx.probe.snapshot().await?;
    let mut combined = Recording::default();
    let mut offset = Duration::ZERO;
    let mut started_at = None;
    let mut steps = Vec::new();
    let mut max_users = 0;
    let mut rate = ctx.cli.start_rate;
    loop {
        let users = ctx.users_for_rate(rate);
        max_users = max_users.max(users);
        let plan = PhasePlan {
            name: format!("saturation-{rate:.0}"),
            offsets: fixed_rate_offsets(rate, ctx.duration(), users),
            users,
            request: round_robin(ctx, ctx.credentials.len(), rate as u64),
        };
        let step_cpu = CpuWindow::start();
        let out = run_phase(&ctx.target, plan).await?;
        let all = latency_summary(&out.recording.histogram(None));
        let ok = out.recording.histogram(Some("2xx")).len();
        let error_ratio = if all.count == 0 {
            1.0
        } else {
            1.0 - ok as f64 / all.count as f64
        };
        let achieved_rps = all.count as f64 / out.elapsed.as_secs_f64().max(1e-3);
        let verdict = crate::loadtest::generator::judge(crate::loadtest::generator::Observed {
            offered_rps: rate,
            achieved_rps,
            cores_used: step_cpu.cores_used(),
            cores_available: crate::loadtest::generator::cores_available(),
            send_delay_p99: Duration::from_micros(out.recording.send_delay().p99),
            users_busy: crate::loadtest::summary::users_busy(
                &out.recording,
                users as u64,
                out.elapsed,
            ),
        });
        let held = all.p99 <= ctx.cli.slo_p99_us
            && error_ratio <= MAX_ERROR_RATIO
            && achieved_rps >= 0.95 * rate;
        tracing::info!(rate, p99_us = all.p99, error_ratio, held, "saturation step");
        steps.push(RateStep {
            offered_rps: rate,
            achieved_rps,
            latency_us: all,
            error_ratio,
            held,
            generator_limited: verdict.limited,
        });
        started_at.get_or_insert(out.started_at);
        let elapsed = out.elapsed;
        combined.absorb(out.recording, offset);
        offset += elapsed;
        // A step the generator could not drive says nothing about the gateway: stop there too.
        if !held || verdict.limited || rate * ctx.cli.step_factor > ctx.cli.max_rate {
            break;
        }
        rate *= ctx.cli.step_factor;
    }
    let after = ctx.probe.snapshot().await?;
    let d = delta(&before, &after);
    let window = Window {
        recording: &combined,
        elapsed: offset,
        users: max_users,
        delta: &d,
    };
    let offered = steps.last().map_or(0.0, |s| s.offered_rps);
    let mut summary = base_summary(ctx, METHOD, offered, window, &cpu);
    summary.max_held_rps = steps
        .iter()
        .filter(|s| s.held)
        .map(|s| s.offered_rps)
        .reduce(f64::max);
    summary.steps = steps;
    write(
        ctx,
        &mut summary,
        &combined,
        started_at.unwrap_or_else(std::time::SystemTime::now),
    )
}
