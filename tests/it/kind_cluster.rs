//! The whole real-cluster path on a real kind cluster: `kind up`, the gateway reachable on the
//! NodePorts from kind-config.yaml, distributed load from a Job collected per pod, `kind down`.
//! Needs kind, a Docker engine and kubectl: `cargo test --test kind_cluster -- --ignored`.

use gatebench::results::LoadSummary;
use std::path::PathBuf;
use std::process::Command;

const GATEBENCH: &str = env!("CARGO_BIN_EXE_gatebench");
const CLUSTER: &str = "gatebench-test";

fn gatebench(args: &[&str]) {
    let status = Command::new(GATEBENCH).args(args).status().unwrap();
    assert!(status.success(), "gatebench {args:?} failed");
}

/// Deletes the test cluster even when an assertion fails.
struct Cluster;
impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(GATEBENCH)
            .args(["kind", "down", "--name", CLUSTER])
            .status();
    }
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn up_serve_load_collect_down() {
    gatebench::tls::install_crypto_provider();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    let _cluster = Cluster;
    gatebench(&[
        "kind",
        "up",
        "--name",
        CLUSTER,
        "--repo",
        repo.to_str().unwrap(),
        "--kubeconfig-out",
        kubeconfig.to_str().unwrap(),
    ]);
    assert!(kube::config::Kubeconfig::read_from(&kubeconfig).is_ok());

    let http = reqwest::Client::new();
    let ready = http
        .get("http://127.0.0.1:30080/readyz")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let anonymous = http
        .post("http://127.0.0.1:30080/api/v1/signals/prometheus")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let metrics = http
        .get("http://127.0.0.1:30090/metrics")
        .send()
        .await
        .unwrap();
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("gatebench_auth_decisions_total")
    );

    let out = tmp.path().join("distributed");
    gatebench(&[
        "kind",
        "load",
        "--name",
        CLUSTER,
        "--parallelism",
        "2",
        "--rate",
        "20",
        "--duration",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut pods = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let dir = entry.unwrap().path();
        let summary: LoadSummary =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        assert!(
            summary.latency_us.count > 0,
            "{}: no requests recorded",
            dir.display()
        );
        assert_eq!(
            summary.status_counts.get("201").copied().unwrap_or(0)
                + summary.status_counts.get("202").copied().unwrap_or(0),
            summary.latency_us.count,
            "{}: every request from a load identity is accepted",
            dir.display()
        );
        assert!(dir.join("histogram.hlog").is_file());
        pods += 1;
    }
    assert_eq!(pods, 2);
}
