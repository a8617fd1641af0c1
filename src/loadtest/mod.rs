//! The load generator behind the `loadtest` binary: goose scenarios against a gatebench gateway,
//! with latency measured from each request's intended send time.

pub mod body;
pub mod cli;
pub mod client;
pub mod context;
pub mod credentials;
pub mod engine;
pub mod generator;
pub mod pacing;
pub mod recording;
pub mod scenarios;
pub mod scrape;
pub mod summary;
pub mod target;

/// Runs the scenario `cli` names and writes its summary.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let summary_out = cli.summary_out.clone();
    let ctx = context::Context::from_cli(cli).await?;
    scenarios::run(&ctx).await?;
    eprintln!("loadtest: summary written to {}", summary_out.display());
    Ok(())
}
