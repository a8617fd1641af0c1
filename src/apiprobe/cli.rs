//! `gatebench apiprobe`: runs the probe against an admin kubeconfig and prints (or writes) its JSON.

use std::path::PathBuf;

use anyhow::Context;

use super::{ProbeConfig, measure};

/// Flags of `gatebench apiprobe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Admin kubeconfig of the API server to measure.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Name of the server in the result ("stand-in", "kube-apiserver v1.37.2").
    #[arg(long)]
    pub server: String,
    /// Sequential TokenReview+SAR pairs.
    #[arg(long, default_value_t = 500)]
    pub sequential: u32,
    /// Concurrent pairs per burst.
    #[arg(long, default_value_t = 200)]
    pub concurrency: u32,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let kubeconfig = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let client =
        crate::gateway::kube_client::build_client(config, std::time::Duration::from_secs(30))?;
    let probe_config = ProbeConfig {
        sequential: args.sequential,
        concurrency: args.concurrency,
        ..ProbeConfig::default()
    };
    let probe = measure::run(&client, &args.server, &probe_config).await?;
    let json = serde_json::to_string_pretty(&probe)?;
    match &args.out {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}
