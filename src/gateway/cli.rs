//! Command-line entry point of `gatebench gateway`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use super::{AuthMode, Config, Gateway, SarAttributes};
use crate::duration::parse_duration;
use crate::serve::{LimitFlags, signal};

/// Flags of `gatebench gateway`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kubeconfig for the API server; default like kube's Config::infer (KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Authentication strategy.
    #[arg(long, value_enum, default_value = "cached")]
    pub auth: AuthMode,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Separate listener for /metrics (default: /metrics on the main listener).
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Cache, client and server tuning (boxed: keeps the CLI enum small).
    #[command(flatten)]
    pub tuning: Box<Tuning>,
}

/// TLS files, SAR attributes, cache TTLs, API-client behaviour and server limits.
#[derive(Debug, clap::Args)]
pub struct Tuning {
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// CA that client certificates must chain to (mtls, hybrid).
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// PEM CRL file, reloaded when it changes.
    #[arg(long)]
    pub crl: Option<PathBuf>,
    /// Namespace of the SAR check (the gateway's namespace).
    #[arg(long, default_value = "gatebench-system")]
    pub namespace: String,
    #[arg(long, default_value = "create")]
    pub sar_verb: String,
    #[arg(long, default_value = "services")]
    pub sar_resource: String,
    #[arg(long, default_value = "")]
    pub sar_group: String,
    #[arg(long, default_value = "gateway-service")]
    pub sar_name: String,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub token_cache_ttl: Duration,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub token_negative_ttl: Duration,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub sar_allowed_ttl: Duration,
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub sar_denied_ttl: Duration,
    #[arg(long, default_value_t = 100_000)]
    pub cache_max_entries: u64,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub dedup_window: Duration,
    /// Per-call timeout towards the API server (kube has none by default).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub apiserver_timeout: Duration,
    /// Extra attempts on 429/5xx/timeouts (default none: faults stay visible).
    #[arg(long, default_value_t = 0)]
    pub apiserver_retries: u32,
    /// Client-side QPS limit towards the API server (default unlimited; client-go uses 5).
    #[arg(long)]
    pub kube_qps: Option<f64>,
    /// Client-side burst (client-go uses 10).
    #[arg(long, default_value_t = 10)]
    pub kube_burst: u32,
    /// Audience for TokenReview / JWT aud (repeatable; default: the API server's own).
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// Expected JWT issuer in jwks mode (default: from OIDC discovery).
    #[arg(long)]
    pub jwks_issuer: Option<String>,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub jwks_refresh: Duration,
    /// Connection limits and timeouts of the listeners.
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Signal requests handled at once; beyond it 503 + Retry-After.
    #[arg(long, default_value_t = 1024)]
    pub max_inflight_requests: usize,
    /// Longest bearer token accepted (bytes); longer ones get 401 without a TokenReview.
    #[arg(long, default_value_t = crate::gateway::auth::DEFAULT_MAX_CREDENTIAL_BYTES)]
    pub max_credential_bytes: usize,
    /// TokenReviews for cache misses in flight at once; more misses queue (then 503).
    #[arg(long, default_value_t = 64)]
    pub max_pending_reviews: usize,
    /// Accept a --crl whose nextUpdate has passed (default: refused, last good CRL kept).
    #[arg(long)]
    pub allow_expired_crl: bool,
}

async fn kube_config(args: &Args) -> anyhow::Result<Option<kube::Config>> {
    if args.auth == AuthMode::None && args.kubeconfig.is_none() {
        return Ok(None);
    }
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?
        }
        None => kube::Config::infer().await?,
    };
    Ok(Some(config))
}

impl Args {
    /// The gateway [`Config`] these flags describe.
    pub async fn to_config(&self) -> anyhow::Result<Config> {
        let mut config = Config::new(self.auth, kube_config(self).await?);
        config.tls_cert = self.tuning.tls_cert.clone();
        config.tls_key = self.tuning.tls_key.clone();
        config.client_ca = self.tuning.client_ca.clone();
        config.crl = self.tuning.crl.clone();
        config.sar = SarAttributes {
            verb: self.tuning.sar_verb.clone(),
            group: self.tuning.sar_group.clone(),
            resource: self.tuning.sar_resource.clone(),
            name: self.tuning.sar_name.clone(),
            namespace: self.tuning.namespace.clone(),
        };
        config.token_cache_ttl = self.tuning.token_cache_ttl;
        config.token_negative_ttl = self.tuning.token_negative_ttl;
        config.sar_allowed_ttl = self.tuning.sar_allowed_ttl;
        config.sar_denied_ttl = self.tuning.sar_denied_ttl;
        config.cache_max_entries = self.tuning.cache_max_entries;
        config.dedup_window = self.tuning.dedup_window;
        config.apiserver_timeout = self.tuning.apiserver_timeout;
        config.apiserver_retries = self.tuning.apiserver_retries;
        config.kube_qps = self.tuning.kube_qps;
        config.kube_burst = self.tuning.kube_burst;
        config.audiences = self.tuning.audiences.clone();
        config.jwks_issuer = self.tuning.jwks_issuer.clone();
        config.jwks_refresh = self.tuning.jwks_refresh;
        config.server = self.tuning.limits.to_limits().map_err(anyhow::Error::msg)?;
        Ok(config)
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.to_config().await?;
    let stop = signal::shutdown_signal()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let metrics_listener = match args.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?,
        ),
        None => None,
    };
    let gateway = Gateway::start(config, listener, metrics_listener).await?;
    println!(
        "{}",
        serde_json::json!({
            "event": "listening",
            "url": gateway.url(),
            "metrics_url": gateway.metrics_url(),
        })
    );
    stop.await;
    tracing::info!("shutting down");
    gateway.shutdown().await;
    Ok(())
}
