//! The `loadtest` binary: goose load scenarios against a gatebench gateway, with latency
//! measured from each request's intended send time.

mod body;
mod cli;
mod client;
mod context;
mod credentials;
mod engine;
mod generator;
mod pacing;
mod recording;
mod scenarios;
mod scrape;
mod summary;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    gatebench::affinity::pin_from_env();
    gatebench::tls::install_crypto_provider();
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let summary_out = cli.summary_out.clone();
        let ctx = context::Context::from_cli(cli).await?;
        scenarios::run(&ctx).await?;
        eprintln!("loadtest: summary written to {}", summary_out.display());
        Ok(())
    })
}
