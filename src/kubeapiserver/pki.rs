//! The files a control plane's data directory holds: serving certificate, ServiceAccount signing key,
//! the admin token file, etcd's data and the logs. Kept across restarts so tokens stay valid.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

use super::{Error, Result};

/// The admin user of the token file (as the stand-in's): allowed everything through `system:masters`.
pub const ADMIN_USER: &str = "gatebench:admin";
pub const ADMIN_GROUP: &str = "system:masters";

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
        }
    }
    pub fn etcd_data(&self) -> PathBuf {
        self.dir.join("etcd")
    }
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.join("certs")
    }
    pub fn ca(&self) -> PathBuf {
        self.cert_dir().join("ca.crt")
    }
    pub fn serving_cert(&self) -> PathBuf {
        self.cert_dir().join("apiserver.crt")
    }
    pub fn serving_key(&self) -> PathBuf {
        self.cert_dir().join("apiserver.key")
    }
    /// ServiceAccount token signing key (PKCS#8 PEM); tests forge tokens with it.
    pub fn sa_key(&self) -> PathBuf {
        self.cert_dir().join("sa-signer.key")
    }
    pub fn sa_pub(&self) -> PathBuf {
        self.cert_dir().join("sa-signer.pub")
    }
    /// `--token-auth-file`: one line, the admin token.
    pub fn token_file(&self) -> PathBuf {
        self.cert_dir().join("tokens.csv")
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
}

/// What clients of the control plane need from the files.
#[derive(Clone)]
pub struct Material {
    pub ca_pem: String,
    pub admin_token: String,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Material").finish_non_exhaustive()
    }
}

/// Creates whatever is missing in `layout` and reads back what clients need.
pub fn prepare(layout: &Layout) -> Result<Material> {
    for dir in [layout.cert_dir(), layout.logs(), layout.etcd_data()] {
        std::fs::create_dir_all(&dir)?;
    }
    restrict(&layout.cert_dir(), 0o700)?;
    restrict(&layout.etcd_data(), 0o700)?;
    if !layout.serving_cert().is_file() || !layout.ca().is_file() {
        let pki = crate::apiserver::certs::generate().map_err(|e| Error::Pki(e.to_string()))?;
        write_secret(&layout.serving_key(), &pki.key_pem)?;
        std::fs::write(layout.serving_cert(), &pki.cert_pem)?;
        std::fs::write(layout.ca(), &pki.ca_pem)?;
    }
    if !layout.sa_key().is_file() {
        let (private_pem, public_pem) = service_account_key()?;
        write_secret(&layout.sa_key(), &private_pem)?;
        std::fs::write(layout.sa_pub(), public_pem)?;
    }
    if !layout.token_file().is_file() {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        write_secret(
            &layout.token_file(),
            &token_file_line(&URL_SAFE_NO_PAD.encode(secret)),
        )?;
    }
    let tokens = std::fs::read_to_string(layout.token_file())?;
    let admin_token = tokens
        .lines()
        .find_map(|l| l.split(',').next())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Pki(format!("{} has no token", layout.token_file().display())))?
        .to_string();
    Ok(Material {
        ca_pem: std::fs::read_to_string(layout.ca())?,
        admin_token,
    })
}

/// kube-apiserver's static token file format: `token,user,uid,"group1,group2"`.
fn token_file_line(token: &str) -> String {
    format!("{token},{ADMIN_USER},{ADMIN_USER},\"{ADMIN_GROUP}\"\n")
}

/// An RSA-2048 key pair as kube's own tooling makes them: PKCS#8 private, PKIX public, PEM.
fn service_account_key() -> Result<(String, String)> {
    let pki = |e: &dyn std::fmt::Display| Error::Pki(e.to_string());
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| pki(&e))?;
    let private_pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| pki(&e))?;
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| pki(&e))?;
    Ok((private_pem.to_string(), public_pem))
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn restrict(dir: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_once_and_keeps_the_files_on_the_next_start() {
        crate::tls::install_crypto_provider();
        let dir = std::env::temp_dir().join(format!("gb-kpki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let layout = Layout::new(&dir);
        let first = prepare(&layout).unwrap();
        let key = std::fs::read_to_string(layout.sa_key()).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key:.40}");
        let line = std::fs::read_to_string(layout.token_file()).unwrap();
        assert_eq!(line, token_file_line(&first.admin_token));
        assert!(line.ends_with(",gatebench:admin,gatebench:admin,\"system:masters\"\n"));
        let second = prepare(&layout).unwrap();
        assert_eq!(second.admin_token, first.admin_token);
        assert_eq!(std::fs::read_to_string(layout.sa_key()).unwrap(), key);
        assert!(format!("{second:?}").find(&first.admin_token).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
