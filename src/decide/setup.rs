//! Identities, RBAC and PKI for a decide run, through the Kubernetes API only (same on a real cluster).

use crate::kubesetup::{self, RbacSetup};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error("building a client from {path}: {reason}")]
    Client { path: PathBuf, reason: String },
    #[error("setting up {what} through the Kubernetes API: {reason}")]
    Kube { what: &'static str, reason: String },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the PKI: {0}")]
    Pki(String),
    #[error("writing an empty CRL to {path}: {reason}")]
    Crl { path: PathBuf, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;

pub const GATEWAY_NAMESPACE: &str = "gatebench-system";
pub const LOAD_NAMESPACE: &str = "gatebench-load";
pub const GATEWAY_SERVICE_ACCOUNT: &str = "gatebench-gateway";
/// kube-rbac-proxy's own identity (bound to `system:auth-delegator`, as its docs deploy it).
pub const KRP_SERVICE_ACCOUNT: &str = "kube-rbac-proxy";
/// Organisation (O) of the load client certificates; the gateway maps it to a group.
pub const CLIENT_CERT_GROUP: &str = "gatebench-signal-clients";
/// Client certificates made: enough for the largest profile's identities.
pub const CLIENT_CERTS: u32 = 100;
/// Lifetime asked for the gateway's own ServiceAccount token (clusters may cap it).
const GATEWAY_TOKEN_SECS: i64 = 24 * 3600;

/// What the runs need from set-up.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Kubeconfig with the gateway ServiceAccount's token (system:auth-delegator, not admin).
    pub gateway_kubeconfig: PathBuf,
    /// Kubeconfig with kube-rbac-proxy's ServiceAccount token (system:auth-delegator).
    pub krp_kubeconfig: PathBuf,
    /// Output of `gatebench pki` (ca.pem, server.pem, client-N.pem, ...).
    pub pki_dir: PathBuf,
    pub gateway_namespace: String,
    pub load_namespace: String,
}

impl Prepared {
    /// Writes a CRL revoking nothing, for a gateway started with `--crl` before any revocation.
    pub fn empty_crl(&self, out: &Path) -> Result<()> {
        crate::pki::write_crl(&self.pki_dir, &[], out).map_err(|e| Error::Crl {
            path: out.to_path_buf(),
            reason: e.to_string(),
        })
    }
}

/// An admin client from a kubeconfig file (the stand-in's or a real cluster's).
pub async fn admin_client(path: &Path) -> Result<kube::Client> {
    let kubeconfig = Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
        path: path.to_path_buf(),
        source,
    })?;
    let client_err = |reason: String| Error::Client {
        path: path.to_path_buf(),
        reason,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| client_err(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| client_err(e.to_string()))
}

fn kube_err(what: &'static str) -> impl Fn(kubesetup::Error) -> Error {
    move |e| Error::Kube {
        what,
        reason: e.to_string(),
    }
}

/// Namespaces, the gateway's ServiceAccount and RBAC, its kubeconfig, and the PKI.
pub async fn prepare(
    client: &kube::Client,
    admin_kubeconfig: &Path,
    work_dir: &Path,
) -> Result<Prepared> {
    kubesetup::setup_gateway_rbac(
        client,
        &RbacSetup {
            gateway_namespace: GATEWAY_NAMESPACE.into(),
            load_namespace: LOAD_NAMESPACE.into(),
            ..RbacSetup::default()
        },
    )
    .await
    .map_err(kube_err("gateway RBAC"))?;
    // Client-certificate identities get the same permission as the load ServiceAccounts.
    kubesetup::bind_cluster_role(
        client,
        "gatebench-signal-source-clients",
        "gatebench-signal-source",
        vec![kubesetup::group_subject(CLIENT_CERT_GROUP)],
    )
    .await
    .map_err(kube_err("client-certificate RBAC"))?;
    // jwks mode reads the issuer's discovery document and keys with the gateway's own identity;
    // real clusters grant this role to every ServiceAccount, this makes it explicit everywhere.
    kubesetup::bind_cluster_role(
        client,
        "gatebench-gateway-issuer-discovery",
        "system:service-account-issuer-discovery",
        vec![kubesetup::service_account_subject(
            GATEWAY_NAMESPACE,
            GATEWAY_SERVICE_ACCOUNT,
        )],
    )
    .await
    .map_err(kube_err("issuer discovery RBAC"))?;

    kubesetup::ensure_service_account(client, GATEWAY_NAMESPACE, KRP_SERVICE_ACCOUNT)
        .await
        .map_err(kube_err("kube-rbac-proxy's ServiceAccount"))?;
    kubesetup::bind_cluster_role(
        client,
        "gatebench-kube-rbac-proxy-auth-delegator",
        "system:auth-delegator",
        vec![kubesetup::service_account_subject(
            GATEWAY_NAMESPACE,
            KRP_SERVICE_ACCOUNT,
        )],
    )
    .await
    .map_err(kube_err("kube-rbac-proxy RBAC"))?;

    let admin = Kubeconfig::read_from(admin_kubeconfig).map_err(|source| Error::Kubeconfig {
        path: admin_kubeconfig.to_path_buf(),
        source,
    })?;
    let gateway_kubeconfig = work_dir.join("gateway.kubeconfig");
    identity_kubeconfig(client, &admin, GATEWAY_SERVICE_ACCOUNT, &gateway_kubeconfig).await?;
    let krp_kubeconfig = work_dir.join("kube-rbac-proxy.kubeconfig");
    identity_kubeconfig(client, &admin, KRP_SERVICE_ACCOUNT, &krp_kubeconfig).await?;

    let pki_dir = work_dir.join("pki");
    make_pki(&pki_dir)?;
    Ok(Prepared {
        gateway_kubeconfig,
        krp_kubeconfig,
        pki_dir,
        gateway_namespace: GATEWAY_NAMESPACE.into(),
        load_namespace: LOAD_NAMESPACE.into(),
    })
}

/// Writes the admin kubeconfig's cluster with a token of `service_account` (gateway namespace).
async fn identity_kubeconfig(
    client: &kube::Client,
    admin: &Kubeconfig,
    service_account: &str,
    out: &Path,
) -> Result<()> {
    let token = kubesetup::request_token(
        client,
        GATEWAY_NAMESPACE,
        service_account,
        &[],
        GATEWAY_TOKEN_SECS,
    )
    .await
    .map_err(kube_err("a gateway token"))?;
    let yaml = serde_yaml_ng::to_string(&kubesetup::kubeconfig_with_token(admin, &token))
        .expect("a Kubeconfig serializes to YAML");
    write_private(out, yaml.as_bytes())
}

/// Writes a credential file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)
}

fn make_pki(dir: &Path) -> Result<()> {
    crate::pki::generate(&crate::pki::Args {
        out: dir.to_path_buf(),
        clients: CLIENT_CERTS,
        client_cn_prefix: "gatebench-client-".into(),
        client_org: CLIENT_CERT_GROUP.into(),
    })
    .map_err(|e| Error::Pki(e.to_string()))
}
