//! Helpers shared by the tests of the kind path's manifests.
#![allow(dead_code)] // each test file uses a different subset

use gatebench::kind::manifests::{Manifest, load_dir};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec, Service};
use kube::ResourceExt;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn manifests() -> Vec<Manifest> {
    load_dir(&repo().join("deploy"))
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

pub fn yaml(path: &Path) -> serde_json::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn gateway_deployment(all: &[Manifest]) -> Deployment {
    let found: Vec<_> = all
        .iter()
        .filter_map(|m| match m {
            Manifest::Deployment(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one Deployment expected");
    found.into_iter().next().unwrap()
}

pub fn gateway_service(all: &[Manifest]) -> Service {
    let found: Vec<_> = all
        .iter()
        .filter_map(|m| match m {
            Manifest::Service(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one Service expected");
    found.into_iter().next().unwrap()
}

pub fn pod_spec(d: &Deployment) -> PodSpec {
    d.spec.clone().template.spec.unwrap()
}

pub fn arg_value(c: &Container, flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    c.args
        .iter()
        .flatten()
        .find_map(|a| a.strip_prefix(&prefix).map(str::to_string))
}

pub fn port_of(c: &Container, name: &str) -> i32 {
    c.ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("container port `{name}`"))
        .container_port
}

/// The `--kubeconfig` file comes from a ConfigMap in the pod's namespace, mounted where the flag says.
pub fn assert_kubeconfig_mounted(
    all: &[Manifest],
    pod: &PodSpec,
    ns: &str,
    c: &Container,
    flag: &str,
) {
    let path = arg_value(c, flag).unwrap();
    let (dir, file) = path.rsplit_once('/').unwrap();
    let mount = c
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.mount_path == dir)
        .unwrap_or_else(|| panic!("nothing mounted at {dir}"));
    let volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == mount.name)
        .unwrap();
    let cm_name = volume.config_map.as_ref().unwrap().name.clone();
    let cm = all
        .iter()
        .find_map(|m| match m {
            Manifest::ConfigMap(cm)
                if cm.name_any() == cm_name && cm.namespace().as_deref() == Some(ns) =>
            {
                Some(cm.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("ConfigMap {ns}/{cm_name} missing"));
    let text = cm.data.unwrap().get(file).cloned().unwrap();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    let user = kubeconfig.auth_infos[0].auth_info.clone().unwrap();
    assert_eq!(
        user.token_file.as_deref(),
        Some("/var/run/secrets/kubernetes.io/serviceaccount/token")
    );
}
