//! Builds and writes the `LoadSummary` of a run: percentiles, counts, time series, generator
//! verdict, server-side deltas, and the interval log beside it.

use crate::loadtest::generator::{self, CpuWindow};
use crate::loadtest::recording::{Recording, latency_summary};
use crate::results::ServerCounts;
use crate::results::{LoadSummary, SCHEMA_VERSION};
use anyhow::{Context as _, Result};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The measurement method every summary states.
pub const METHOD: &str = "latency from intended send time (fixed-rate schedule released by a \
dedicated pacer thread; a user that falls behind sends immediately and the wait counts), \
coordinated omission corrected; HdrHistogram 3 significant digits, microseconds";

/// A burst's method: every request intended at the same instant.
pub const BURST_METHOD: &str = "latency from the burst's common intended send time \
(all requests released at once by a pacer thread); HdrHistogram 3 significant digits, microseconds";

/// The run-wide facts a summary is built from.
pub struct RunFacts<'a> {
    pub scenario: &'a str,
    pub target: &'a str,
    pub method: &'a str,
    pub offered_rps: f64,
    /// Measured wall time (schedule start to last completion, summed over phases).
    pub elapsed: Duration,
    pub users: u64,
    pub identities: u64,
    pub connection: &'a str,
}

pub fn build(
    facts: &RunFacts<'_>,
    recording: &Recording,
    cpu: &CpuWindow,
    server: &ServerCounts,
) -> LoadSummary {
    let all = latency_summary(&recording.histogram(None));
    let elapsed_secs = facts.elapsed.as_secs_f64().max(1e-3);
    let achieved_rps = all.count as f64 / elapsed_secs;
    let send_delay = recording.send_delay();
    LoadSummary {
        schema_version: SCHEMA_VERSION,
        scenario: facts.scenario.to_string(),
        target: facts.target.to_string(),
        method: facts.method.to_string(),
        offered_rps: facts.offered_rps,
        achieved_rps,
        duration_secs: elapsed_secs,
        users: facts.users,
        identities: facts.identities,
        latency_us: all,
        latency_by_class_us: recording.by_class(),
        status_counts: recording.status_counts(),
        errors: recording.errors(),
        timeseries: recording.timeseries(),
        generator: generator::judge(generator::Observed {
            offered_rps: facts.offered_rps,
            achieved_rps,
            cores_used: cpu.cores_used(),
            cores_available: generator::cores_available(),
            send_delay_p99: Duration::from_micros(send_delay.p99),
            users_busy: users_busy(recording, facts.users, facts.elapsed),
        }),
        connection: facts.connection.to_string(),
        service_time_us: Some(recording.service_time()),
        server: server.clone(),
        ..Default::default()
    }
}

/// Sum of service times over users x elapsed (0..1).
pub fn users_busy(recording: &Recording, users: u64, elapsed: Duration) -> f64 {
    let capacity_us = users.max(1) as f64 * elapsed.as_micros().max(1) as f64;
    (recording.busy_us_total() as f64 / capacity_us).min(1.0)
}

/// Writes the interval log (if asked) and then the summary JSON, atomically.
pub fn write(
    summary: &mut LoadSummary,
    recording: &Recording,
    started_at: SystemTime,
    summary_out: &Path,
    histogram_out: Option<&Path>,
) -> Result<()> {
    if let Some(path) = histogram_out {
        recording
            .write_interval_log(path, started_at)
            .with_context(|| format!("writing {}", path.display()))?;
        summary.histogram_log = Some(path.display().to_string());
    }
    crate::fsutil::write_atomic(
        summary_out,
        &serde_json::to_vec_pretty(summary)?,
        crate::fsutil::PUBLIC,
    )
    .with_context(|| format!("writing {}", summary_out.display()))
}
