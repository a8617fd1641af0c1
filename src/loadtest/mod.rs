//! The load generator behind the `loadtest` binary: goose scenarios against a gatebench gateway,
//! with latency measured from each request's intended send time.

pub mod attack;
pub mod body;
pub mod cli;
pub mod cli_args;
pub mod client;
pub mod context;
pub mod credentials;
pub mod engine;
pub mod generator;
pub mod pacing;
pub mod pair;
pub mod recording;
pub mod scenarios;
pub mod summary;
pub mod target;

/// Runs the scenario `cli` names and writes its summary.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let summary_out = cli.summary_out.clone();
    let ctx = context::Context::from_cli(cli).await?;
    let result = scenarios::run(&ctx).await;
    // goose writes each attack's report as it ends; the last may still be finishing.
    attack::finish_all().await;
    result?;
    eprintln!("loadtest: summary written to {}", summary_out.display());
    Ok(())
}
