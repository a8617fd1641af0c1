//! HdrHistogram interval logs (V2 / V2+Deflate, the standard format `loadtest` writes): read
//! into per-tag sums, add across inputs, write back.

use super::add_histograms;
use crate::report::{Error, Result};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Duration;

/// The intervals of one log summed: untagged intervals, and tagged ones per tag (loadtest tags
/// each interval with the status class: "2xx", "4xx", "5xx", "error").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramLog {
    pub untagged: Option<Histogram<u64>>,
    pub by_tag: BTreeMap<String, Histogram<u64>>,
}

impl HistogramLog {
    /// Every sample once: the untagged sum when there is one (it is then the total), else the
    /// sum over tags.
    pub fn total(&self) -> Result<Option<Histogram<u64>>> {
        match &self.untagged {
            Some(h) => Ok(Some(h.clone())),
            None => add_histograms(&self.by_tag.values().cloned().collect::<Vec<_>>()),
        }
    }
}

fn add_into(slot: &mut Option<Histogram<u64>>, h: &Histogram<u64>) -> Result<()> {
    match slot {
        Some(total) => total.add(h).map_err(|e| Error::Add(format!("{e:?}"))),
        None => {
            let mut first = h.clone();
            first.auto(true);
            *slot = Some(first);
            Ok(())
        }
    }
}

/// Sums the intervals of a log. Errors when the log holds no interval at all.
pub fn read_interval_log(bytes: &[u8]) -> std::result::Result<HistogramLog, String> {
    let mut log = HistogramLog::default();
    let mut intervals = 0usize;
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| format!("{e:?}"))?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|e| e.to_string())?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut raw.as_slice())
            .map_err(|e| e.to_string())?;
        intervals += 1;
        let result = match interval.tag() {
            None => add_into(&mut log.untagged, &h),
            Some(tag) => match log.by_tag.entry(tag.as_str().to_string()) {
                Entry::Vacant(e) => {
                    let mut first = h;
                    first.auto(true);
                    e.insert(first);
                    Ok(())
                }
                Entry::Occupied(mut e) => e
                    .get_mut()
                    .add(&h)
                    .map_err(|e| Error::Add(format!("{e:?}"))),
            },
        };
        result.map_err(|e| e.to_string())?;
    }
    if intervals == 0 {
        return Err("no interval histogram in the log".into());
    }
    Ok(log)
}

/// Adds logs. Per-tag sums are kept only when every log is tagged, so a tag's sum never
/// misses an input; the total always covers every input.
pub(super) fn merge_logs(logs: &[HistogramLog]) -> Result<Option<HistogramLog>> {
    if logs.is_empty() {
        return Ok(None);
    }
    let all_tagged = logs.iter().all(|l| !l.by_tag.is_empty());
    let mut merged = HistogramLog::default();
    for log in logs {
        if all_tagged {
            for (tag, h) in &log.by_tag {
                let mut slot = merged.by_tag.remove(tag);
                add_into(&mut slot, h)?;
                merged.by_tag.extend(slot.map(|h| (tag.clone(), h)));
            }
        } else if let Some(total) = log.total()? {
            add_into(&mut merged.untagged, &total)?;
        }
    }
    Ok(Some(merged))
}

/// Writes one interval covering the whole run: untagged total if present, then one per tag.
pub fn write_interval_log(
    log: &HistogramLog,
    duration_secs: f64,
    comment: &str,
) -> std::result::Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment(comment)
        .begin_log_with(&mut buf, &mut serializer)
        .map_err(|e| e.to_string())?;
    let duration = Duration::from_secs_f64(duration_secs.max(0.0));
    if let Some(h) = &log.untagged {
        writer
            .write_histogram(h, Duration::ZERO, duration, None)
            .map_err(|e| e.to_string())?;
    }
    for (tag, h) in &log.by_tag {
        let tag = Tag::new(tag).ok_or_else(|| format!("tag {tag:?} cannot be written"))?;
        writer
            .write_histogram(h, Duration::ZERO, duration, Some(tag))
            .map_err(|e| e.to_string())?;
    }
    drop(writer);
    Ok(buf)
}
