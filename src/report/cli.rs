//! Command-line entry point of `gatebench report`: re-render the HTML from results.json, or
//! merge distributed loadtest outputs into one LoadSummary.

use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Flags of `gatebench report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// results.json written by `gatebench decide`.
    #[arg(long, default_value = "reports/results.json")]
    pub results: PathBuf,
    /// Where to write the HTML report.
    #[arg(long, default_value = "reports/decision.html")]
    pub out: PathBuf,
    /// Merge loadtest outputs instead: directories holding `*.json` LoadSummary files and
    /// `*.hlog` HdrHistogram interval logs (e.g. one per Job pod).
    #[arg(long, num_args = 1.., value_name = "DIR", requires = "out_summary")]
    pub merge: Vec<PathBuf>,
    /// With --merge: where to write the merged LoadSummary JSON.
    #[arg(long, value_name = "PATH", requires = "merge")]
    pub out_summary: Option<PathBuf>,
    /// With --merge: where to write the summed histogram as an HdrHistogram V2+Deflate interval log.
    #[arg(long, value_name = "PATH", requires = "merge")]
    pub histogram_out: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    match &args.out_summary {
        Some(out_summary) if !args.merge.is_empty() => {
            merge(&args.merge, out_summary, args.histogram_out.as_deref())
        }
        _ => render(&args.results, &args.out),
    }
}

fn render(results_path: &Path, out: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(results_path)
        .with_context(|| format!("reading {}", results_path.display()))?;
    let results: crate::results::Results = serde_json::from_str(&text)
        .with_context(|| format!("parsing {} as results.json", results_path.display()))?;
    if results.schema_version != crate::results::SCHEMA_VERSION {
        tracing::warn!(
            found = results.schema_version,
            expected = crate::results::SCHEMA_VERSION,
            "results.json schema version differs; rendering what parses"
        );
    }
    let results_dir = results_path.parent().unwrap_or(Path::new("."));
    write(
        out,
        super::render_html_from_dir(&results, results_dir).as_bytes(),
    )?;
    let v = super::verdict(&results);
    println!("{}", v.sentence);
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn merge(dirs: &[PathBuf], out_summary: &Path, histogram_out: Option<&Path>) -> anyhow::Result<()> {
    let (inputs, histograms) = super::merge::read_dirs(dirs)?;
    let mut merged = super::merge::merge(&inputs, &histograms)?;
    if let Some(path) = histogram_out {
        let log = merged
            .log
            .as_ref()
            .context("--histogram-out given but no *.hlog file was found to merge")?;
        let comment = format!(
            "gatebench report --merge of {} histogram logs",
            histograms.len()
        );
        let bytes = super::merge::write_interval_log(log, merged.summary.duration_secs, &comment)
            .map_err(anyhow::Error::msg)?;
        write(path, &bytes)?;
        merged.summary.histogram_log = Some(path.display().to_string());
    }
    let json = serde_json::to_string_pretty(&merged.summary)?;
    write(out_summary, json.as_bytes())?;
    eprintln!(
        "merged {} summaries and {} histogram logs into {}: {} requests, achieved {:.1} RPS, p99 {} us",
        inputs.len(),
        histograms.len(),
        out_summary.display(),
        merged.summary.latency_us.count,
        merged.summary.achieved_rps,
        merged.summary.latency_us.p99
    );
    Ok(())
}

/// Writes via a temporary file and rename, so a reader never sees half a file.
fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    crate::fsutil::write_atomic(path, bytes, crate::fsutil::PUBLIC)
        .with_context(|| format!("writing {}", path.display()))
}
