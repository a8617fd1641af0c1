//! Embedded Kubernetes API server stand-in: real wire format, in-memory objects, JWT tokens, RBAC, faults.

mod bootstrap;
pub(crate) mod certs;
pub mod cli;
mod discovery;
pub mod fault_admin;
pub mod faults;
pub(crate) mod handlers;
pub mod kubeconfig;
mod metrics;
mod protobuf;
mod rbac;
mod rbac_escalation;
pub mod request_info;
mod server;
mod state;
pub(crate) mod status;
mod store;
pub mod tokens;

pub use faults::{FaultConfig, Latency, Outage, OutageKind};
pub use request_info::RequestInfo;
pub use server::ApiServer;

/// Errors of the API server stand-in.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("generating certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("generating the signing key: {0}")]
    SigningKey(String),
    #[error("signing a token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("kube client: {0}")]
    Kube(#[from] kube::Error),
    #[error("invalid fault spec {spec:?}: {reason}")]
    FaultSpec { spec: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the stand-in is started. Plain struct: set fields, keep the rest at `Default`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Serve plain HTTP instead of HTTPS.
    pub insecure_http: bool,
    /// Faults active from the start (replaceable at run time).
    pub faults: FaultConfig,
    /// `iss` of issued ServiceAccount tokens.
    pub issuer: String,
    /// The API server's own audiences; empty means `[issuer]` as in kube-apiserver.
    pub api_audiences: Vec<String>,
    /// TokenRequest `expirationSeconds` when the request gives none.
    pub default_token_expiration_secs: i64,
    /// Smallest accepted `expirationSeconds`. kube-apiserver enforces 600; the default here is 1 so that
    /// time-scaled benchmark runs and expiry tests need not wait ten minutes.
    pub min_token_expiration_secs: i64,
    /// Largest accepted `expirationSeconds` (longer requests are capped, as kube does).
    pub max_token_expiration_secs: i64,
    /// RSA signing key of ServiceAccount tokens (PEM); `None` = a fresh one per start.
    pub signing_key_pem: Option<String>,
    /// Clock-skew allowance on token exp/nbf/iat; kube-apiserver's is 60 s. Tests of expiry set 0.
    pub token_leeway_secs: i64,
    /// Connection limits and timeouts of the listener (the gateway's defaults).
    pub server: crate::serve::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            insecure_http: false,
            faults: FaultConfig::default(),
            issuer: "https://kubernetes.default.svc.cluster.local".to_string(),
            api_audiences: Vec::new(),
            default_token_expiration_secs: 3600,
            min_token_expiration_secs: 1,
            max_token_expiration_secs: 48 * 3600,
            signing_key_pem: None,
            token_leeway_secs: tokens::KUBE_LEEWAY_SECS,
            server: crate::serve::Limits::default(),
        }
    }
}

impl Config {
    /// The audiences the API server itself accepts: `api_audiences`, or `[issuer]` when empty.
    pub fn effective_audiences(&self) -> Vec<String> {
        if self.api_audiences.is_empty() {
            vec![self.issuer.clone()]
        } else {
            self.api_audiences.clone()
        }
    }
}
