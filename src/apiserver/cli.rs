//! Command-line entry point of `gatebench apiserver`.

/// Flags of `gatebench apiserver`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gatebench apiserver is not built yet")
}
