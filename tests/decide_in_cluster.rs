//! `gatebench decide --gateway in-cluster`: refused without a cluster; against a kind cluster with
//! deploy/ applied (ignored here: the embedded stand-in serves no apps/v1 Deployments).

mod decide_support;

use decide_support::*;
use std::time::Duration;

#[test]
fn in_cluster_gateway_is_refused_for_the_embedded_target() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "cached"])
        .args(["--gateway", "in-cluster", "--out"])
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(30), "decide");
    let text = logs(dir.path(), "decide");
    assert!(!status.success(), "{text}");
    assert!(
        text.contains("--gateway in-cluster needs --target kubeconfig"),
        "{text}"
    );
    // Refused before anything started or was written.
    assert!(!out.join("results.json").exists());
}

/// Run with a kind cluster made by `gatebench kind up` (image loaded, deploy/ applied) and
/// KUBECONFIG pointing at it: `cargo test --test decide_in_cluster -- --ignored`.
#[test]
#[ignore = "needs cluster"]
fn in_cluster_gateway_measures_through_the_nodeports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args([
        "decide",
        "--target",
        "kubeconfig",
        "--gateway",
        "in-cluster",
    ])
    .args(["--profile", "tiny", "--modes", "cached", "--out"])
    .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(600), "decide");
    assert!(
        status.success(),
        "decide failed: {}",
        logs(dir.path(), "decide")
    );

    let results = read_results(&out);
    assert!(
        results.environment.target.ends_with("(gateway in-cluster)"),
        "{}",
        results.environment.target
    );
    assert!(!results.runs.is_empty());
    for run in &results.runs {
        assert_measured(run);
        assert_eq!(
            run.params.get("gateway_cpu").and_then(|v| v.as_str()),
            Some("not measured (in-cluster)"),
            "{}",
            run.id
        );
        assert_eq!(run.gateway_cpu_secs, 0.0);
        let reviews = run
            .apiserver_calls
            .get("tokenreviews")
            .copied()
            .unwrap_or(0);
        let requests = run.load.as_ref().unwrap().latency_us.count;
        // The in-cluster gateway did the reviewing, and its cache kept them below one per request.
        assert!(
            reviews >= 1 && reviews < requests,
            "{}: {reviews} for {requests}",
            run.id
        );
        assert!(
            run.token_cache.is_some(),
            "{}: gateway metrics not scraped",
            run.id
        );
    }
    assert_consistent(&results, &read_html(&out));
}
