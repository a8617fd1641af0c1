//! Reads criterion's saved estimates (`target/criterion/**/new/estimates.json`) into `MicroBench` rows.

use crate::results::MicroBench;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
}

/// The criterion directory of the cargo target dir this binary was built in, if any.
pub fn default_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(dir).join("criterion"));
    }
    // target/<profile>/gatebench (or target/<profile>/deps/... under cargo test)
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "target"))
        .map(|t| t.join("criterion"))
}

/// Every benchmark under `dir`, sorted by id; an absent directory gives none.
pub fn read_all(dir: &Path) -> Vec<MicroBench> {
    let mut out = Vec::new();
    visit(dir, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn visit(dir: &Path, out: &mut Vec<MicroBench>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        // criterion's "report" directories hold HTML only.
        if path.file_name().is_some_and(|n| n == "report") {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(bench) = read_one(&path) {
                out.push(bench);
            }
        } else {
            visit(&path, out);
        }
    }
}

fn read_one(new_dir: &Path) -> Option<MicroBench> {
    let estimates: Estimates =
        serde_json::from_str(&std::fs::read_to_string(new_dir.join("estimates.json")).ok()?)
            .ok()?;
    let id = std::fs::read_to_string(new_dir.join("benchmark.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Benchmark>(&t).ok())
        .map(|b| b.full_id)
        .unwrap_or_else(|| {
            new_dir
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        });
    Some(MicroBench {
        id,
        median_ns: estimates.median.point_estimate,
        lower_ns: estimates.median.confidence_interval.lower_bound,
        upper_ns: estimates.median.confidence_interval.upper_bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":10.0,"upper_bound":12.0},"point_estimate":11.0,"standard_error":0.5},
"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":950.5,"upper_bound":1050.0},"point_estimate":1000.25,"standard_error":1.0}}"#;

    #[test]
    fn reads_nested_estimates_and_skips_other_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("auth/cached_hit/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join("estimates.json"), ESTIMATES).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"full_id":"auth/cached_hit"}"#,
        )
        .unwrap();
        let base = dir.path().join("auth/cached_hit/base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("estimates.json"), ESTIMATES).unwrap();
        std::fs::create_dir_all(dir.path().join("report")).unwrap();

        let benches = read_all(dir.path());
        assert_eq!(
            benches,
            vec![MicroBench {
                id: "auth/cached_hit".into(),
                median_ns: 1000.25,
                lower_ns: 950.5,
                upper_ns: 1050.0,
            }]
        );
        assert!(read_all(&dir.path().join("absent")).is_empty());
    }
}
