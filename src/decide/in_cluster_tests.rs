//! Unit tests of the in-cluster gateway's pure parts: args, patch, rollout predicate, skip decision.

use super::*;
use crate::decide::matrix::{MatrixInput, gateway_modes, plan};
use crate::decide::profile::{Profile, ProfileSpec};
use crate::results::Scenario;
use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn local_only_flags_are_replaced_by_the_pods_own() {
    let local = strings(&[
        "gateway",
        "--kubeconfig",
        "/tmp/w/gateway.kubeconfig",
        "--auth",
        "cached",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen=127.0.0.1:0",
        "--namespace",
        "gatebench-system",
        "--tls-cert",
        "/tmp/w/pki/server.pem",
        "--tls-key",
        "/tmp/w/pki/server-key.pem",
        "--crl",
        "/tmp/w/r.crl",
        "--token-cache-ttl",
        "5s",
        "--kube-qps",
        "50",
    ]);
    let args = in_cluster_args(&local);
    assert_eq!(
        args,
        strings(&[
            "gateway",
            "--kubeconfig=/etc/gatebench/kubeconfig",
            "--listen=0.0.0.0:8080",
            "--metrics-listen=0.0.0.0:9090",
            "--auth",
            "cached",
            "--namespace",
            "gatebench-system",
            "--token-cache-ttl",
            "5s",
            "--kube-qps",
            "50",
        ])
    );
    assert!(!args.iter().any(|a| a.contains("/tmp/")), "{args:?}");
}

#[test]
fn patch_replaces_the_gateway_containers_args_and_marks_the_run() {
    let args = strings(&["gateway", "--auth", "jwks"]);
    let patch = patch_json(&args, "steady/jwks/100-1");
    let template = &patch["spec"]["template"];
    assert_eq!(
        template["metadata"]["annotations"][RUN_ANNOTATION],
        "steady/jwks/100-1"
    );
    let containers = template["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], CONTAINER);
    assert_eq!(containers[0]["args"], serde_json::json!(args));
    // The container entry must be a valid Container, or the API server rejects the patch.
    let parsed: Container = serde_json::from_value(containers[0].clone()).unwrap();
    assert_eq!(parsed.name, CONTAINER);
    assert_eq!(parsed.args.as_deref(), Some(args.as_slice()));
}

fn deployment(generation: i64, status: Option<DeploymentStatus>) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            generation: Some(generation),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(1),
            ..Default::default()
        },
        status,
    }
}

fn status(
    observed: i64,
    replicas: i32,
    updated: i32,
    ready: i32,
    available: i32,
) -> DeploymentStatus {
    DeploymentStatus {
        observed_generation: Some(observed),
        replicas: Some(replicas),
        updated_replicas: Some(updated),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        ..Default::default()
    }
}

#[test]
fn rollout_completes_only_when_the_new_replica_alone_is_available() {
    assert!(rollout_complete(&deployment(
        3,
        Some(status(3, 1, 1, 1, 1))
    )));
    assert!(!rollout_complete(&deployment(3, None)));
    // The controller has not seen the patch yet: the old pod's status says nothing.
    assert!(!rollout_complete(&deployment(
        3,
        Some(status(2, 1, 1, 1, 1))
    )));
    // New pod created but not ready yet.
    assert!(!rollout_complete(&deployment(
        3,
        Some(status(3, 2, 1, 1, 1))
    )));
    assert!(!rollout_complete(&deployment(
        3,
        Some(status(3, 1, 1, 0, 0))
    )));
    assert!(!rollout_complete(&deployment(
        3,
        Some(status(3, 1, 1, 1, 0))
    )));
    assert!(!rollout_complete(&deployment(
        3,
        Some(status(3, 1, 0, 1, 1))
    )));
}

#[test]
fn skips_cert_modes_crl_revocation_and_handshakes_only() {
    let spec = ProfileSpec::of(Profile::Standard);
    let plans = plan(
        &spec,
        &MatrixInput {
            modes: gateway_modes(),
            scenarios: Vec::new(),
            expected_rps: 100.0,
            growth_rps: 1000.0,
            slo_p99_us: 2000,
            // The in-cluster gateway is one Deployment: steady runs one mode at a time.
            paired: false,
            apiserver_token_cache_secs: 10.0,
        },
    );
    let mut ran = 0;
    for p in &plans {
        let reason = skip_reason(p);
        let expect_skip = matches!(p.mode(), Mode::Mtls | Mode::Hybrid)
            || p.needs_crl
            || p.scenario == Scenario::Handshake;
        assert_eq!(reason.is_some(), expect_skip, "{}: {reason:?}", p.id);
        ran += usize::from(reason.is_none());
    }
    assert!(ran > 0);
    let steady_cached = plans
        .iter()
        .find(|p| p.id.starts_with("steady/cached/"))
        .unwrap();
    assert_eq!(skip_reason(steady_cached), None);
}

#[test]
fn metrics_url_is_the_base_the_scraper_extends() {
    let (api, metrics) = host_urls();
    assert_eq!(api, "http://127.0.0.1:30080");
    assert_eq!(metrics, "http://127.0.0.1:30090");
}

#[test]
fn container_args_are_read_from_the_gateway_container() {
    let mut d = deployment(1, None);
    assert!(container_args(&d).is_empty());
    let manifest = include_str!("../../deploy/gateway-deployment.yaml");
    d = serde_yaml_ng::from_str(manifest).unwrap();
    let args = container_args(&d);
    assert_eq!(args.first().map(String::as_str), Some("gateway"));
    assert!(args.contains(&"--auth=cached".to_string()), "{args:?}");
    // The manifest's pod flags are the ones the patch puts back.
    for flag in POD_ARGS {
        assert!(
            args.contains(&flag.to_string()),
            "{flag} missing from {args:?}"
        );
    }
}
