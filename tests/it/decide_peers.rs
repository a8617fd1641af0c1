//! Peers measured beside the reference gateway's modes: a gateway the user runs
//! (`--gateway external:URL`, here a separately started `gatebench gateway` standing in for the
//! user's build), and kube-rbac-proxy as a mode (built by scripts/install-kube-apiserver.sh).

use crate::decide_support;

use decide_support::*;
use gatebench::results::{RunOutcome, RunRecord};
use std::time::Duration;

fn run<'a>(results: &'a gatebench::results::Results, id: &str) -> &'a RunRecord {
    results
        .runs
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no run {id} in {:?}", ids(results)))
}

fn ids(results: &gatebench::results::Results) -> Vec<&str> {
    results.runs.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn an_external_gateway_is_measured_beside_the_floor_with_api_calls_from_the_api_server() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("cluster.kubeconfig");
    let kc = kubeconfig.display().to_string();
    let _apiserver = Server::stand_in(dir.path(), &kubeconfig);
    // The user's gateway: its own process, its own (admin) credentials, plain HTTP.
    let gateway = Server::start(
        &[
            "gateway",
            "--kubeconfig",
            &kc,
            "--auth",
            "cached",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        dir.path(),
        "gateway",
    );

    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "none"])
        .args(["--scenarios", "steady,saturation,revocation"])
        .args(["--expected-rps", "50", "--growth-rps", "50"])
        .arg("--target")
        .arg(format!("kubeconfig:{kc}"))
        .arg("--gateway")
        .arg(format!("external:{}", gateway.field("url")))
        .args(["--gateway-metrics", &gateway.field("metrics_url")])
        .args(["--gateway-pid", &gateway.pid().to_string()])
        .arg("--out")
        .arg(&out);
    decide_succeeds(cmd, dir.path(), Duration::from_secs(180));

    let results = read_results(&out);
    assert_eq!(
        ids(&results),
        [
            "steady/none/50",
            "steady/external/50",
            "saturation/none",
            "saturation/external",
            "revocation/external"
        ]
    );
    for id in [
        "steady/none/50",
        "steady/external/50",
        "saturation/external",
    ] {
        assert_measured(run(&results, id));
    }
    // The saturation ramp's fresh identities cost the external gateway TokenReviews, counted by
    // the API server it talks to; its metrics were given, so its cache counters were read.
    let ramp = run(&results, "saturation/external").server();
    let reviews = ramp.apiserver_calls.get("tokenreviews");
    assert!(reviews.is_some_and(|n| *n > 0), "{ramp:?}");
    assert!(ramp.token_cache.is_some(), "{ramp:?}");
    let comparison = &results.comparisons[0];
    assert!(
        comparison
            .mode("external")
            .is_some_and(|m| m.cost_us.is_some()),
        "{comparison:?}"
    );
    match &run(&results, "revocation/external").outcome {
        RunOutcome::Skipped { reason } => assert!(reason.contains("TTL"), "{reason}"),
        other => panic!("revocation of an external gateway is skipped, got {other:?}"),
    }
    let html = read_html(&out);
    assert!(html.contains("external"), "the report names the column");
    assert_consistent(&results, &html);
}

#[test]
fn kube_rbac_proxy_runs_as_a_mode_with_its_own_ttls_and_both_processes_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args([
        "decide",
        "--profile",
        "tiny",
        "--modes",
        "none,kube-rbac-proxy",
    ])
    .args(["--scenarios", "steady"])
    .args(["--expected-rps", "50", "--growth-rps", "50"])
    .arg("--out")
    .arg(&out);
    decide_succeeds(cmd, dir.path(), Duration::from_secs(180));

    let results = read_results(&out);
    assert_eq!(
        ids(&results),
        ["steady/none/50", "steady/kube-rbac-proxy/50"]
    );
    let proxy = run(&results, "steady/kube-rbac-proxy/50");
    assert_measured(proxy);
    // Its CPU is both processes', the upstream's share inside it.
    let server = proxy.server();
    let (all, upstream) = (server.gateway_cpu_secs.unwrap(), server.upstream_cpu_secs);
    assert!(upstream.is_some_and(|u| u > 0.0 && u < all), "{server:?}");
    // The model with kube-rbac-proxy's compiled-in TTLs predicts the API server's counts.
    let checks: Vec<_> = results.comparisons[0]
        .model_checks
        .iter()
        .filter(|m| m.mode == "kube-rbac-proxy")
        .collect();
    assert_eq!(checks.len(), 2, "{checks:?}");
    for check in checks {
        assert_eq!(check.agrees, Some(true), "{check:?}");
    }
    let html = read_html(&out);
    assert!(html.contains("the upstream spent"), "upstream share shown");
    assert_consistent(&results, &html);
    // decide stopped the proxy it started.
    assert!(processes_mentioning(&out.display().to_string()).is_empty());
}
