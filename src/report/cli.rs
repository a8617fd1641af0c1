//! Command-line entry point of `gatebench report`.

/// Flags of `gatebench report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gatebench report is not built yet")
}
