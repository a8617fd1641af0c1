//! `paired`: several gateways (one per mode, all running at once) measured in interleaved rounds
//! at one fixed rate. Each round gives every mode one short slot, in an order rotated round by
//! round, so slow and fast moments of the machine fall on every mode alike; the comparison's
//! costs over the floor and their intervals come from `stats::paired`.

use super::{offset_us, round_robin};
use crate::counters::{Counters, Sources};
use crate::loadtest::context::Context;
use crate::loadtest::credentials::{self, Credential};
use crate::loadtest::engine::{PhaseOutcome, PhasePlan, run_phase};
use crate::loadtest::generator::CpuWindow;
use crate::loadtest::pacing::fixed_rate_offsets;
use crate::loadtest::pair::{ModelSpec, PairTarget};
use crate::loadtest::recording::Recording;
use crate::loadtest::summary::{self, METHOD, RunFacts};
use crate::loadtest::target::Target;
use crate::procstat::pid_cpu_secs_precise;
use crate::results::{
    Comparison, LoadSummary, ModelCheck, PairedSummary, ServerCounts, SlotFigures,
};
use crate::stats::bootstrap::Bootstrap;
use crate::stats::paired::{Round, Slot, compare};
use anyhow::{Context as _, Result, bail};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The method every comparison states.
pub const PAIRED_METHOD: &str = "paired and interleaved: every gateway runs at once (pinned to \
the same core); each round gives every mode one slot at the same fixed rate, in an order rotated \
round by round; latency from intended send time (coordinated omission corrected), HdrHistogram \
microseconds; cost = a mode's quantile minus the no-auth floor's from the same rounds; 95% \
intervals by bootstrap over rounds (rounds resampled with replacement, 2,000 draws)";

/// One gateway of the comparison, ready to send to.
struct Pair {
    spec: PairTarget,
    target: Target,
    sources: Sources,
}

/// What each mode accumulates over its slots.
#[derive(Default)]
struct ModeLog {
    recording: Recording,
    elapsed: Duration,
    server: ServerCounts,
    /// (identity, µs since the comparison started) of every request, for the API-call model.
    sends: Vec<(usize, u64)>,
    /// The API server's counts over the warm-up: the model is checked on the whole run, the
    /// caches' first fills included.
    warmup_server: ServerCounts,
}

pub async fn run(ctx: &Context) -> Result<()> {
    let pairs = pairs(ctx).await?;
    let floor = ctx.cli.floor.clone();
    if !pairs.iter().any(|p| p.spec.mode == floor) {
        bail!("paired: no --pair for the floor mode `{floor}`");
    }
    let rate = ctx.cli.rate;
    let slot = Duration::from_secs_f64(ctx.cli.slot_secs.max(0.05));
    let users = ctx.users_for_rate(rate);
    // Warm-up: connections, caches and the gateways' first allocations, not measured; its
    // requests still fill the caches, so the API-call model sees them and their counts.
    let origin = SystemTime::now();
    let mut logs: BTreeMap<String, ModeLog> = BTreeMap::new();
    for pair in &pairs {
        let before = Counters::scrape(&pair.sources).await?;
        let out = slot_phase(ctx, pair, rate, slot / 2, users, u64::MAX).await?;
        let after = Counters::scrape(&pair.sources).await?;
        let log = logs.entry(pair.spec.mode.clone()).or_default();
        log.warmup_server = after.since(&before);
        log_sends(log, origin, &out);
    }
    let cpu = CpuWindow::start();
    let started = SystemTime::now();
    let mut rounds: Vec<Round> = Vec::new();
    let mut order = Vec::new();
    let mut slots = Vec::new();
    for round in 0..ctx.cli.rounds.max(1) {
        let mut this_round = Round::new();
        let mut names = Vec::new();
        for i in 0..pairs.len() {
            let pair = &pairs[(i + round) % pairs.len()];
            let mode = pair.spec.mode.clone();
            let (out, server, cpu_secs) =
                measured_slot(ctx, pair, rate, slot, users, round).await?;
            let log = logs.entry(mode.clone()).or_default();
            log_sends(log, origin, &out);
            let slot_stats = Slot {
                latency_us: out
                    .recording
                    .records
                    .iter()
                    .map(|r| r.latency_us.min(u32::MAX as u64) as u32)
                    .collect(),
                errors: out
                    .recording
                    .records
                    .iter()
                    .filter(|r| !r.outcome.is_success())
                    .count() as u64,
                gateway_cpu_secs: cpu_secs,
            };
            slots.push(slot_figures(round, &mode, &slot_stats));
            this_round.insert(mode.clone(), slot_stats);
            log.server.absorb(&server);
            let at = log.elapsed;
            log.elapsed += out.elapsed;
            log.recording.absorb(out.recording, at);
            names.push(mode);
        }
        rounds.push(this_round);
        order.push(names);
    }
    let comparison = Comparison {
        id: format!("steady/{}", rate.round()),
        offered_rps: rate,
        floor: floor.clone(),
        slot_secs: slot.as_secs_f64(),
        rounds: rounds.len() as u64,
        order,
        method: PAIRED_METHOD.into(),
        modes: compare(&floor, &rounds, Bootstrap::new(ctx.run_seed)),
        model_checks: model_checks(&ctx.cli.model, &logs),
        slots,
        ..Default::default()
    };
    write_summaries(ctx, rate, users, &cpu, comparison, logs, started)
}

