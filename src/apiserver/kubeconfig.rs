//! The admin kubeconfig of a running stand-in: built as YAML, parsed by kube, written atomically.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::config::Kubeconfig;
use serde_json::json;

use super::{Error, Result};

/// Context, cluster and user name used in generated kubeconfigs.
pub const CONTEXT_NAME: &str = "gatebench";

/// Kubeconfig YAML with the server URL, CA data (HTTPS) and a bearer-token user.
pub fn render(url: &str, ca_pem: Option<&str>, token: &str) -> Result<String> {
    let mut cluster = json!({"server": url});
    if let Some(ca_pem) = ca_pem {
        cluster["certificate-authority-data"] = STANDARD.encode(ca_pem).into();
    }
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": cluster}],
        "users": [{"name": CONTEXT_NAME, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME}}],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    });
    serde_yaml_ng::to_string(&document).map_err(|e| Error::Kubeconfig(e.to_string()))
}

pub fn parse(yaml: &str) -> Result<Kubeconfig> {
    Kubeconfig::from_yaml(yaml).map_err(|e| Error::Kubeconfig(e.to_string()))
}

/// Writes `yaml` to `path` through a temp file in the same directory and a rename, so readers never
/// see a partial file. Mode 0600: it holds an admin token.
pub fn write_atomic(yaml: &str, path: &Path) -> Result<()> {
    Ok(crate::fsutil::write_atomic(
        path,
        yaml.as_bytes(),
        crate::fsutil::PRIVATE,
    )?)
}
