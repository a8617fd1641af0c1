//! `gatebench kind`: helpers for the real-cluster path (being built with the kind issue).

/// Flags of `gatebench kind`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gatebench kind is not built yet")
}