/// Builds every `--pair`'s target (tokens minted once, certificates read once) and sources.
async fn pairs(ctx: &Context) -> Result<Vec<Pair>> {
    if ctx.cli.pair.is_empty() {
        bail!("paired needs at least two --pair MODE=URL");
    }
    let mut out = Vec::new();
    for spec in &ctx.cli.pair {
        let creds: Arc<Vec<Credential>> = match &spec.certs {
            Some(dir) => Arc::new(credentials::certificates_from_pki(
                dir,
                ctx.credentials.len(),
            )?),
            None => ctx.credentials.clone(),
        };
        let target = Target::new(
            ctx.target.goose.clone(),
            spec.url.clone(),
            creds,
            ctx.target.options().clone(),
        )
        .with_context(|| format!("building the client for {}", spec.url))?;
        out.push(Pair {
            target,
            sources: Sources {
                kube: ctx.sources.kube.clone(),
                gateway_metrics: spec.metrics.clone(),
                gateway_pids: Vec::new(),
                http: ctx.sources.http.clone(),
            },
            spec: spec.clone(),
        });
    }
    Ok(out)
}

async fn slot_phase(
    ctx: &Context,
    pair: &Pair,
    rate: f64,
    length: Duration,
    users: usize,
    seed: u64,
) -> Result<PhaseOutcome> {
    let plan = PhasePlan {
        name: format!("paired-{}", pair.spec.mode),
        offsets: fixed_rate_offsets(rate, length, users),
        users,
        request: round_robin(ctx, ctx.credentials.len(), seed),
    };
    run_phase(&pair.target, plan)
        .await
        .with_context(|| format!("slot of mode {}", pair.spec.mode))
}

/// One slot with the counters around it; the gateway's CPU is read right at the slot's edges,
/// not around the scrapes (a /metrics scrape costs the gateway CPU too).
async fn measured_slot(
    ctx: &Context,
    pair: &Pair,
    rate: f64,
    length: Duration,
    users: usize,
    round: usize,
) -> Result<(PhaseOutcome, ServerCounts, Option<f64>)> {
    let before = Counters::scrape(&pair.sources).await?;
    let cpu_before = cpu_secs(&pair.spec);
    let seed = (round as u64) << 8 | pair.spec.mode.len() as u64;
    let out = slot_phase(ctx, pair, rate, length, users, seed).await?;
    let cpu_after = cpu_secs(&pair.spec);
    let after = Counters::scrape(&pair.sources).await?;
    let mut server = after.since(&before);
    let used =
        |before: Option<f64>, after: Option<f64>| before.zip(after).map(|(a, b)| (b - a).max(0.0));
    let cpu = used(cpu_before.0, cpu_after.0);
    server.gateway_cpu_secs = cpu;
    server.upstream_cpu_secs = used(cpu_before.1, cpu_after.1);
    Ok((out, server, cpu))
}

