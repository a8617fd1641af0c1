//! `gatebench pki`: dev CA, server and client certificates (being built with the gateway).

/// Flags of `gatebench pki`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gatebench pki is not built yet")
}
