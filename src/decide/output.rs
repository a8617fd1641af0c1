//! The output directory of a decide run and the atomic writes of results.json and decision.html.

use crate::results::Results;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("serializing results: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// `OUT/` with `logs/` (child stderr), `runs/` (loadtest summaries, histograms) and `work/`
/// (kubeconfigs, PKI, CRLs).
#[derive(Debug, Clone)]
pub struct Dirs {
    pub root: PathBuf,
    pub logs: PathBuf,
    pub runs: PathBuf,
    pub work: PathBuf,
}

impl Dirs {
    pub fn create(root: &Path) -> Result<Dirs> {
        let dirs = Dirs {
            root: root.to_path_buf(),
            logs: root.join("logs"),
            runs: root.join("runs"),
            work: root.join("work"),
        };
        for dir in [&dirs.root, &dirs.logs, &dirs.runs, &dirs.work] {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(dirs)
    }

    pub fn results_path(&self) -> PathBuf {
        self.root.join("results.json")
    }

    pub fn html_path(&self) -> PathBuf {
        self.root.join("decision.html")
    }
}

/// Writes through a temporary file and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::fsutil::write_atomic(path, bytes, crate::fsutil::PUBLIC).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub fn write_results(dirs: &Dirs, results: &Results) -> Result<PathBuf> {
    let path = dirs.results_path();
    write_atomic(&path, &serde_json::to_vec_pretty(results)?)?;
    Ok(path)
}

/// Writes results.json and the rendered decision.html; returns both paths. The page is rendered
/// exactly as `gatebench report` re-renders it: with each run's interval log, so the latency
/// spectrum shows whole distributions rather than only the summary percentiles.
pub fn write_all(dirs: &Dirs, results: &Results) -> Result<(PathBuf, PathBuf)> {
    let results_path = write_results(dirs, results)?;
    let html_path = dirs.html_path();
    let html = crate::report::render_html_from_dir(results, &dirs.root);
    write_atomic(&html_path, html.as_bytes())?;
    Ok((results_path, html_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_both_files_that_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs::create(&dir.path().join("out")).unwrap();
        assert!(dirs.logs.is_dir() && dirs.runs.is_dir() && dirs.work.is_dir());
        let results = Results {
            schema_version: crate::results::SCHEMA_VERSION,
            partial: true,
            ..Results::default()
        };
        let (json, html) = write_all(&dirs, &results).unwrap();
        let back: Results = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        assert_eq!(back, results);
        assert!(std::fs::read_to_string(html).unwrap().contains("<html"));
    }
}
