//! `gatebench report --merge`: combines the outputs of several `loadtest` processes (e.g. the
//! pods of a Kubernetes Job) into one `LoadSummary`: histograms added, rates summed, counts
//! added, each generator's limits kept. Pure over in-memory inputs, plus a thin file layer.

use super::{Error, Result};
use crate::results::{
    GeneratorLimit, LatencyUs, LoadSummary, RateStep, SCHEMA_VERSION, SecondSample, ServerCounts,
};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

mod files;
mod hlog;

pub use files::read_dirs;
pub use hlog::{HistogramLog, read_interval_log, write_interval_log};

/// One loadtest summary and where it came from.
#[derive(Debug, Clone)]
pub struct Input {
    /// File the summary was read from (for the per-input notes).
    pub name: String,
    pub summary: LoadSummary,
}

/// The merged result.
#[derive(Debug, Clone)]
pub struct Merged {
    pub summary: LoadSummary,
    /// Every input log added (per tag where all inputs are tagged), when any was given.
    pub log: Option<HistogramLog>,
    /// Sum of every input histogram, when any was given.
    pub histogram: Option<Histogram<u64>>,
}

/// Latency percentiles of a histogram of microseconds.
pub fn latency_from_histogram(h: &Histogram<u64>) -> LatencyUs {
    LatencyUs {
        count: h.len(),
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        mean: h.mean(),
    }
}

/// Adds histograms exactly (bucket by bucket); the sum resizes to fit every input.
pub fn add_histograms(histograms: &[Histogram<u64>]) -> Result<Option<Histogram<u64>>> {
    let Some((first, rest)) = histograms.split_first() else {
        return Ok(None);
    };
    let mut total = first.clone();
    total.auto(true);
    for h in rest {
        total.add(h).map_err(|e| Error::Add(format!("{e:?}")))?;
    }
    Ok(Some(total))
}

