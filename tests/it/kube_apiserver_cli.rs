//! `gatebench kube-apiserver` as a process: the listening line, outages through its fault endpoint
//! (hang, refused, recovered on the same URL with tokens still valid), and a stop that leaves no process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::apiserver_common::eventually;

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Field 4 (after the parenthesised command name) is the parent pid.
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        if after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) == Some(pid) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat[stat.rfind(')').unwrap_or(0) + 1..]
            .trim_start()
            .starts_with('Z')
    })
}

#[tokio::test]
async fn outages_recover_on_the_same_url_and_sigterm_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args(["kube-apiserver", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(240), lines.next_line())
        .await
        .expect("listening within 240 s")
        .unwrap()
        .expect("a listening line (are the binaries built? scripts/install-kube-apiserver.sh)");
    let listening: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(listening["event"], "listening");
    assert_eq!(
        listening["kube_apiserver_version"],
        gatebench::kubeapiserver::K8S_VERSION
    );
    assert!(
        listening["etcd_version"]
            .as_str()
            .unwrap()
            .starts_with("3.")
    );
    let url = listening["url"].as_str().unwrap().to_string();
    let faults = listening["faults_url"].as_str().unwrap().to_string();
    let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let token = doc["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ca = doc["clusters"][0]["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(ca)
        .unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let ready = |http: reqwest::Client| {
        let (url, token) = (url.clone(), token.clone());
        async move {
            http.get(format!("{url}/readyz"))
                .bearer_auth(&token)
                .send()
                .await
                .is_ok_and(|a| a.status().is_success())
        }
    };
    assert!(ready(http.clone()).await);
    let put = |body: Value| {
        let (http, faults, token) = (http.clone(), faults.clone(), token.clone());
        async move {
            let answer = http
                .put(&faults)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                answer.status().as_u16(),
                answer.json::<Value>().await.unwrap(),
            )
        }
    };
    // Without the admin token: 401; a fault a real server cannot make: 422 naming why.
    let anonymous = http.put(&faults).json(&json!({})).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let (code, body) = put(json!({"latency": {"tokenreviews": {"kind": "fixed", "ms": 5}}})).await;
    assert_eq!(code, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("not available"),
        "{body}"
    );

    let (code, _) = put(json!({"outage": {"kind": "hang"}})).await;
    assert_eq!(code, 200);
    assert!(
        !ready(http.clone()).await,
        "a SIGSTOPped kube-apiserver answered"
    );
    let (code, _) = put(json!({"outage": {"kind": "reset", "duration_secs": 1}})).await;
    assert_eq!(code, 200);
    let refused = http.get(format!("{url}/readyz")).send().await.unwrap_err();
    assert!(refused.is_connect(), "{refused}");
    // The timed outage ends by itself: restarted on the same port and data dir.
    assert!(eventually(Duration::from_secs(120), || ready(http.clone())).await);

    let supervisor = child.id().unwrap();
    let processes = children_of(supervisor);
    assert!(
        processes.len() >= 2,
        "etcd and kube-apiserver expected, found {processes:?}"
    );
    assert!(gatebench::fsutil::terminate(supervisor));
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit}");
    assert!(
        eventually(Duration::from_secs(10), || async {
            !processes.iter().any(|p| alive(*p))
        })
        .await,
        "left running: {processes:?}"
    );
    let data_dir = listening["data_dir"].as_str().unwrap();
    assert!(
        !Path::new(data_dir).exists(),
        "temp data dir {data_dir} not removed"
    );
}

#[tokio::test]
async fn missing_binaries_fail_naming_the_install_script() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args(["kube-apiserver", "--kubeconfig-out"])
        .arg(dir.path().join("kc"))
        .env(gatebench::kubeapiserver::locate::BIN_DIR_ENV, dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/install-kube-apiserver.sh"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
