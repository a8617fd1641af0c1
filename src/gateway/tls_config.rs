//! The listener's rustls config: server certificate, optional client-certificate verification with CRLs,
//! and hot reload of the CRL file (rebuild the config, swap it for new connections).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path} holds no certificate")]
    Empty { path: PathBuf },
    #[error("client verifier: {0}")]
    Verifier(String),
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    /// A CRL file that holds no CRL would silently turn revocation off.
    #[error("{path} holds no CRL")]
    NoCrl { path: PathBuf },
    #[error("{path}: CRL expired at {next_update} (pass --allow-expired-crl to accept it)")]
    ExpiredCrl { path: PathBuf, next_update: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Whether and how client certificates are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Plain server TLS (bearer modes over TLS).
    Off,
    /// `mtls`: a certificate chained to the client CA is mandatory.
    Required,
    /// `hybrid`: a certificate is verified if presented, but not required.
    Optional,
}

/// Files the TLS config is built from.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
    pub crl: Option<PathBuf>,
    pub client_auth: ClientAuth,
    /// Accept CRLs past their nextUpdate (default: refuse them, and fail closed once the loaded
    /// CRL expires).
    pub allow_expired_crl: bool,
}

fn pem_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Pem {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e))?;
    if certs.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The CRLs in `path`: at least one, each parseable and (unless allowed) not past nextUpdate.
pub fn read_crls(
    path: &Path,
    allow_expired: bool,
) -> Result<Vec<CertificateRevocationListDer<'static>>> {
    let crls = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| pem_err(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e))?;
    if crls.is_empty() {
        return Err(Error::NoCrl {
            path: path.to_path_buf(),
        });
    }
    let now = x509_parser::time::ASN1Time::now();
    for der in &crls {
        let (_, crl) =
            CertificateRevocationList::from_der(der.as_ref()).map_err(|e| pem_err(path, e))?;
        if let Some(next) = crl.next_update()
            && next < now
            && !allow_expired
        {
            return Err(Error::ExpiredCrl {
                path: path.to_path_buf(),
                next_update: next.to_string(),
            });
        }
    }
    Ok(crls)
}

/// Builds a fresh server config from the files (re-reading the CRL).
pub fn build_server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_err(&files.key, e))?;
    let builder = ServerConfig::builder();
    let mut config = match (files.client_auth, &files.client_ca) {
        (ClientAuth::Off, _) | (_, None) => {
            builder.with_no_client_auth().with_single_cert(certs, key)?
        }
        (mode, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert)?;
            }
            let mut verifier = WebPkiClientVerifier::builder(Arc::new(roots));
            if let Some(crl) = &files.crl {
                verifier = verifier
                    .with_crls(read_crls(crl, files.allow_expired_crl)?)
                    .only_check_end_entity_revocation();
                if !files.allow_expired_crl {
                    verifier = verifier.enforce_revocation_expiration();
                }
            }
            if mode == ClientAuth::Optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier
                .build()
                .map_err(|e| Error::Verifier(e.to_string()))?;
            builder
                .with_client_cert_verifier(verifier)
                .with_single_cert(certs, key)?
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The current server config; swapped whole when the CRL file changes, so each new connection
/// sees either the old or the new CRL, never a mix.
pub struct ReloadableTls {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
    metrics: Arc<Metrics>,
}

impl ReloadableTls {
    /// Builds the config and, with a CRL, starts polling its mtime every `poll` (task ends when
    /// this is dropped).
    pub fn start(files: TlsFiles, poll: Duration, metrics: Arc<Metrics>) -> Result<Arc<Self>> {
        let config = build_server_config(&files)?;
        let tls = Arc::new(ReloadableTls {
            files,
            current: RwLock::new(config),
            metrics,
        });
        if let Some(crl) = tls.files.crl.clone() {
            spawn_crl_watch(Arc::downgrade(&tls), crl, poll);
        }
        Ok(tls)
    }

    pub fn current(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rebuilds from disk now; on error the previous config stays in force.
    pub fn reload(&self) -> Result<()> {
        let config = build_server_config(&self.files)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }
}

fn modified(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn spawn_crl_watch(tls: Weak<ReloadableTls>, crl: PathBuf, poll: Duration) {
    tokio::spawn(async move {
        let mut last = modified(&crl);
        loop {
            tokio::time::sleep(poll).await;
            let Some(tls) = tls.upgrade() else { return };
            let now = modified(&crl);
            if now == last {
                continue;
            }
            // Each version of the file is tried once; a half-written one is followed by a
            // complete one with a new mtime or size.
            last = now;
            match tls.reload() {
                Ok(()) => {
                    tls.metrics.crl_reload(true);
                    tracing::info!(event = "crl_reloaded", path = %crl.display(), "CRL reloaded");
                }
                Err(e) => {
                    tls.metrics.crl_reload(false);
                    tracing::warn!(event = "crl_reload_failed", error = %e, "CRL reload failed; keeping the last good CRL");
                }
            }
        }
    });
}
