//! `gatebench decide --target kubeconfig:PATH` against a separately started stand-in: the real-cluster
//! code path (set-up through the API, API calls from the cluster's /metrics, fault scenarios skipped).

use crate::decide_support;

use decide_support::*;
use gatebench::results::RunOutcome;
use std::time::Duration;

#[test]
fn kubeconfig_target_measures_through_the_api_and_skips_fault_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("cluster.kubeconfig");
    let _apiserver = Server::stand_in(dir.path(), &kubeconfig);

    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "cached"])
        .args([
            "--scenarios",
            "steady,outage",
            "--expected-rps",
            "50",
            "--growth-rps",
            "100",
        ])
        .arg("--target")
        .arg(format!("kubeconfig:{}", kubeconfig.display()))
        .arg("--out")
        .arg(&out);
    decide_succeeds(cmd, dir.path(), Duration::from_secs(120));

    let results = read_results(&out);
    assert_eq!(
        results.environment.target,
        format!("kubeconfig:{}", kubeconfig.display())
    );
    // decide started no stand-in of its own.
    assert!(!out.join("logs/apiserver.log").exists());
    let ids: Vec<_> = results.runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "steady/none/50",
            "steady/cached/50",
            "steady/none/100",
            "steady/cached/100",
            "outage/cached"
        ]
    );
    for run in &results.runs[..4] {
        assert_measured(run);
    }
    // The API calls are the API server's own counts, as the model predicts them.
    for comparison in &results.comparisons {
        let check = comparison
            .model_checks
            .iter()
            .find(|m| m.mode == "cached" && m.api == "tokenreviews")
            .expect("model check of the token cache");
        assert!(check.measured.is_some(), "{check:?}");
        assert_eq!(check.agrees, Some(true), "{check:?}");
    }
    match &results.runs[4].outcome {
        RunOutcome::Skipped { reason } => assert!(reason.contains("real cluster"), "{reason}"),
        other => panic!("outage on a kubeconfig target must be skipped, got {other:?}"),
    }
    assert_consistent(&results, &read_html(&out));
}
