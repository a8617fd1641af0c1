//! `gatebench decide --gateway in-cluster`: refused without a cluster; against a kind cluster with
//! deploy/ applied (ignored here: the embedded stand-in serves no apps/v1 Deployments).

use crate::decide_support;

use decide_support::*;
use gatebench::results::RunOutcome;
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

/// The stand-in has no apps/v1: each runnable plan fails naming the missing Deployment, and plans
/// the Deployment cannot serve are skipped with their reason, so the wiring is shown without kind.
#[test]
fn without_the_deployment_runs_fail_with_a_hint_and_cert_modes_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("cluster.kubeconfig");
    let mut apiserver = gatebench();
    apiserver
        .args(["apiserver", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig);
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _apiserver = KillOnDrop(spawn_logged(apiserver, dir.path(), "apiserver"));
    // The kubeconfig is written atomically once the stand-in accepts connections.
    wait_until(Duration::from_secs(60), "the stand-in's kubeconfig", || {
        kubeconfig.exists()
    });

    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "cached,mtls"])
        .args(["--gateway", "in-cluster", "--target"])
        .arg(format!("kubeconfig:{}", kubeconfig.display()))
        .arg("--out")
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(120), "decide");
    assert!(!status.success(), "{}", logs(dir.path(), "decide"));

    let results = read_results(&out);
    assert!(results.environment.target.ends_with("(gateway in-cluster)"));
    assert_eq!(results.runs.len(), 4);
    for run in &results.runs {
        match (&run.outcome, run.mode.as_str()) {
            (RunOutcome::Failed { error }, "cached") => {
                assert!(error.contains("apply deploy/ first"), "{}: {error}", run.id)
            }
            (RunOutcome::Skipped { reason }, "mtls") => {
                assert!(reason.contains("client CA"), "{}: {reason}", run.id)
            }
            (other, _) => panic!("{}: {other:?}", run.id),
        }
    }
    // No local gateway was started for any run.
    let logs_dir = std::fs::read_dir(out.join("logs")).unwrap();
    assert!(
        !logs_dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .any(|name| name.ends_with("-gateway.log")),
    );
    assert_consistent(&results, &read_html(&out));
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
        assert_eq!(
            run.server().gateway_cpu_secs,
            None,
            "no CPU figure for an in-cluster gateway"
        );
        let reviews = run
            .server()
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
            run.server().token_cache.is_some(),
            "{}: gateway metrics not scraped",
            run.id
        );
    }
    assert_consistent(&results, &read_html(&out));
}
