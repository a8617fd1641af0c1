//! The scenario families, one file each, and the helpers they share.

mod churn;
mod cold_burst;
mod handshake;
mod outage;
mod paired;
mod paired_model;
mod revocation;
mod saturation;
mod steady;
mod throttle;

use crate::counters::Counters;
use crate::loadtest::body::Bodies;
use crate::loadtest::context::Context;
use crate::loadtest::engine::{PhaseOutcome, PhasePlan, RequestSpec, Target, run_phase};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::fixed_rate_offsets;
use crate::loadtest::recording::Recording;
use crate::loadtest::summary::{self, RunFacts};
use crate::results::LoadSummary;
use crate::results::Scenario;
use crate::results::ServerCounts;
use anyhow::Result;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub async fn run(ctx: &Context) -> Result<()> {
    match ctx.cli.scenario {
        Scenario::Steady => steady::run(ctx).await,
        Scenario::Saturation => saturation::run(ctx).await,
        Scenario::Churn => churn::run(ctx).await,
        Scenario::ColdBurst => cold_burst::run(ctx).await,
        Scenario::Revocation => revocation::run(ctx).await,
        Scenario::Outage => outage::run(ctx).await,
        Scenario::Throttle => throttle::run(ctx).await,
        Scenario::Handshake => handshake::run(ctx).await,
        Scenario::Paired => paired::run(ctx).await,
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
    /// Counters just before and just after the phase (and what grew between them).
    pub before: Counters,
    pub after: Counters,
    pub server: ServerCounts,
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
    let before = Counters::scrape(&ctx.sources).await?;
    let outcome = run_phase(target, plan).await?;
    let after = Counters::scrape(&ctx.sources).await?;
    Ok(Measured {
        outcome,
        server: after.since(&before),
        before,
        after,
        users,
    })
}

/// Builds the common summary of a run from its combined recording.
/// The measured part of a run a summary is built from.
pub struct Window<'a> {
    pub recording: &'a Recording,
    pub elapsed: Duration,
    pub users: usize,
    pub server: &'a ServerCounts,
}

impl<'a> Window<'a> {
    pub fn of(m: &'a Measured) -> Self {
        Window {
            recording: &m.outcome.recording,
            elapsed: m.outcome.elapsed,
            users: m.users,
            server: &m.server,
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
        server,
    } = window;
    let facts = RunFacts {
        scenario: ctx.cli.scenario.as_str(),
        target: ctx.target.host(),
        method,
        offered_rps,
        elapsed,
        users: users as u64,
        identities: ctx.credentials.len() as u64,
        connection: ctx.target.options().connection_label(),
    };
    let mut s = summary::build(&facts, recording, cpu, server);
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
