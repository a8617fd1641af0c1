//! `saturation`: steps the rate up, each step long enough for `--min-step-samples` requests,
//! until the gateway falls behind (achieved < 95% of offered), errors exceed 1%, the generator
//! is the limit, or p99 exceeds ten times the SLO; records every step. Whether a step held
//! against the no-auth floor's step is judged in the report, which has both ramps.

use super::{Window, base_summary, round_robin, write};
use crate::counters::Counters;
use crate::loadtest::context::Context;
use crate::loadtest::engine::{PhasePlan, run_phase};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::fixed_rate_offsets;
use crate::loadtest::recording::{Recording, latency_summary};
use crate::loadtest::summary::METHOD;
use crate::results::RateStep;
use anyhow::{Result, bail};
use std::time::Duration;

/// Highest error ratio a step may have and still hold.
const MAX_ERROR_RATIO: f64 = 0.01;

/// Summed CPU seconds of the `--gateway-pid` processes, read at the step's edges.
fn gateway_cpu_secs(ctx: &Context) -> Option<f64> {
    let pids = &ctx.sources.gateway_pids;
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|&p| crate::procstat::pid_cpu_secs_precise(p))
        .sum()
}

/// A step's length: `--duration`, or longer where that would give too few samples.
fn step_duration(ctx: &Context, rate: f64) -> Duration {
    let for_samples = ctx.cli.min_step_samples as f64 / rate.max(1e-3);
    ctx.duration().max(Duration::from_secs_f64(for_samples))
}

pub async fn run(ctx: &Context) -> Result<()> {
    if ctx.cli.step_factor <= 1.0 || ctx.cli.start_rate <= 0.0 {
        bail!("saturation needs --start-rate > 0 and --step-factor > 1");
    }
    let cpu = CpuWindow::start();
    let before = Counters::scrape(&ctx.sources).await?;
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
            offsets: fixed_rate_offsets(rate, step_duration(ctx, rate), users),
            users,
            request: round_robin(ctx, ctx.credentials.len(), rate as u64),
        };
        let step_cpu = CpuWindow::start();
        let gateway_before = gateway_cpu_secs(ctx);
        let out = run_phase(&ctx.target, plan).await?;
        let gateway_cpu = gateway_before
            .zip(gateway_cpu_secs(ctx))
            .map(|(a, b)| (b - a).max(0.0));
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
        let kept_up = error_ratio <= MAX_ERROR_RATIO && achieved_rps >= 0.95 * rate;
        let held = kept_up && all.p99 <= ctx.cli.slo_p99_us;
        let overloaded = !kept_up || all.p99 > ctx.cli.slo_p99_us.saturating_mul(10);
        tracing::info!(rate, p99_us = all.p99, error_ratio, held, "saturation step");
        let count = all.count;
        steps.push(RateStep {
            offered_rps: rate,
            achieved_rps,
            latency_us: all,
            error_ratio,
            held,
            generator_limited: verdict.limited,
            gateway_cpu_us_per_request: gateway_cpu
                .filter(|_| count > 0)
                .map(|c| c * 1e6 / count as f64),
        });
        started_at.get_or_insert(out.started_at);
        let elapsed = out.elapsed;
        combined.absorb(out.recording, offset);
        offset += elapsed;
        // A step the generator could not drive says nothing about the gateway: stop there too.
        if overloaded || verdict.limited || rate * ctx.cli.step_factor > ctx.cli.max_rate {
            break;
        }
        rate *= ctx.cli.step_factor;
    }
    let after = Counters::scrape(&ctx.sources).await?;
    let d = after.since(&before);
    let window = Window {
        recording: &combined,
        elapsed: offset,
        users: max_users,
        server: &d,
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
