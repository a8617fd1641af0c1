//! The `loadtest` binary: parses flags and runs `gatebench::loadtest`.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    gatebench::affinity::pin_from_env();
    gatebench::tls::install_crypto_provider();
    let cli = gatebench::loadtest::cli::Cli::parse();
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
    runtime.block_on(gatebench::loadtest::run(cli))
}
