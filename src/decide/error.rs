//! What can stop a decide run or one of its runs; turned into text once, where a run's
//! outcome (or the start-up failure) is recorded.

use super::{binaries, in_cluster, output, process, setup};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Process(#[from] process::Error),
    #[error(transparent)]
    Setup(#[from] setup::Error),
    #[error(transparent)]
    Binaries(#[from] binaries::Error),
    #[error(transparent)]
    InCluster(#[from] in_cluster::Error),
    #[error(transparent)]
    Faults(#[from] crate::apiserver::fault_admin::Error),
    #[error(transparent)]
    Output(#[from] output::Error),
    #[error("building the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    #[error("{name}'s listening line has no `{key}`: {line}")]
    ListeningLine {
        name: String,
        key: &'static str,
        line: String,
    },
    #[error("{name} exited right after it started; see {log}")]
    NoPid { name: String, log: PathBuf },
    #[error("the {mode} gateway exited during the run; see {log}")]
    GatewayExited { mode: String, log: PathBuf },
    #[error("reading the load summary {path}: {source}")]
    SummaryRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing the load summary {path}: {source}")]
    SummaryParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the paired summary {path} has no comparison")]
    NotPaired { path: PathBuf },
    #[error(transparent)]
    KubeRbacProxyMissing(#[from] crate::kubeapiserver::Error),
    #[error("kube-rbac-proxy was not located at start (the mode was not asked for)")]
    KubeRbacProxyNotLocated,
    #[error("a run of the external mode without --gateway external:URL")]
    ExternalNotGiven,
    #[error("kube-rbac-proxy did not start: {reason}")]
    ProxyStart { reason: String },
    #[error("finding a free loopback port: {source}")]
    FreePort {
        #[source]
        source: std::io::Error,
    },
    #[error("pinning process {pid} to the gateway core: {source}")]
    Pin {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;
