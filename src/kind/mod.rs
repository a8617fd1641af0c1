//! The real-cluster (kind) path: the manifests in `deploy/`, the loadtest Job built from them,
//! the framing that carries each Job pod's results out through its log, and the `gatebench kind`
//! commands that drive `kind`, `docker` and `kubectl`.

pub mod cli;
pub mod frames;
pub mod job;
pub mod job_status;
pub mod manifests;
pub mod plan;
pub mod tools;

pub use cli::{Args, run};

/// Errors of the kind path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{tool}` is not installed or not on PATH ({hint})")]
    ToolMissing { tool: String, hint: &'static str },
    #[error("`{command}` failed ({status}): {stderr}")]
    ToolFailed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: YAML document {index}: {message}")]
    Manifest {
        path: String,
        index: usize,
        message: String,
    },
    #[error("result frames: {0}")]
    Frame(String),
    #[error("loadtest Job: {0}")]
    Job(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}
