//! The HTML decision report: pure functions from `results::Results` to a verdict, a claims
//! table, mode tables, SVG charts and one self-contained HTML page; plus merging of
//! distributed `loadtest` outputs.

pub mod apiprobe;
pub mod charts;
pub mod claims;
pub mod cli;
pub mod cost;
pub mod figures;
pub mod histograms;
pub mod html;
pub mod markup;
pub mod merge;
pub mod numfmt;
pub mod paired;
pub mod projection;
pub mod tables;
pub mod verdict;
pub mod verdict_view;

pub use html::{render_html, render_html_with};
pub use verdict::{Branch, Verdict, verdict};

/// Renders the report with each run's interval log, looked up from `results_dir`, so the latency
/// spectrum shows whole distributions; a run whose log is missing falls back to its summary
/// percentiles, with a warning. Both `decide` and `gatebench report` render through this.
pub fn render_html_from_dir(
    results: &crate::results::Results,
    results_dir: &std::path::Path,
) -> String {
    let (histograms, problems) = histograms::load_histograms(results, results_dir);
    for problem in &problems {
        tracing::warn!("{problem}; that run's spectrum uses its summary percentiles");
    }
    render_html_with(results, &histograms)
}

/// Errors of the report area (file layer and merging; rendering itself cannot fail).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a LoadSummary: {source}")]
    Summary {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: bad HdrHistogram interval log: {reason}")]
    HistogramLog { path: String, reason: String },
    #[error("nothing to merge: {0}")]
    Empty(String),
    #[error("merging histograms: {0}")]
    Add(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