/// CPU seconds of a target: all its processes summed (None when there are none or one is
/// unreadable), and its upstream's alone.
fn cpu_secs(spec: &PairTarget) -> (Option<f64>, Option<f64>) {
    let upstream = spec.upstream_pid.and_then(pid_cpu_secs_precise);
    let all = match spec.pids.as_slice() {
        [] => None,
        pids => pids
            .iter()
            .map(|&p| pid_cpu_secs_precise(p))
            .chain(spec.upstream_pid.map(|_| upstream))
            .sum(),
    };
    (all, upstream)
}

/// Appends a phase's (identity, µs since `origin`) sends to the mode's log.
fn log_sends(log: &mut ModeLog, origin: SystemTime, out: &PhaseOutcome) {
    let base_us = offset_us(origin, out.started_at);
    log.sends.extend(
        out.recording
            .records
            .iter()
            .map(|r| (r.identity, base_us + r.intended_offset_us)),
    );
}

fn slot_figures(round: usize, mode: &str, slot: &Slot) -> SlotFigures {
    let mut sorted = slot.latency_us.clone();
    let mut q = |p| crate::stats::bootstrap::quantile(&mut sorted, p).unwrap_or(0.0) as u64;
    let n = slot.latency_us.len() as u64;
    SlotFigures {
        round: round as u64,
        mode: mode.to_string(),
        requests: n,
        p50_us: q(0.5),
        p99_us: q(0.99),
        gateway_cpu_us_per_request: slot
            .gateway_cpu_secs
            .filter(|_| n > 0)
            .map(|c| c * 1e6 / n as f64),
    }
}

/// The API-call model over the whole run (warm-up and slots) against the API server's counts
/// over the same time.
fn model_checks(models: &[ModelSpec], logs: &BTreeMap<String, ModeLog>) -> Vec<ModelCheck> {
    let whole: BTreeMap<&str, ServerCounts> = logs
        .iter()
        .map(|(m, l)| {
            let mut server = l.warmup_server.clone();
            server.absorb(&l.server);
            (m.as_str(), server)
        })
        .collect();
    let view: super::paired_model::ModeSends<'_> = logs
        .iter()
        .map(|(m, l)| (m.as_str(), (l.sends.as_slice(), &whole[m.as_str()])))
        .collect();
    super::paired_model::checks(models, &view)
}

/// One summary per mode (its slots pooled, interval log beside it) inside the run's summary.
fn write_summaries(
    ctx: &Context,
    rate: f64,
    users: usize,
    cpu: &CpuWindow,
    mut comparison: Comparison,
    logs: BTreeMap<String, ModeLog>,
    started: SystemTime,
) -> Result<()> {
    let mut all = Recording::default();
    let mut all_elapsed = Duration::ZERO;
    let mut all_server = ServerCounts::default();
    let mut per_mode = BTreeMap::new();
    for (mode, log) in logs {
        let facts = RunFacts {
            scenario: "steady",
            target: ctx.target.host(),
            method: METHOD,
            offered_rps: rate,
            elapsed: log.elapsed,
            users: users as u64,
            identities: ctx.credentials.len() as u64,
            connection: ctx.target.options().connection_label(),
        };
        let mut s: LoadSummary = summary::build(&facts, &log.recording, cpu, &log.server);
        if let Some(base) = &ctx.cli.histogram_out {
            let path = base.with_file_name(format!(
                "{}-{mode}.hlog",
                base.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("paired")
            ));
            log.recording
                .write_interval_log(&path, started)
                .with_context(|| format!("writing {}", path.display()))?;
            s.histogram_log = Some(path.display().to_string());
        }
        all_server.absorb(&log.server);
        all.absorb(log.recording, all_elapsed);
        all_elapsed += log.elapsed;
        per_mode.insert(mode, s);
    }
    let facts = RunFacts {
        scenario: "paired",
        target: ctx.target.host(),
        method: PAIRED_METHOD,
        offered_rps: rate,
        elapsed: all_elapsed,
        users: users as u64,
        identities: ctx.credentials.len() as u64,
        connection: ctx.target.options().connection_label(),
    };
    let mut summary = summary::build(&facts, &all, cpu, &all_server);
    comparison.generator = summary.generator.clone();
    summary.paired = Some(PairedSummary {
        comparison,
        per_mode,
    });
    summary::write(
        &mut summary,
        &all,
        started,
        &ctx.cli.summary_out,
        ctx.cli.histogram_out.as_deref(),
    )
}
