//! Command-line entry point of `gatebench gateway`.

/// Flags of `gatebench gateway`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gatebench gateway is not built yet")
}
