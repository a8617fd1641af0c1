//! `gatebench report --merge`: three loadtest outputs merged through the real binary and
//! compared with one histogram of all samples; and `gatebench report` re-rendering results.json.

use crate::report_fixtures;

use gatebench::report::merge::{HistogramLog, read_interval_log, write_interval_log};
use gatebench::results::{GeneratorLimit, LoadSummary, SecondSample};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Writes a loadtest-style log: per second, one interval per status class (tagged like
/// loadtest does), or one untagged interval when `tagged` is false.
fn write_log(path: &Path, seconds: &[BTreeMap<&'static str, Histogram<u64>>], tagged: bool) {
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .begin_log_with(&mut buf, &mut serializer)
        .unwrap();
    for (i, classes) in seconds.iter().enumerate() {
        let start = Duration::from_secs(i as u64);
        if tagged {
            for (class, h) in classes {
                writer
                    .write_histogram(h, start, Duration::from_secs(1), Tag::new(class))
                    .unwrap();
            }
        } else {
            let mut all = Histogram::<u64>::new(3).unwrap();
            for h in classes.values() {
                all.add(h).unwrap();
            }
            writer
                .write_histogram(&all, start, Duration::from_secs(1), None)
                .unwrap();
        }
    }
    drop(writer);
    std::fs::write(path, buf).unwrap();
}

#[allow(clippy::needless_update)] // later fields of the schema version default
fn summary(pod: usize, samples: u64, limited: bool) -> LoadSummary {
    LoadSummary {
        schema_version: gatebench::results::SCHEMA_VERSION,
        scenario: "steady".into(),
        target: "http://127.0.0.1:30080".into(),
        method: "intended send time".into(),
        offered_rps: 100.0,
        achieved_rps: 98.0 + pod as f64,
        duration_secs: 3.0,
        users: 4,
        identities: 10,
        status_counts: BTreeMap::from([("201".into(), samples - 2), ("503".into(), 2)]),
        errors: BTreeMap::from([("timeout".into(), pod as u64)]),
        timeseries: (0..3)
            .map(|t| SecondSample {
                t_secs: t,
                requests: 100,
                errors: 1,
                p99_us: 1_000 + pod as u64,
            })
            .collect(),
        generator: GeneratorLimit {
            limited,
            reason: limited.then(|| "generator CPU 98%".into()),
            cpu_cores_used: 0.5,
            send_delay_p99_us: 100 * pod as u64,
            ..Default::default()
        },
        // Every pod scrapes the same API server over overlapping windows.
        server: gatebench::results::ServerCounts {
            apiserver_calls: BTreeMap::from([("tokenreviews".into(), 10 * (pod as u64 + 1))]),
            ..Default::default()
        },
        goose_reports: vec![format!("pod-{pod}.html")],
        ..Default::default()
    }
}

#[test]
fn three_pods_merge_into_the_histogram_of_all_samples() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut all = Histogram::<u64>::new(3).unwrap();
    let mut all_by_class: BTreeMap<&str, Histogram<u64>> = BTreeMap::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    let mut total_samples = 0;
    for pod in 0..3 {
        let dir = tmp.path().join(format!("pod-{pod}"));
        std::fs::create_dir(&dir).unwrap();
        // Pods see different latency shapes, so a wrong merge (e.g. averaging percentiles) shows.
        let scale = [1.0, 3.0, 20.0][pod];
        let mut seconds = Vec::new();
        let mut samples = 0;
        for _ in 0..3 {
            let mut classes: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
            for _ in 0..(300 + 100 * pod) {
                let slow = rng.random_bool(0.01);
                let us = (rng.random_range(200.0..1_500.0) * scale * if slow { 50.0 } else { 1.0 })
                    as u64;
                let class = if slow { "5xx" } else { "2xx" };
                classes
                    .entry(class)
                    .or_insert_with(|| Histogram::new(3).unwrap())
                    .record(us)
                    .unwrap();
                all_by_class
                    .entry(class)
                    .or_insert_with(|| Histogram::new(3).unwrap())
                    .record(us)
                    .unwrap();
                all.record(us).unwrap();
                samples += 1;
            }
            seconds.push(classes);
        }
        total_samples += samples;
        write_log(&dir.join("hist.hlog"), &seconds, true);
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string(&summary(pod, samples, pod == 2)).unwrap(),
        )
        .unwrap();
        dirs.push(dir);
    }
    let out = tmp.path().join("merged.json");
    let hlog = tmp.path().join("merged.hlog");
    let status = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .arg("report")
        .arg("--merge")
        .args(&dirs)
        .arg("--out-summary")
        .arg(&out)
        .arg("--histogram-out")
        .arg(&hlog)
        .status()
        .unwrap();
    assert!(status.success());
    let merged: LoadSummary =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    assert_eq!(merged.latency_us.count, total_samples);
    assert_eq!(merged.latency_us.count, all.len());
    for (q, got) in [
        (0.5, merged.latency_us.p50),
        (0.9, merged.latency_us.p90),
        (0.99, merged.latency_us.p99),
        (0.999, merged.latency_us.p999),
    ] {
        assert_eq!(got, all.value_at_quantile(q), "quantile {q}");
    }
    assert_eq!(merged.latency_us.max, all.max());
    assert!((merged.latency_us.mean - all.mean()).abs() < 1e-6);
    // Status classes merge exactly too, because every pod tagged its intervals.
    assert_eq!(merged.latency_by_class_us.len(), 2);
    for (class, h) in &all_by_class {
        let got = &merged.latency_by_class_us[*class];
        assert_eq!(
            (got.count, got.p99, got.max),
            (h.len(), h.value_at_quantile(0.99), h.max()),
            "{class}"
        );
    }

    assert_eq!(merged.offered_rps, 300.0);
    assert_eq!(merged.achieved_rps, 98.0 + 99.0 + 100.0);
    assert_eq!(merged.users, 12);
    assert_eq!(merged.status_counts["503"], 6);
    assert_eq!(merged.status_counts["201"], total_samples - 6);
    assert_eq!(merged.errors["timeout"], 3);
    assert_eq!(merged.timeseries.len(), 3);
    assert_eq!(merged.timeseries[1].requests, 300);
    assert_eq!(merged.timeseries[1].p99_us, 1_002);
    // Per-pod generator limits are kept, one note per input.
    assert!(merged.generator.limited);
    let reason = merged.generator.reason.unwrap();
    assert_eq!(reason.matches("cores").count(), 3, "{reason}");
    assert!(
        reason.contains("pod-2/summary.json: limited (generator CPU 98%)"),
        "{reason}"
    );
    assert!((merged.generator.cpu_cores_used - 1.5).abs() < 1e-9);
    assert_eq!(merged.generator.send_delay_p99_us, 200);
    // Overlapping scrapes of one server are not added: the widest is kept, and said so.
    assert_eq!(merged.server.apiserver_calls["tokenreviews"], 30);
    assert!(merged.method.contains("not a sum"), "{}", merged.method);
    assert_eq!(merged.goose_reports.len(), 3);

    // The merged log reads back as the same distribution.
    let back = read_interval_log(&std::fs::read(&hlog).unwrap())
        .unwrap()
        .total()
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), all.len());
    assert_eq!(back.value_at_quantile(0.99), all.value_at_quantile(0.99));
    assert_eq!(
        merged.histogram_log.as_deref(),
        Some(hlog.to_str().unwrap())
    );
}

