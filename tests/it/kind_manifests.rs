//! The real-cluster manifests hold together: every object in deploy/ parses strictly into its
//! k8s-openapi type, the kustomization covers them, and the Service, the gateway pods and
//! kind-config.yaml's port mappings agree.

use crate::kind_support;

use gatebench::kind::manifests::{Manifest, yaml_files};
use gatebench::kind::plan;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kind_support::*;
use kube::ResourceExt;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[test]
fn every_manifest_parses_and_the_expected_objects_exist() {
    let ids: BTreeSet<String> = manifests().iter().map(Manifest::id).collect();
    for expected in [
        "Namespace/gatebench-system",
        "Namespace/gatebench-load",
        "ServiceAccount/gatebench-system/gatebench-gateway",
        "ClusterRoleBinding/gatebench-gateway-auth-delegator",
        "ClusterRole/gatebench-signal-source",
        "ClusterRoleBinding/gatebench-signal-source",
        "ServiceAccount/gatebench-load/gatebench-loadgen",
        "Role/gatebench-load/gatebench-loadgen",
        "RoleBinding/gatebench-load/gatebench-loadgen",
        "ConfigMap/gatebench-system/gatebench-in-cluster-kubeconfig",
        "ConfigMap/gatebench-load/gatebench-in-cluster-kubeconfig",
        "Deployment/gatebench-system/gatebench-gateway",
        "Service/gatebench-system/gatebench-gateway",
        "Job/gatebench-load/gatebench-load",
    ] {
        assert!(
            ids.contains(expected),
            "{expected} missing from deploy/: {ids:?}"
        );
    }
}

#[test]
fn kustomization_lists_exactly_the_top_level_manifests() {
    let deploy = repo().join("deploy");
    let kustomization = yaml(&deploy.join("kustomization.yaml"));
    let listed: BTreeSet<PathBuf> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| deploy.join(r.as_str().unwrap()))
        .collect();
    let on_disk: BTreeSet<PathBuf> = yaml_files(&deploy)
        .unwrap()
        .into_iter()
        .filter(|p| p.parent() == Some(deploy.as_path()))
        .collect();
    assert_eq!(listed, on_disk);
    // The Job starts load as soon as it exists, so `apply -k` must not create it.
    assert!(!listed.iter().any(|p| p.starts_with(deploy.join("jobs"))));
}

#[test]
fn every_namespaced_object_lives_in_a_declared_namespace() {
    let all = manifests();
    let declared: BTreeSet<String> = all
        .iter()
        .filter_map(|m| match m {
            Manifest::Namespace(n) => Some(n.name_any()),
            _ => None,
        })
        .collect();
    for m in &all {
        let id = m.id();
        let parts: Vec<&str> = id.split('/').collect();
        if parts.len() == 3 {
            assert!(
                declared.contains(parts[1]),
                "{id}: namespace not declared in deploy/"
            );
        }
    }
}

#[test]
fn service_selects_the_gateway_pods_and_ports_match_kind_config() {
    let all = manifests();
    let deployment = gateway_deployment(&all);
    let service = gateway_service(&all);
    assert_eq!(service.namespace(), deployment.namespace());
    let spec = service.spec.clone().unwrap();
    let selector = spec.selector.clone().unwrap();
    let pod_labels = deployment
        .spec
        .clone()
        .template
        .metadata
        .unwrap()
        .labels
        .unwrap();
    let match_labels = deployment.spec.clone().selector.match_labels.unwrap();
    for (k, v) in &selector {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "Service selector {k}={v} matches no pod label"
        );
        assert_eq!(
            match_labels.get(k),
            Some(v),
            "Deployment selector differs from the Service's"
        );
    }
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    let container = &pod_spec(&deployment).containers[0];
    let mut node_ports = BTreeMap::new();
    for port in spec.ports.unwrap() {
        let name = port.name.clone().unwrap();
        match port.target_port.unwrap() {
            IntOrString::String(target) => {
                assert_eq!(target, name);
                port_of(container, &target);
            }
            IntOrString::Int(n) => panic!("use named target ports, got {n}"),
        }
        node_ports.insert(name, port.node_port.unwrap());
    }
    assert_eq!(
        node_ports,
        BTreeMap::from([
            ("api".into(), i32::from(plan::GATEWAY_API_NODEPORT)),
            ("metrics".into(), i32::from(plan::GATEWAY_METRICS_NODEPORT)),
        ])
    );

    let kind = yaml(&repo().join("kind-config.yaml"));
    let mapped: BTreeSet<i64> = kind["nodes"][0]["extraPortMappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(
                m["containerPort"], m["hostPort"],
                "host port differs from the NodePort"
            );
            assert_eq!(m["listenAddress"], "127.0.0.1", "expose only on loopback");
            m["containerPort"].as_i64().unwrap()
        })
        .collect();
    let exposed: BTreeSet<i64> = node_ports.values().map(|p| i64::from(*p)).collect();
    assert_eq!(mapped, exposed);
}
