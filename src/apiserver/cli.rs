//! Command-line entry point of `gatebench apiserver`.

use std::path::PathBuf;

use anyhow::Context;

use super::{ApiServer, Config, FaultConfig, Latency, Outage};
use crate::serve::{LimitFlags, signal};

/// Flags of `gatebench apiserver`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 = ephemeral).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Where to write the admin kubeconfig once listening.
    #[arg(long)]
    pub kubeconfig_out: PathBuf,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub insecure_http: bool,
    /// Added latency per resource, `RESOURCE=fixed:MS|uniform:MIN:MAX|lognormal:P50:P99` (RESOURCE may be `*`). Repeatable.
    #[arg(long = "latency", value_name = "RESOURCE=DIST")]
    pub latency: Vec<String>,
    /// Answer 429 + Retry-After beyond this many concurrent API requests.
    #[arg(long)]
    pub max_inflight: Option<u32>,
    /// Answer 429 beyond this many API requests per second.
    #[arg(long)]
    pub qps_cap: Option<f64>,
    /// Outage from start-up: `unavailable|hang|reset[:SECS]` (no SECS = until replaced).
    #[arg(long)]
    pub outage: Option<String>,
    /// Fraction of API requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    pub error_fraction: f64,
    /// Smallest TokenRequest expirationSeconds accepted (kube-apiserver: 600).
    #[arg(long, default_value_t = 1)]
    pub min_token_expiration_secs: i64,
    /// JWT issuer of ServiceAccount tokens.
    #[arg(long, default_value = "https://kubernetes.default.svc.cluster.local")]
    pub issuer: String,
    /// RSA private key (PEM) signing ServiceAccount tokens, as kube-apiserver's flag of that name
    /// (default: a fresh key per start).
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,
    /// Clock-skew allowance on token exp/nbf/iat, seconds (kube-apiserver: 60).
    #[arg(long, default_value_t = super::tokens::KUBE_LEEWAY_SECS)]
    pub token_leeway_secs: i64,
    /// Connection limits and timeouts of the listener.
    #[command(flatten)]
    pub limits: LimitFlags,
}

impl Args {
    fn fault_config(&self) -> anyhow::Result<FaultConfig> {
        let mut faults = FaultConfig::default();
        for spec in &self.latency {
            let (resource, dist) = spec
                .split_once('=')
                .context("--latency expects RESOURCE=DIST")?;
            faults
                .latency
                .insert(resource.to_string(), Latency::parse(dist)?);
        }
        faults.max_inflight = self.max_inflight;
        faults.qps_cap = self.qps_cap;
        faults.outage = self.outage.as_deref().map(Outage::parse).transpose()?;
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.error_fraction),
            "--error-fraction must be within 0..=1"
        );
        faults.error_fraction = self.error_fraction;
        faults.validate().map_err(anyhow::Error::msg)?;
        Ok(faults)
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config {
        insecure_http: args.insecure_http,
        faults: args.fault_config()?,
        issuer: args.issuer.clone(),
        min_token_expiration_secs: args.min_token_expiration_secs,
        signing_key_pem: args
            .service_account_signing_key_file
            .as_ref()
            .map(|path| {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            })
            .transpose()?,
        token_leeway_secs: args.token_leeway_secs.max(0),
        server: args.limits.to_limits().map_err(anyhow::Error::msg)?,
        ..Config::default()
    };
    // Handlers first: a supervisor may signal as soon as it reads the listening line.
    let stop = signal::shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let server = ApiServer::start(config, listener).await?;
    server
        .write_kubeconfig(&args.kubeconfig_out)
        .with_context(|| format!("writing {}", args.kubeconfig_out.display()))?;
    println!(
        "{}",
        serde_json::json!({"event": "listening", "url": server.url(), "kubeconfig": args.kubeconfig_out.display().to_string()})
    );
    stop.await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}
