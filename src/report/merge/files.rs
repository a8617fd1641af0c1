//! The file layer of `--merge`: every `*.json` LoadSummary and `*.hlog` interval log in the
//! given directories.

use super::{HistogramLog, Input, read_interval_log};
use crate::report::{Error, Result};
use std::path::{Path, PathBuf};

/// Reads every `*.json` summary and `*.hlog` interval log in `dirs` (not recursive, sorted by
/// name); a file that does not parse is an error naming it, never skipped.
pub fn read_dirs(dirs: &[PathBuf]) -> Result<(Vec<Input>, Vec<HistogramLog>)> {
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