#[test]
fn merge_refuses_a_file_that_is_not_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("oops.json"), "{\"not\": \"a summary\"}").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args(["report", "--merge"])
        .arg(tmp.path())
        .arg("--out-summary")
        .arg(tmp.path().join("m.json"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("oops.json"));
}

#[test]
fn interval_log_round_trips() {
    let mut h = Histogram::<u64>::new(3).unwrap();
    for v in 1..=10_000u64 {
        h.record(v * 7).unwrap();
    }
    let log = HistogramLog {
        untagged: Some(h.clone()),
        by_tag: BTreeMap::from([("2xx".to_string(), h.clone())]),
    };
    let back = read_interval_log(&write_interval_log(&log, 12.5, "test").unwrap()).unwrap();
    assert_eq!(back, log);
    // The untagged interval is the total; tags are not added to it a second time.
    assert_eq!(back.total().unwrap().unwrap().len(), h.len());
    assert!(read_interval_log(b"#[comment only]\n").is_err());
}

#[test]
fn untagged_and_tagged_pods_still_merge_their_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Histogram::<u64>::new(3).unwrap();
    let mut dirs = Vec::new();
    for (pod, tagged) in [(0, false), (1, true)] {
        let dir = tmp.path().join(format!("pod-{pod}"));
        std::fs::create_dir(&dir).unwrap();
        let mut classes: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
        for v in 0..500u64 {
            let class = if v % 10 == 0 { "4xx" } else { "2xx" };
            let us = 100 + v * (pod + 1);
            classes
                .entry(class)
                .or_insert_with(|| Histogram::new(3).unwrap())
                .record(us)
                .unwrap();
            all.record(us).unwrap();
        }
        write_log(&dir.join("h.hlog"), &[classes], tagged);
        std::fs::write(
            dir.join("s.json"),
            serde_json::to_string(&summary(pod as usize, 500, false)).unwrap(),
        )
        .unwrap();
        dirs.push(dir);
    }
    let (inputs, logs) = gatebench::report::merge::read_dirs(&dirs).unwrap();
    let merged = gatebench::report::merge::merge(&inputs, &logs).unwrap();
    assert_eq!(merged.summary.latency_us.count, 1_000);
    assert_eq!(merged.summary.latency_us.p99, all.value_at_quantile(0.99));
    // One pod had no classes, so no class can be complete: none is reported.
    assert!(merged.summary.latency_by_class_us.is_empty());
}

