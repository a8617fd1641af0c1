//! `gatebench decide --target kube-apiserver`: a tiny matrix against a real kube-apiserver + etcd that
//! decide starts and stops itself; versions recorded, API calls from kube-apiserver's own metrics.

use crate::decide_support;

use decide_support::*;
use gatebench::results::RunOutcome;
use std::time::Duration;

#[test]
fn kube_apiserver_target_measures_and_records_versions_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let mut cmd = gatebench();
    cmd.args(["decide", "--profile", "tiny", "--modes", "none,tokenreview"])
        .args([
            "--scenarios",
            "steady,outage",
            "--expected-rps",
            "50",
            "--growth-rps",
            "100",
        ])
        .args(["--target", "kube-apiserver", "--out"])
        .arg(&out);
    let mut child = spawn_logged(cmd, dir.path(), "decide");
    let status = wait_with_deadline(&mut child, Duration::from_secs(300), "decide");
    assert!(
        status.success(),
        "decide failed: {}",
        logs(dir.path(), "decide")
    );

    let results = read_results(&out);
    assert_eq!(results.environment.target, "kube-apiserver");
    assert_eq!(
        results.environment.kube_apiserver_version.as_deref(),
        Some(gatebench::kubeapiserver::K8S_VERSION)
    );
    assert!(
        results
            .environment
            .etcd_version
            .as_deref()
            .is_some_and(|v| v.starts_with("3."))
    );
    for run in results
        .runs
        .iter()
        .filter(|r| r.id.starts_with("steady/tokenreview"))
    {
        assert_measured(run);
        let requests = run.load.as_ref().unwrap().latency_us.count;
        // Uncached: one TokenReview per request, counted by kube-apiserver's apiserver_request_total.
        let reviews = run.server().tokenreviews();
        assert_eq!(reviews, Some(requests), "{}", run.id);
    }
    let outage = results
        .runs
        .iter()
        .find(|r| r.id.starts_with("outage/"))
        .unwrap();
    match &outage.outcome {
        RunOutcome::Skipped { reason } => assert!(reason.contains("kube-apiserver"), "{reason}"),
        other => panic!("outage needs injected faults, got {other:?}"),
    }
    let html = read_html(&out);
    assert!(
        html.contains(&format!(
            "kube-apiserver {}, etcd 3.",
            gatebench::kubeapiserver::K8S_VERSION
        )),
        "How it was measured names the API server"
    );
    assert_consistent(&results, &html);
    let dir_text = out.display().to_string();
    wait_until(
        Duration::from_secs(10),
        "kube-apiserver and etcd stopped",
        || {
            processes_mentioning("kube-apiserver")
                .iter()
                .chain(&processes_mentioning("etcd"))
                .all(|pid| {
                    // Other tests' servers may run; ours were started for this decide's work dir.
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    !String::from_utf8_lossy(&cmdline).contains(&dir_text)
                })
        },
    );
}
