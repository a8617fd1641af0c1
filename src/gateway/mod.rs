//! The reference alert gateway: one HTTP(S) server whose only variable is how callers are authenticated.

pub mod auth;
pub mod cli;
pub mod kube_client;
pub mod metrics;
pub mod problem;
pub mod rate_limiter;
pub mod routes;
pub mod server;
pub mod signals;
pub mod tls_config;

use std::path::PathBuf;
use std::time::Duration;

pub use server::{Gateway, RunningGateway};

/// Errors while starting the gateway (per-request failures are [`problem::GatewayError`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("kube client: {0}")]
    Kube(#[from] kube_client::Error),
    #[error("tls: {0}")]
    Tls(#[from] tls_config::Error),
    #[error("auth set-up: {0}")]
    Auth(#[from] auth::AuthSetupError),
    #[error("mode {0} needs --tls-cert, --tls-key and --client-ca")]
    MissingTls(&'static str),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// How callers are authenticated (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    None,
    Tokenreview,
    Cached,
    Jwks,
    Mtls,
    Hybrid,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Tokenreview => "tokenreview",
            AuthMode::Cached => "cached",
            AuthMode::Jwks => "jwks",
            AuthMode::Mtls => "mtls",
            AuthMode::Hybrid => "hybrid",
        }
    }

    /// Modes that need a kube client at all.
    pub fn needs_kube(self) -> bool {
        self != AuthMode::None
    }
}

/// The SubjectAccessReview attributes every caller is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SarAttributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub name: String,
    pub namespace: String,
}

impl SarAttributes {
    /// The real gateway's check: `create` on `services/gateway-service` in `namespace`.
    pub fn gateway_default(namespace: &str) -> Self {
        SarAttributes {
            verb: "create".into(),
            group: String::new(),
            resource: "services".into(),
            name: "gateway-service".into(),
            namespace: namespace.into(),
        }
    }
}

/// Everything the gateway needs to run; built from CLI flags or directly by tests and benchmarks.
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: AuthMode,
    /// Client configuration for the API server; `None` only for `--auth none`.
    pub kube: Option<kube::Config>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    pub crl: Option<PathBuf>,
    pub sar: SarAttributes,
    pub token_cache_ttl: Duration,
    pub token_negative_ttl: Duration,
    pub sar_allowed_ttl: Duration,
    pub sar_denied_ttl: Duration,
    pub cache_max_entries: u64,
    pub dedup_window: Duration,
    pub apiserver_timeout: Duration,
    pub apiserver_retries: u32,
    /// Client-side QPS towards the API server; `None` = unlimited.
    pub kube_qps: Option<f64>,
    pub kube_burst: u32,
    /// Audiences for TokenReview and JWT `aud`; empty = the API server's default (its issuer).
    pub audiences: Vec<String>,
    /// Expected JWT issuer for `jwks`; `None` = the discovery document's issuer.
    pub jwks_issuer: Option<String>,
    pub jwks_refresh: Duration,
    /// Connection limits and timeouts of both listeners.
    pub server: crate::serve::Limits,
    pub body_limit_bytes: usize,
    /// Signal requests being handled at once; beyond it 503 + `Retry-After`.
    pub max_inflight_requests: usize,
    /// Longest bearer token accepted; longer ones get 401 without a TokenReview.
    pub max_credential_bytes: usize,
    /// TokenReviews for token-cache misses in flight at once; further misses queue (up to the
    /// API timeout, then 503), so a flood of distinct tokens cannot fan out without bound.
    pub max_pending_reviews: usize,
    /// Accept a CRL whose nextUpdate has passed (default: refuse it, keep the last good one).
    pub allow_expired_crl: bool,
}

impl Config {
    /// Defaults matching the CLI's, for `auth` against `kube`.
    pub fn new(auth: AuthMode, kube: Option<kube::Config>) -> Self {
        Config {
            auth,
            kube,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            crl: None,
            sar: SarAttributes::gateway_default("gatebench-system"),
            token_cache_ttl: Duration::from_secs(300),
            token_negative_ttl: Duration::from_secs(10),
            sar_allowed_ttl: Duration::from_secs(300),
            sar_denied_ttl: Duration::from_secs(30),
            cache_max_entries: 100_000,
            dedup_window: Duration::from_secs(300),
            apiserver_timeout: Duration::from_secs(5),
            apiserver_retries: 0,
            kube_qps: None,
            kube_burst: 10,
            audiences: Vec::new(),
            jwks_issuer: None,
            jwks_refresh: Duration::from_secs(300),
            server: crate::serve::Limits::default(),
            body_limit_bytes: 256 * 1024,
            max_inflight_requests: 1024,
            max_credential_bytes: auth::DEFAULT_MAX_CREDENTIAL_BYTES,
            max_pending_reviews: 64,
            allow_expired_crl: false,
        }
    }

    /// Whether the listener speaks TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
}
