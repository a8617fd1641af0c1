//! The `gatebench` command line: parses flags and dispatches to the library.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "gatebench",
    version,
    about = "Is TokenReview + caching enough for a Kubernetes alert gateway, or is it time for mTLS?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded Kubernetes API server stand-in.
    Apiserver(gatebench::apiserver::cli::Args),
    /// Run a real kube-apiserver + etcd (built by scripts/install-kube-apiserver.sh), envtest-style.
    KubeApiserver(gatebench::kubeapiserver::cli::Args),
    /// Measure an API server's TokenReview+SAR latency and the concurrent-burst experiment.
    Apiprobe(gatebench::apiprobe::cli::Args),
    /// Run the reference alert gateway with one auth mode.
    Gateway(gatebench::gateway::cli::Args),
    /// Write a dev CA, a server certificate and client certificates for mtls/hybrid runs.
    Pki(gatebench::pki::Args),
    /// Run the scenario matrix and write reports/results.json + reports/decision.html.
    Decide(gatebench::decide::cli::Args),
    /// Re-render the HTML decision report from results.json (or merge distributed load runs).
    Report(gatebench::report::cli::Args),
    /// Helpers for the real-cluster (kind) path.
    Kind(gatebench::kind::Args),
}

fn main() -> anyhow::Result<()> {
    gatebench::affinity::pin_from_env();
    gatebench::tls::install_crypto_provider();
    let cli = Cli::parse();
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
        match cli.command {
            Command::Apiserver(args) => gatebench::apiserver::cli::run(args).await,
            Command::KubeApiserver(args) => gatebench::kubeapiserver::cli::run(args).await,
            Command::Apiprobe(args) => gatebench::apiprobe::cli::run(args).await,
            Command::Gateway(args) => gatebench::gateway::cli::run(args).await,
            Command::Pki(args) => gatebench::pki::run(args),
            Command::Decide(args) => gatebench::decide::cli::run(args).await,
            Command::Report(args) => gatebench::report::cli::run(args).await,
            Command::Kind(args) => gatebench::kind::run(args).await,
        }
    })
}