#[test]
fn report_rerenders_results_json() {
    let tmp = tempfile::tempdir().unwrap();
    let results_path = tmp.path().join("results.json");
    let html_path = tmp.path().join("out/decision.html");
    std::fs::write(
        &results_path,
        serde_json::to_string_pretty(&report_fixtures::keep_baseline()).unwrap(),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args(["report", "--results"])
        .arg(&results_path)
        .arg("--out")
        .arg(&html_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("Keep TokenReview + cache"));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_eq!(
        html,
        gatebench::report::render_html(&report_fixtures::keep_baseline())
    );
}

#[test]
fn rerender_reads_run_histograms_even_after_the_reports_dir_moved() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("runs")).unwrap();
    let mut classes: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
    let mut h = Histogram::<u64>::new(3).unwrap();
    for v in 1..=5_000u64 {
        h.record(300 + v).unwrap();
    }
    classes.insert("2xx", h.clone());
    write_log(
        &tmp.path().join("runs/steady_cached_100.hlog"),
        &[classes],
        true,
    );
    let mut results = report_fixtures::keep_baseline();
    // Recorded where decide wrote it on another machine; found beside results.json under runs/.
    report_fixtures::run_mut(&mut results, "steady/cached/100")
        .load
        .as_mut()
        .unwrap()
        .histogram_log = Some("/elsewhere/reports/runs/steady_cached_100.hlog".into());
    report_fixtures::run_mut(&mut results, "steady/none/100")
        .load
        .as_mut()
        .unwrap()
        .histogram_log = Some("runs/missing.hlog".into());
    let (histograms, problems) =
        gatebench::report::histograms::load_histograms(&results, tmp.path());
    assert_eq!(
        histograms.keys().collect::<Vec<_>>(),
        vec!["steady/cached/100"]
    );
    assert_eq!(histograms["steady/cached/100"], h);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("steady/none/100"));

    // The spectrum then follows the whole distribution: many points, one dot (the maximum).
    let chart = gatebench::report::charts::spectrum_with(&results, &histograms);
    let cached_line = chart
        .svg
        .lines()
        .filter(|l| l.starts_with("<polyline") && l.contains("#0072B2"))
        .map(|l| l.matches(',').count())
        .max()
        .unwrap();
    assert!(cached_line > 20, "{cached_line} points");
}
