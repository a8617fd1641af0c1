//! Each goose user's reqwest client (custom CA, client certificate, keep-alive or a new
//! connection per request) and how transport failures are classified.

use crate::loadtest::credentials::Credential;
use anyhow::{Context, Result};
use std::time::Duration;

/// How every user's HTTP client is built.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// PEM CA bundle that signed the gateway's TLS certificate.
    pub ca_pem: Option<Vec<u8>>,
    /// One connection (and TLS handshake) per request instead of keep-alive.
    pub new_connection: bool,
    pub timeout: Duration,
    pub accept_invalid_certs: bool,
}

impl ClientOptions {
    pub fn connection_label(&self) -> &'static str {
        if self.new_connection {
            "new-connection-per-request"
        } else {
            "keepalive"
        }
    }
}

/// Builds one client; a certificate credential becomes the client's TLS identity.
pub fn build_client(opts: &ClientOptions, credential: &Credential) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .http1_only()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
        .tls_danger_accept_invalid_certs(opts.accept_invalid_certs);
    if let Some(pem) = &opts.ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem).context("parsing --ca-cert")? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if opts.new_connection {
        // No idle connection is kept, so each request dials (and handshakes) afresh.
        builder = builder.pool_max_idle_per_host(0);
    }
    if let Credential::Certificate(pem) = credential {
        builder = builder.identity(reqwest::Identity::from_pem(pem).context("client identity")?);
    }
    Ok(builder.build()?)
}

/// Transport error kind for the summary's `errors` map.
pub fn error_kind(e: &reqwest::Error) -> &'static str {
    let text = format!("{e:?}").to_lowercase();
    if e.is_timeout() {
        "timeout"
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        "tls"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else if text.contains("reset") || text.contains("closed") {
        "reset"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_clients_and_rejects_bad_pem() {
        let opts = ClientOptions {
            timeout: Duration::from_secs(1),
            new_connection: true,
            ..Default::default()
        };
        assert!(build_client(&opts, &Credential::Anonymous).is_ok());
        assert_eq!(opts.connection_label(), "new-connection-per-request");
        let bad = Credential::Certificate(b"not a pem".to_vec());
        assert!(build_client(&opts, &bad).is_err());
        let bad_ca = ClientOptions {
            ca_pem: Some(
                b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".to_vec(),
            ),
            ..opts
        };
        assert!(build_client(&bad_ca, &Credential::Anonymous).is_err());
    }
}
