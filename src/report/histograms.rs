//! Reads the whole-run latency histograms of `results.json` runs from the interval logs
//! `loadtest` wrote, so the report can draw full distributions (file layer; optional).

use super::charts::RunHistograms;
use super::merge::read_interval_log;
use crate::results::Results;
use std::path::{Path, PathBuf};

/// Where a run's log may be: as recorded, relative to the results file's directory, or moved
/// along with it (same file name beside it or under `runs/`).
fn candidates(recorded: &str, results_dir: &Path) -> Vec<PathBuf> {
    let recorded = PathBuf::from(recorded);
    let mut out = vec![recorded.clone()];
    if recorded.is_relative() {
        out.push(results_dir.join(&recorded));
    }
    if let Some(name) = recorded.file_name() {
        out.push(results_dir.join(name));
        out.push(results_dir.join("runs").join(name));
    }
    out
}

/// Histograms of every run whose log can be read; the reasons for the others (a missing or
/// unreadable log only means that run is drawn from its summary percentiles).
pub fn load_histograms(results: &Results, results_dir: &Path) -> (RunHistograms, Vec<String>) {
    let mut histograms = RunHistograms::new();
    let mut problems = Vec::new();
    for run in &results.runs {
        let Some(recorded) = run.load.as_ref().and_then(|l| l.histogram_log.as_deref()) else {
            continue;
        };
        let Some(path) = candidates(recorded, results_dir)
            .into_iter()
            .find(|p| p.is_file())
        else {
            problems.push(format!("{}: histogram log {recorded} not found", run.id));
            continue;
        };
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| read_interval_log(&bytes))
            .and_then(|log| log.total().map_err(|e| e.to_string()));
        match parsed {
            Ok(Some(h)) => {
                histograms.insert(run.id.clone(), h);
            }
            Ok(None) => problems.push(format!("{}: {} holds no samples", run.id, path.display())),
            Err(e) => problems.push(format!("{}: {}: {e}", run.id, path.display())),
        }
    }
    (histograms, problems)
}
