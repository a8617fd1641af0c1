//! Per-request latency recording: HdrHistograms per second and status class, outcome counts,
//! the raw request log scenarios read, and the HdrHistogram V2+Deflate interval log writer.

use crate::results::{LatencyUs, SecondSample};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Highest latency a histogram holds; longer ones are clamped (and still counted).
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// Transport failure, by kind: "connect", "timeout", "tls", "body", "other".
    Error(&'static str),
}

impl Outcome {
    /// "2xx".."5xx" or "error": the key of `latency_by_class_us`.
    pub fn class(self) -> &'static str {
        match self {
            Outcome::Status(s) if (200..300).contains(&s) => "2xx",
            Outcome::Status(s) if (300..400).contains(&s) => "3xx",
            Outcome::Status(s) if (400..500).contains(&s) => "4xx",
            Outcome::Status(s) if (500..600).contains(&s) => "5xx",
            Outcome::Status(_) => "other",
            Outcome::Error(_) => "error",
        }
    }

    pub fn is_success(self) -> bool {
        self.class() == "2xx"
    }
}

/// One request as the scenarios see it. Offsets count from the phase's schedule start.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord {
    pub identity: usize,
    pub intended_offset_us: u64,
    /// Completion minus intended send time (coordinated omission corrected).
    pub latency_us: u64,
    /// Completion minus actual send time (what a closed-loop tool would report).
    pub service_us: u64,
    /// Actual send minus the later of intended time and the user's previous completion:
    /// delay the generator itself added.
    pub send_delay_us: u64,
    pub outcome: Outcome,
}

impl RequestRecord {
    pub fn completed_offset_us(&self) -> u64 {
        self.intended_offset_us + self.latency_us
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

/// Everything recorded during one phase.
#[derive(Debug)]
pub struct Recording {
    /// Second of intended send time -> class -> latency histogram.
    seconds: BTreeMap<u64, BTreeMap<&'static str, Histogram<u64>>>,
    service: Histogram<u64>,
    send_delay: Histogram<u64>,
    pub records: Vec<RequestRecord>,
}

impl Default for Recording {
    fn default() -> Self {
        Recording {
            seconds: BTreeMap::new(),
            service: new_histogram(),
            send_delay: new_histogram(),
            records: Vec::new(),
        }
    }
}

impl Recording {
    /// An empty recording with room for `requests` records.
    pub fn with_capacity(requests: usize) -> Self {
        Recording {
            records: Vec::with_capacity(requests),
            ..Default::default()
        }
    }

    pub fn record(&mut self, rec: RequestRecord) {
        let second = rec.intended_offset_us / 1_000_000;
        self.seconds
            .entry(second)
            .or_default()
            .entry(rec.outcome.class())
            .or_insert_with(new_histogram)
            .saturating_record(rec.latency_us.max(1));
        self.service.saturating_record(rec.service_us.max(1));
        self.send_delay.saturating_record(rec.send_delay_us.max(1));
        self.records.push(rec);
    }

    /// Appends another phase's recording, shifting its offsets by `offset` (for multi-phase runs).
    pub fn absorb(&mut self, other: Recording, offset: Duration) {
        let shift_us = offset.as_micros() as u64;
        for mut rec in other.records {
            rec.intended_offset_us += shift_us;
            self.record(rec);
        }
    }

    /// All latencies of one class (`None` = every class).
    pub fn histogram(&self, class: Option<&str>) -> Histogram<u64> {
        let mut total = new_histogram();
        for per_class in self.seconds.values() {
            for (c, h) in per_class {
                if class.is_none_or(|want| want == *c) {
                    total.add(h).expect("same bounds");
                }
            }
        }
        total
    }

    pub fn by_class(&self) -> BTreeMap<String, LatencyUs> {
        let classes: std::collections::BTreeSet<&str> = self
            .seconds
            .values()
            .flat_map(|m| m.keys().copied())
            .collect();
        classes
            .into_iter()
            .map(|c| (c.to_string(), latency_summary(&self.histogram(Some(c)))))
            .collect()
    }

    /// Sum of every request's service time: how long users spent waiting on responses.
    pub fn busy_us_total(&self) -> u64 {
        self.records.iter().map(|r| r.service_us).sum()
    }

    pub fn service_time(&self) -> LatencyUs {
        latency_summary(&self.service)
    }

    pub fn send_delay(&self) -> LatencyUs {
        latency_summary(&self.send_delay)
    }

    pub fn status_counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for rec in &self.records {
            if let Outcome::Status(s) = rec.outcome {
                *out.entry(s.to_string()).or_default() += 1;
            }
        }
        out
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for rec in &self.records {
            if let Outcome::Error(kind) = rec.outcome {
                *out.entry(kind.to_string()).or_default() += 1;
            }
        }
        out
    }

    /// Per-second throughput (by intended send time), non-2xx count and p99.
    pub fn timeseries(&self) -> Vec<SecondSample> {
        self.seconds
            .iter()
            .map(|(second, per_class)| {
                let mut all = new_histogram();
                let mut errors = 0;
                for (class, h) in per_class {
                    all.add(h).expect("same bounds");
                    if *class != "2xx" {
                        errors += h.len();
                    }
                }
                SecondSample {
                    t_secs: *second,
                    requests: all.len(),
                    errors,
                    p99_us: all.value_at_quantile(0.99),
                }
            })
            .collect()
    }

    /// Writes one interval per second and class, tagged with the class, as an HdrHistogram
    /// V2+Deflate interval log: logs of several processes merge by tag with standard tools.
    pub fn write_interval_log(&self, path: &Path, start: SystemTime) -> std::io::Result<()> {
        let mut out = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment(
                "gatebench loadtest: latency_us from intended send time, tag = status class",
            )
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer)?;
        for (second, per_class) in &self.seconds {
            for (class, h) in per_class {
                writer
                    .write_histogram(
                        h,
                        Duration::from_secs(*second),
                        Duration::from_secs(1),
                        Tag::new(class),
                    )
                    .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            }
        }
        std::fs::write(path, out)
    }
}

