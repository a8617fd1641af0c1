//! Where each identity's credentials come from: ServiceAccount tokens minted through
//! TokenRequest, a tokens file, or client certificates from a `gatebench pki` directory.

use crate::kubesetup;
use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;
use std::sync::OnceLock;

/// Token lifetime requested for minted tokens: long enough for any profile's run.
pub const TOKEN_EXPIRATION_SECS: i64 = 3600;

/// One identity's credential.
#[derive(Clone)]
pub enum Credential {
    /// No credential at all (gateway mode `none`).
    Anonymous,
    Bearer(String),
    /// PEM of the client certificate followed by its private key (reqwest `Identity` input).
    Certificate(Vec<u8>),
}

impl Credential {
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Anonymous => "anonymous",
            Credential::Bearer(_) => "bearer",
            Credential::Certificate(_) => "client-certificate",
        }
    }
}

impl std::fmt::Debug for Credential {
    // Never print a raw token: a keyed fingerprint identifies it in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Anonymous => write!(f, "Anonymous"),
            Credential::Bearer(t) => write!(f, "Bearer({})", fingerprint(t)),
            Credential::Certificate(_) => write!(f, "Certificate"),
        }
    }
}

/// Short keyed hash of a secret, stable within one process, for logs.
pub fn fingerprint(secret: &str) -> String {
    static KEY: OnceLock<[u8; 16]> = OnceLock::new();
    let key = KEY.get_or_init(rand::random);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length works");
    mac.update(secret.as_bytes());
    let out = mac.finalize().into_bytes();
    out[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads one token per non-empty line.
pub fn tokens_from_file(path: &Path) -> Result<Vec<Credential>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading tokens file {}", path.display()))?;
    let tokens: Vec<_> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|t| Credential::Bearer(t.to_string()))
        .collect();
    if tokens.is_empty() {
        bail!("tokens file {} holds no token", path.display());
    }
    Ok(tokens)
}

/// Reads `client-N.pem` + `client-N-key.pem` for N in 0..count.
pub fn certificates_from_pki(dir: &Path, count: usize) -> Result<Vec<Credential>> {
    (0..count)
        .map(|n| {
            let cert = std::fs::read(dir.join(format!("client-{n}.pem")))
                .with_context(|| format!("reading client-{n}.pem in {}", dir.display()))?;
            let key = std::fs::read(dir.join(format!("client-{n}-key.pem")))
                .with_context(|| format!("reading client-{n}-key.pem in {}", dir.display()))?;
            let mut pem = cert;
            pem.push(b'\n');
            pem.extend_from_slice(&key);
            Ok(Credential::Certificate(pem))
        })
        .collect()
}

/// An admin kube client from a kubeconfig file.
pub async fn kube_client(kubeconfig: &Path) -> Result<kube::Client> {
    let config = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(config, &kube::config::KubeConfigOptions::default())
            .await
            .context("loading kubeconfig")?;
    Ok(kube::Client::try_from(config)?)
}

/// Ensures ServiceAccounts `names` exist in `namespace` and mints one token for each, a few
/// at a time (this happens before any timed window).
pub async fn mint_tokens(
    client: &kube::Client,
    namespace: &str,
    names: &[String],
) -> Result<Vec<Credential>> {
    kubesetup::ensure_namespace(client, namespace).await?;
    futures::stream::iter(names.iter().cloned())
        .map(|name| async move {
            kubesetup::ensure_service_account(client, namespace, &name).await?;
            let token =
                kubesetup::request_token(client, namespace, &name, &[], TOKEN_EXPIRATION_SECS)
                    .await
                    .with_context(|| format!("TokenRequest for {namespace}/{name}"))?;
            Ok::<_, anyhow::Error>(Credential::Bearer(token))
        })
        .buffered(8)
        .try_collect()
        .await
}

/// Deletes a ServiceAccount (revocation: its tokens stop validating).
pub async fn delete_service_account(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<()> {
    kubesetup::delete_service_account(client, namespace, name)
        .await
        .with_context(|| format!("deleting ServiceAccount {namespace}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let c = Credential::Bearer("secret-token-value".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret"));
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }

    #[test]
    fn reads_tokens_and_certificates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "a\n\n b \n").unwrap();
        let t = tokens_from_file(&dir.path().join("t")).unwrap();
        assert!(matches!(&t[1], Credential::Bearer(s) if s == "b"));
        std::fs::write(dir.path().join("client-0.pem"), "CERT").unwrap();
        std::fs::write(dir.path().join("client-0-key.pem"), "KEY").unwrap();
        let c = certificates_from_pki(dir.path(), 1).unwrap();
        assert!(matches!(&c[0], Credential::Certificate(p) if p == b"CERT\nKEY"));
        assert!(certificates_from_pki(dir.path(), 2).is_err());
    }
}
