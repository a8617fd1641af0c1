//! Command-line entry point of `gatebench decide`.

/// Flags of `gatebench decide`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gatebench decide is not built yet")
}