/// Merges summaries and histograms (pure). Latency comes from the summed histogram when there
/// is one; otherwise it is an upper bound (the worst input per percentile), and the method says so.
// Literals end in `..Default::default()` so fields added within a schema version compile.
#[allow(clippy::needless_update)]
pub fn merge(inputs: &[Input], logs: &[HistogramLog]) -> Result<Merged> {
    if inputs.is_empty() {
        return Err(Error::Empty("no LoadSummary (*.json) found".into()));
    }
    let summaries: Vec<&LoadSummary> = inputs.iter().map(|i| &i.summary).collect();
    let log = hlog::merge_logs(logs)?;
    let histogram = match &log {
        Some(log) => log.total()?,
        None => None,
    };
    let mut notes = vec![format!(
        "merged from {} loadtest outputs and {} histogram logs",
        inputs.len(),
        logs.len()
    )];
    let latency_us = match &histogram {
        Some(h) => latency_from_histogram(h),
        None => {
            notes.push(
                "no histogram logs: percentiles are the worst input's, an upper bound".into(),
            );
            worst_latency(summaries.iter().map(|s| &s.latency_us))
        }
    };
    let by_tag = log.as_ref().map(|l| &l.by_tag).filter(|t| !t.is_empty());
    let latency_by_class_us = if let Some(by_tag) = by_tag {
        // loadtest tags each interval with its status class, so classes merge exactly.
        by_tag
            .iter()
            .map(|(tag, h)| (tag.clone(), latency_from_histogram(h)))
            .collect()
    } else if summaries.len() == 1 {
        summaries[0].latency_by_class_us.clone()
    } else {
        if summaries.iter().any(|s| !s.latency_by_class_us.is_empty()) {
            notes.push("per-class latency dropped: percentiles cannot be added without per-class histograms".into());
        }
        BTreeMap::new()
    };
    let generator = GeneratorLimit {
        limited: summaries.iter().any(|s| s.generator.limited),
        reason: Some(
            inputs
                .iter()
                .map(|i| {
                    let g = &i.summary.generator;
                    match (&g.limited, &g.reason) {
                        (true, Some(r)) => {
                            format!("{}: limited ({r}), {:.2} cores", i.name, g.cpu_cores_used)
                        }
                        (true, None) => {
                            format!("{}: limited, {:.2} cores", i.name, g.cpu_cores_used)
                        }
                        (false, _) => {
                            format!("{}: not limited, {:.2} cores", i.name, g.cpu_cores_used)
                        }
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        cpu_cores_used: summaries.iter().map(|s| s.generator.cpu_cores_used).sum(),
        // The worst process's own send delay bounds the merged run's.
        send_delay_p99_us: summaries
            .iter()
            .map(|s| s.generator.send_delay_p99_us)
            .max()
            .unwrap_or(0),
        // Fields loadtest adds later within the schema version start from their defaults.
        ..GeneratorLimit::default()
    };
    let steps = merge_steps(&summaries, &mut notes);
    let max_held_rps = if steps.is_empty() {
        None
    } else {
        Some(
            steps
                .iter()
                .filter(|s| s.held)
                .map(|s| s.offered_rps)
                .fold(0.0, f64::max),
        )
    };
    let churn_source = only_one(
        "churn",
        summaries
            .iter()
            .map(|s| (!s.churn.is_empty()).then_some(*s)),
        &mut notes,
    );
    let cold_burst = only_one(
        "cold-burst",
        summaries.iter().map(|s| s.cold_burst.as_ref()),
        &mut notes,
    )
    .cloned();
    let revocation = only_one(
        "revocation",
        summaries.iter().map(|s| s.revocation.as_ref()),
        &mut notes,
    )
    .cloned();
    let outage = only_one(
        "outage",
        summaries.iter().map(|s| s.outage.as_ref()),
        &mut notes,
    )
    .cloned();
    let throttle = only_one(
        "throttle",
        summaries.iter().map(|s| s.throttle.as_ref()),
        &mut notes,
    )
    .cloned();
    let handshake = only_one(
        "handshake",
        summaries.iter().map(|s| s.handshake.as_ref()),
        &mut notes,
    )
    .cloned();
    let scraped = scraped_counts(&summaries, &mut notes);
    let service_time_us = summaries
        .iter()
        .any(|s| s.service_time_us.is_some())
        .then(|| worst_latency(summaries.iter().filter_map(|s| s.service_time_us.as_ref())));
    let summary = LoadSummary {
        schema_version: SCHEMA_VERSION,
        scenario: joined(summaries.iter().map(|s| s.scenario.as_str())),
        target: joined(summaries.iter().map(|s| s.target.as_str())),
        method: format!(
            "{} ({})",
            joined(summaries.iter().map(|s| s.method.as_str())),
            notes.join("; ")
        ),
        offered_rps: summaries.iter().map(|s| s.offered_rps).sum(),
        achieved_rps: summaries.iter().map(|s| s.achieved_rps).sum(),
        duration_secs: summaries
            .iter()
            .map(|s| s.duration_secs)
            .fold(0.0, f64::max),
        users: summaries.iter().map(|s| s.users).sum(),
        identities: summaries.iter().map(|s| s.identities).sum(),
        latency_us,
        latency_by_class_us,
        status_counts: add_counts(summaries.iter().map(|s| &s.status_counts)),
        errors: add_counts(summaries.iter().map(|s| &s.errors)),
        timeseries: merge_timeseries(&summaries),
        generator,
        histogram_log: None,
        connection: joined(summaries.iter().map(|s| s.connection.as_str())),
        steps,
        max_held_rps,
        churn: churn_source.map(|s| s.churn.clone()).unwrap_or_default(),
        churn_at_95: churn_source.and_then(|s| s.churn_at_95),
        cold_burst,
        revocation,
        outage,
        service_time_us,
        server: scraped,
        throttle,
        handshake,
        goose_reports: summaries
            .iter()
            .flat_map(|s| s.goose_reports.iter().cloned())
            .collect(),
        // Fields loadtest adds later within the schema version start from their defaults.
        ..LoadSummary::default()
    };
    Ok(Merged {
        summary,
        log,
        histogram,
    })
}

/// Every process scraped the same API server (and gateway) over overlapping windows, so the
/// counts are not added: the input with the most API calls (the widest window) is kept.
fn scraped_counts(summaries: &[&LoadSummary], notes: &mut Vec<String>) -> ServerCounts {
    let scraping: Vec<&&LoadSummary> = summaries
        .iter()
        .filter(|s| s.server != ServerCounts::default())
        .collect();
    if scraping.len() > 1 {
        notes.push(format!(
            "server-side counts are the largest of {} overlapping scrapes, not a sum",
            scraping.len()
        ));
    }
    let widest = scraping
        .iter()
        .max_by_key(|s| s.server.apiserver_calls.values().sum::<u64>());
    widest.map(|s| s.server.clone()).unwrap_or_default()
}

/// A scenario-specific result kept only when exactly one input has it: such scenarios measure
/// one gateway's behaviour over time and cannot be added across pods.
fn only_one<'a, T>(
    name: &str,
    values: impl Iterator<Item = Option<&'a T>>,
    notes: &mut Vec<String>,
) -> Option<&'a T> {
    let present: Vec<&T> = values.flatten().collect();
    if present.len() > 1 {
        notes.push(format!(
            "{name} results of {} inputs not merged (run that scenario from one pod)",
            present.len()
        ));
        return None;
    }
    present.into_iter().next()
}

/// Distinct values in order, joined with "+".
fn joined<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values {
        if !v.is_empty() && !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join("+")
}

fn add_counts<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for map in maps {
        for (k, v) in map {
            *out.entry(k.clone()).or_insert(0) += v;
        }
    }
    out
}

/// Worst input per percentile: an upper bound when no histogram can be added.
fn worst_latency<'a>(all: impl Iterator<Item = &'a LatencyUs>) -> LatencyUs {
    let all: Vec<&LatencyUs> = all.collect();
    let count: u64 = all.iter().map(|l| l.count).sum();
    let weighted: f64 = all.iter().map(|l| l.mean * l.count as f64).sum();
    LatencyUs {
        count,
        p50: all.iter().map(|l| l.p50).max().unwrap_or(0),
        p90: all.iter().map(|l| l.p90).max().unwrap_or(0),
        p99: all.iter().map(|l| l.p99).max().unwrap_or(0),
        p999: all.iter().map(|l| l.p999).max().unwrap_or(0),
        max: all.iter().map(|l| l.max).max().unwrap_or(0),
        mean: if count == 0 {
            0.0
        } else {
            weighted / count as f64
        },
    }
}

