//! A real kube-apiserver and etcd (built from upstream by `scripts/install-kube-apiserver.sh`), run as
//! two local processes the way controller-runtime's envtest runs them, with outages on demand.

pub mod admin;
pub mod args;
pub mod cli;
pub mod locate;
pub mod pki;
pub mod supervisor;

use std::path::PathBuf;

/// How long kube-apiserver keeps a successful token authentication (its built-in
/// `TokenSuccessCacheTTL`, pkg/kubeapiserver/options/authentication.go; no flag sets it): a
/// revoked ServiceAccount's token is accepted by TokenReview for up to this long.
pub const TOKEN_SUCCESS_CACHE_SECS: f64 = 10.0;

pub use locate::{Binaries, INSTALL_SCRIPT, K8S_VERSION, Versions};
pub use supervisor::{ControlPlane, Options};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "kube-apiserver and etcd {version} not found (looked in {searched}); build them with \
         `{INSTALL_SCRIPT}` or point {env} at a directory holding both",
        version = K8S_VERSION,
        env = locate::BIN_DIR_ENV
    )]
    BinariesMissing { searched: String },
    #[error(
        "kube-rbac-proxy {version} is not built (looked in {searched}); run `{script}` or set {env} to its path",
        version = locate::KRP_VERSION,
        script = locate::INSTALL_SCRIPT,
        env = locate::KRP_BIN_ENV
    )]
    KubeRbacProxyMissing { searched: String },
    #[error("`{program} --version` failed: {reason}")]
    Version { program: String, reason: String },
    #[error("generating certificates and keys: {0}")]
    Pki(String),
    #[error("cannot start {name} ({program}): {source}")]
    Spawn {
        name: &'static str,
        program: String,
        source: std::io::Error,
    },
    #[error("{name} exited while starting ({status}); its log {log} ends:\n{tail}")]
    ExitedEarly {
        name: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{name} was not ready within {secs} s ({last}); its log {log} ends:\n{tail}")]
    NotReady {
        name: &'static str,
        secs: u64,
        last: String,
        log: PathBuf,
        tail: String,
    },
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
    #[error("signalling {name}: {reason}")]
    Signal { name: &'static str, reason: String },
    #[error("fault not available on a real kube-apiserver: {0}")]
    FaultUnavailable(String),
    #[error("writing the kubeconfig: {0}")]
    Kubeconfig(#[from] crate::apiserver::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
