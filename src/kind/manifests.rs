//! Reads the plain-YAML manifests in `deploy/` into k8s-openapi types, strictly: an unknown kind
//! or a field the type does not know (a typo that `kubectl apply` might only warn about) is an error.

use super::{Error, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// One object from `deploy/`. Only the kinds gatebench deploys; anything else is rejected.
// A dozen objects parsed once per command: boxing the big variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Manifest {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
    Role(Role),
    RoleBinding(RoleBinding),
    Deployment(Deployment),
    Service(Service),
    Job(Job),
}

impl Manifest {
    /// `Kind/namespace/name` (namespace omitted for cluster-scoped objects), for messages and lookups.
    pub fn id(&self) -> String {
        use kube::ResourceExt;
        let (kind, ns, name) = match self {
            Manifest::Namespace(o) => ("Namespace", o.namespace(), o.name_any()),
            Manifest::ServiceAccount(o) => ("ServiceAccount", o.namespace(), o.name_any()),
            Manifest::ConfigMap(o) => ("ConfigMap", o.namespace(), o.name_any()),
            Manifest::ClusterRole(o) => ("ClusterRole", o.namespace(), o.name_any()),
            Manifest::ClusterRoleBinding(o) => ("ClusterRoleBinding", o.namespace(), o.name_any()),
            Manifest::Role(o) => ("Role", o.namespace(), o.name_any()),
            Manifest::RoleBinding(o) => ("RoleBinding", o.namespace(), o.name_any()),
            Manifest::Deployment(o) => ("Deployment", o.namespace(), o.name_any()),
            Manifest::Service(o) => ("Service", o.namespace(), o.name_any()),
            Manifest::Job(o) => ("Job", o.namespace(), o.name_any()),
        };
        match ns {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        }
    }
}

/// Parses every document of a multi-document YAML stream. `origin` names the source in errors.
pub fn parse_documents(text: &str, origin: &str) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let err = |message: String| Error::Manifest {
            path: origin.to_string(),
            index,
            message,
        };
        let value = serde_json::Value::deserialize(document).map_err(|e| err(e.to_string()))?;
        if value.is_null() {
            continue; // an empty document, e.g. a trailing `---`
        }
        out.push(to_manifest(value).map_err(err)?);
    }
    Ok(out)
}

fn to_manifest(value: serde_json::Value) -> std::result::Result<Manifest, String> {
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .ok_or("no `kind`")?
        .to_string();
    Ok(match kind.as_str() {
        "Namespace" => Manifest::Namespace(strict(value)?),
        "ServiceAccount" => Manifest::ServiceAccount(strict(value)?),
        "ConfigMap" => Manifest::ConfigMap(strict(value)?),
        "ClusterRole" => Manifest::ClusterRole(strict(value)?),
        "ClusterRoleBinding" => Manifest::ClusterRoleBinding(strict(value)?),
        "Role" => Manifest::Role(strict(value)?),
        "RoleBinding" => Manifest::RoleBinding(strict(value)?),
        "Deployment" => Manifest::Deployment(strict(value)?),
        "Service" => Manifest::Service(strict(value)?),
        "Job" => Manifest::Job(strict(value)?),
        other => return Err(format!("kind `{other}` is not one gatebench deploys")),
    })
}

/// Deserializes into `T` and requires the result to serialize back to the same JSON. k8s-openapi
/// ignores unknown fields, so this round trip is what catches a misspelt or misplaced field.
fn strict<T: DeserializeOwned + serde::Serialize>(
    value: serde_json::Value,
) -> std::result::Result<T, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    match first_difference(&value, &back, "") {
        None => Ok(typed),
        Some(path) => Err(format!(
            "field `{path}` is not understood by the {} type (misspelt, misplaced or wrong type?)",
            value["kind"].as_str().unwrap_or("?")
        )),
    }
}

/// The JSON path of the first place `written` and `understood` differ.
fn first_difference(
    written: &serde_json::Value,
    understood: &serde_json::Value,
    at: &str,
) -> Option<String> {
    use serde_json::Value;
    match (written, understood) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(key, value)| {
            let path = format!("{at}.{key}");
            match b.get(key) {
                Some(other) => first_difference(value, other, &path),
                None => Some(path),
            }
        }),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]"))),
        (a, b) if a == b => None,
        _ => Some(at.to_string()),
    }
}

/// Every `*.yaml`/`*.yml` under `dir` (recursively, sorted) except `kustomization.yaml`, parsed.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>> {
    let mut out = Vec::new();
    for path in yaml_files(dir)? {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
        for manifest in parse_documents(&text, &path.display().to_string())? {
            out.push((path.clone(), manifest));
        }
    }
    Ok(out)
}

/// The YAML files under `dir` that hold Kubernetes objects, sorted for stable output.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| Error::io(current.display(), e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(current.display(), e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                pending.push(path);
            } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
                && name != "kustomization.yaml"
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multi_document_yaml() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\
                    apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: s\n  namespace: a\n---\n";
        let docs = parse_documents(text, "t").unwrap();
        let ids: Vec<_> = docs.iter().map(Manifest::id).collect();
        assert_eq!(ids, ["Namespace/a", "ServiceAccount/a/s"]);
    }

    #[test]
    fn rejects_unknown_kind() {
        let err = parse_documents("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`Pod`"), "{err}");
    }

    #[test]
    fn rejects_misplaced_field() {
        // `serviceAccount` belongs in the pod spec, not the Deployment spec.
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  \
                    serviceAccount: x\n  selector: {}\n  template: {}\n";
        let err = parse_documents(text, "t").unwrap_err().to_string();
        assert!(err.contains(".spec.serviceAccount"), "{err}");
    }

    #[test]
    fn rejects_wrong_api_version() {
        let text = "apiVersion: v1\nkind: Deployment\nmetadata:\n  name: d\n";
        assert!(parse_documents(text, "t").is_err());
    }
}