/// Per second: requests and errors added; p99 is the worst pod's (an upper bound).
fn merge_timeseries(summaries: &[&LoadSummary]) -> Vec<SecondSample> {
    let mut by_second: BTreeMap<u64, SecondSample> = BTreeMap::new();
    for sample in summaries.iter().flat_map(|s| s.timeseries.iter()) {
        let slot = by_second
            .entry(sample.t_secs)
            .or_insert_with(|| SecondSample {
                t_secs: sample.t_secs,
                ..Default::default()
            });
        slot.requests += sample.requests;
        slot.errors += sample.errors;
        slot.p99_us = slot.p99_us.max(sample.p99_us);
    }
    by_second.into_values().collect()
}

/// Rate steps of pods that ran the same ramp: rates added, latency the worst pod's, held
/// only if every pod held.
#[allow(clippy::needless_update)]
fn merge_steps(summaries: &[&LoadSummary], notes: &mut Vec<String>) -> Vec<RateStep> {
    let with_steps: Vec<&&LoadSummary> = summaries.iter().filter(|s| !s.steps.is_empty()).collect();
    let Some(first) = with_steps.first() else {
        return Vec::new();
    };
    if with_steps
        .iter()
        .any(|s| s.steps.len() != first.steps.len())
    {
        notes.push("saturation steps dropped: inputs ran ramps of different lengths".into());
        return Vec::new();
    }
    (0..first.steps.len())
        .map(|i| {
            let steps: Vec<&RateStep> = with_steps.iter().map(|s| &s.steps[i]).collect();
            let achieved: f64 = steps.iter().map(|s| s.achieved_rps).sum();
            RateStep {
                offered_rps: steps.iter().map(|s| s.offered_rps).sum(),
                achieved_rps: achieved,
                latency_us: worst_latency(steps.iter().map(|s| &s.latency_us)),
                error_ratio: if achieved > 0.0 {
                    steps
                        .iter()
                        .map(|s| s.error_ratio * s.achieved_rps)
                        .sum::<f64>()
                        / achieved
                } else {
                    steps.iter().map(|s| s.error_ratio).fold(0.0, f64::max)
                },
                held: steps.iter().all(|s| s.held),
                generator_limited: steps.iter().any(|s| s.generator_limited),
                ..RateStep::default()
            }
        })
        .collect()
}
