//! The scenario families, one file each, and the helpers they share.

mod churn;
mod cold_burst;
mod handshake;
mod outage;
mod revocation;
mod saturation;
mod steady;
mod throttle;

use crate::loadtest::body::Bodies;
use crate::loadtest::cli::ScenarioName;
use crate::loadtest::context::Context;
use crate::loadtest::engine::{PhaseOutcome, PhasePlan, RequestSpec, Target, run_phase};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::fixed_rate_offsets;
use crate::loadtest::recording::Recording;
use crate::loadtest::scrape::{Delta, delta};
use crate::loadtest::summary::{self, RunFacts};
use crate::results::LoadSummary;
use anyhow::Result;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub async fn run(ctx: &Context) -> Result<()> {
    match ctx.cli.scenario {
        ScenarioName::Steady => steady::run(ctx).await,
        ScenarioName::Saturation => saturation::run(ctx).await,
        ScenarioName::Churn => churn::run(ctx).await,
        ScenarioName::ColdBurst => cold_burst::run(ctx).await,
        ScenarioName::Revocation => revocation::run(ctx).await,
        ScenarioName::Outage => outage::run(ctx).await,
        ScenarioName::Throttle => throttle::run(ctx).await,
        ScenarioName::Handshake => handshake::run(ctx).await,
    }
}

/// Microseconds from `start` to `at` (0 if `at` came first).
pub fn offset_us(start: SystemTime, at: SystemTime) -> u64 {
    at.duration_since(start).map_or(0, |d| d.as_micros() as u64)
}

/// Round-robin over `identities` credentials with webhook bodies: the common request shape.
pub fn round_robin(
    ctx: &Context,
    identities: usize,
    seed: u64,
) -> crate::loadtest::engine::RequestFn {
    let bodies = Arc::new(Bodies::new(ctx.cli.duplicate_fraction, ctx.body_seed(seed)));
    let n = identities.max(1) as u64;
    Arc::new(move |k| RequestSpec {
        identity: (k % n) as usize,
        body: bodies.body(k),
    })
}

/// A fixed-rate phase measured with before/after scrapes.
pub struct Measured {
    pub outcome: PhaseOutcome,
    pub delta: Delta,
    pub users: usize,
}

pub async fn fixed_rate_phase(
    ctx: &Context,
    target: &Target,
    name: &str,
    rate_rps: f64,
    duration: Duration,
    request: crate::loadtest::engine::RequestFn,
) -> Result<Measured> {
    let users = ctx.users_for_rate(rate_rps);
    let plan = PhasePlan {
        name: name.to_string(),
        offsets: fixed_rate_offsets(rate_rps, duration, users),
        users,
        request,
    };
    measured_phase(ctx, target, plan).await
}

pub async fn measured_phase(ctx: &Context, target: &Target, plan: PhasePlan) -> Result<Measured> {
    let users = plan.users;
    let before = ctx.probe.snapshot().await?;
    let outcome = run_phase(target, plan).await?;
    let after = ctx.probe.snapshot().await?;
    Ok(Measured {
        outcome,
        delta: delta(&before, &after),
        users,
    })
}

/// Builds the common summary of a run from its combined recording.
/// The measured part of a run a summary is built from.
pub struct Window<'a> {
    pub recording: &'a Recording,
    pub elapsed: Duration,
    pub users: usize,
    pub delta: &'a Delta,
}

impl<'a> Window<'a> {
    pub fn of(m: &'a Measured) -> Self {
        Window {
            recording: &m.outcome.recording,
            elapsed: m.outcome.elapsed,
            users: m.users,
            delta: &m.delta,
        }
    }
}

pub fn base_summary(
    ctx: &Context,
    method: &str,
    offered_rps: f64,
    window: Window<'_>,
    cpu: &CpuWindow,
) -> LoadSummary {
    let Window {
        recording,
        elapsed,
        users,
        delta,
    } = window;
    let facts = RunFacts {
        scenario: ctx.cli.scenario.scenario().as_str(),
        target: ctx.target.host(),
        method,
        offered_rps,
        elapsed,
        users: users as u64,
        identities: ctx.credentials.len() as u64,
        connection: ctx.target.options().connection_label(),
    };
    let mut s = summary::build(&facts, recording, cpu, delta);
    s.goose_reports = ctx.cli.goose.report_file.clone();
    s
}

pub fn write(
    ctx: &Context,
    summary: &mut LoadSummary,
    recording: &Recording,
    started_at: SystemTime,
) -> Result<()> {
    summary::write(
        summary,
        recording,
        started_at,
        &ctx.cli.summary_out,
        ctx.cli.histogram_out.as_deref(),
    )
}