/// Percentiles of a microsecond histogram.
pub fn latency_summary(h: &Histogram<u64>) -> LatencyUs {
    if h.is_empty() {
        return LatencyUs::default();
    }
    LatencyUs {
        count: h.len(),
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        mean: h.mean(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    fn rec(at_us: u64, latency_us: u64, outcome: Outcome) -> RequestRecord {
        RequestRecord {
            identity: 0,
            intended_offset_us: at_us,
            latency_us,
            service_us: latency_us,
            send_delay_us: 0,
            outcome,
        }
    }

    #[test]
    fn classes_counts_and_series() {
        let mut r = Recording::default();
        for i in 0..99 {
            r.record(rec(i * 10_000, 1_000, Outcome::Status(201)));
        }
        r.record(rec(1_500_000, 500_000, Outcome::Status(503)));
        r.record(rec(1_600_000, 2_000, Outcome::Error("connect")));
        let by_class = r.by_class();
        assert_eq!(by_class["2xx"].count, 99);
        assert_eq!(by_class["5xx"].max / 1000, 500);
        assert_eq!(r.status_counts()["201"], 99);
        assert_eq!(r.errors()["connect"], 1);
        let series = r.timeseries();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].requests, 99);
        assert_eq!(series[1].errors, 2);
        let all = latency_summary(&r.histogram(None));
        assert_eq!(all.count, 101);
        assert!(all.p50 >= 999 && all.p50 <= 1001, "{all:?}");
    }

    #[test]
    fn interval_log_round_trips() {
        let mut r = Recording::default();
        r.record(rec(10, 1_234, Outcome::Status(200)));
        r.record(rec(1_200_000, 9_999, Outcome::Status(401)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.hlog");
        r.write_interval_log(&path, SystemTime::now()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut de = Deserializer::new();
        let mut found = Vec::new();
        for entry in IntervalLogIterator::new(&bytes) {
            if let Ok(LogEntry::Interval(ilh)) = entry {
                let raw = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    ilh.encoded_histogram(),
                )
                .unwrap();
                let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).unwrap();
                found.push((ilh.tag().unwrap().as_str().to_string(), h.max()));
            }
        }
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "2xx");
        assert!(found[1].0 == "4xx" && found[1].1 >= 9_990);
    }
}
