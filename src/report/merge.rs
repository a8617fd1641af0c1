//! `gatebench report --merge`: combines the outputs of several `loadtest` processes (e.g. the
//! pods of a Kubernetes Job) into one `LoadSummary`: histograms added, rates summed, counts
//! added, each generator's limits kept. Pure over in-memory inputs, plus a thin file layer.

use super::{Error, Result};
use crate::results::{
    GeneratorLimit, LatencyUs, LoadSummary, RateStep, SCHEMA_VERSION, SecondSample,
};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
pub fn merge(inputs: &[Input], histograms: &[Histogram<u64>]) -> Result<Merged> {
    if inputs.is_empty() {
        return Err(Error::Empty("no LoadSummary (*.json) found".into()));
    }
    let summaries: Vec<&LoadSummary> = inputs.iter().map(|i| &i.summary).collect();
    let histogram = add_histograms(histograms)?;
    let mut notes = vec![format!(
        "merged from {} loadtest outputs and {} histogram logs",
        inputs.len(),
        histograms.len()
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
    let latency_by_class_us = if summaries.len() == 1 {
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
        // The worst process's send delay bounds the merged run's.
        send_delay_p99_us: summaries
            .iter()
            .map(|s| s.generator.send_delay_p99_us)
            .max()
            .unwrap_or(0),
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
        // Fields added by loadtest since (service time, scraped counts) are per process, not summed.
        ..LoadSummary::default()
    };
    Ok(Merged { summary, histogram })
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
            }
        })
        .collect()
}

/// Sums the histograms of an HdrHistogram interval log (V2 or V2+Deflate). Untagged intervals
/// are the run's totals; tagged ones are used only when there is no untagged interval.
pub fn read_interval_log(bytes: &[u8]) -> std::result::Result<Histogram<u64>, String> {
    let mut untagged = Vec::new();
    let mut tagged = Vec::new();
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| format!("{e:?}"))?;
        if let LogEntry::Interval(interval) = entry {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(interval.encoded_histogram())
                .map_err(|e| e.to_string())?;
            let h: Histogram<u64> = Deserializer::new()
                .deserialize(&mut raw.as_slice())
                .map_err(|e| e.to_string())?;
            if interval.tag().is_some() {
                tagged.push(h)
            } else {
                untagged.push(h)
            }
        }
    }
    let chosen = if untagged.is_empty() {
        tagged
    } else {
        untagged
    };
    add_histograms(&chosen)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no interval histogram in the log".to_string())
}

/// One interval covering the whole run, V2+Deflate, as `loadtest` writes them.
pub fn write_interval_log(
    h: &Histogram<u64>,
    duration_secs: f64,
    comment: &str,
) -> std::result::Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment(comment)
        .begin_log_with(&mut buf, &mut serializer)
        .map_err(|e| e.to_string())?;
    writer
        .write_histogram(
            h,
            std::time::Duration::ZERO,
            std::time::Duration::from_secs_f64(duration_secs.max(0.0)),
            None,
        )
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Reads every `*.json` summary and `*.hlog` interval log in `dirs` (not recursive).
pub fn read_dirs(dirs: &[PathBuf]) -> Result<(Vec<Input>, Vec<Histogram<u64>>)> {
    let mut inputs = Vec::new();
    let mut histograms = Vec::new();
    for dir in dirs {
        let io = |path: &Path, source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| io(dir, e))?;
        paths.sort();
        for path in paths {
            let name = path.display().to_string();
            match path.extension().and_then(|e| e.to_str()) {
                Some("json") => {
                    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
                    let summary = serde_json::from_str(&text).map_err(|source| Error::Summary {
                        path: name.clone(),
                        source,
                    })?;
                    inputs.push(Input { name, summary });
                }
                Some("hlog") => {
                    let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
                    histograms.push(
                        read_interval_log(&bytes)
                            .map_err(|reason| Error::HistogramLog { path: name, reason })?,
                    );
                }
                _ => {}
            }
        }
    }
    Ok((inputs, histograms))
}
