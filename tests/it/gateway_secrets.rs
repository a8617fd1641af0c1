//! The bearer token never shows up in the gateway's logs, /metrics or response bodies (real binary,
//! every crate logging at `trace`).

use crate::gateway_cluster;
use crate::gateway_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use gateway_cluster::*;
use gateway_support::*;

#[tokio::test]
async fn tokens_never_leak() {
    let cluster = Cluster::start().await;
    let good = cluster.token(LOAD_NS, "load-0").await;
    let denied = cluster.token("default", "stranger").await;
    let cold = cluster.token(LOAD_NS, "load-1").await;
    let mut forged_parts: Vec<String> = good.split('.').map(str::to_string).collect();
    forged_parts[2] = forged_parts[2].chars().rev().collect();
    let forged = forged_parts.join(".");
    let opaque = "opaque-secret-token-0123456789".to_string();
    let oversized = format!("oversized-{}", "s".repeat(9 * 1024));

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig_path = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig_path,
        serde_yaml_ng::to_string(&cluster.gateway_kubeconfig().await).unwrap(),
    )
    .unwrap();
    let stderr_path = dir.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatebench"))
        .args([
            "gateway",
            "--auth",
            "cached",
            "--listen",
            "127.0.0.1:0",
            "--apiserver-timeout",
            "1s",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig_path)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(listening["event"], "listening");
    let url = listening["url"].as_str().unwrap().to_string();

    let c = http_client();
    let mut seen = String::new();
    let mut expect = |status: u16, (got, body): (u16, String), what: &str| {
        assert_eq!(got, status, "{what}: {body}");
        seen.push_str(&body);
    };
    expect(201, post_alert(&c, &url, Some(&good), "a").await, "good");
    expect(
        202,
        post_alert(&c, &url, Some(&good), "a").await,
        "duplicate",
    );
    expect(
        403,
        post_alert(&c, &url, Some(&denied), "b").await,
        "denied",
    );
    expect(
        401,
        post_alert(&c, &url, Some(&forged), "c").await,
        "forged",
    );
    expect(
        401,
        post_alert(&c, &url, Some(&opaque), "d").await,
        "opaque",
    );
    expect(
        401,
        post_alert(&c, &url, Some(&oversized), "o").await,
        "oversized",
    );
    cluster.set_faults(serde_json::json!({"outage": {"kind": "unavailable"}}));
    expect(503, post_alert(&c, &url, Some(&cold), "e").await, "outage");
    cluster.set_faults(serde_json::json!({}));
    let metrics = c
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(gatebench::fsutil::terminate(child.id()));
    let exited = wait_until(Duration::from_secs(15), || {
        let done = child.try_wait().unwrap().is_some();
        async move { done }
    })
    .await;
    assert!(exited, "gateway did not exit on SIGTERM");
    assert!(child.wait().unwrap().success());

    let logs = std::fs::read_to_string(&stderr_path).unwrap();
    // The logs are real: rejections were logged with a fingerprint.
    assert!(logs.contains("auth_rejected"), "{logs}");
    assert!(logs.contains("token_fp"), "{logs}");
    assert!(logs.contains("TRACE"), "trace logging was not on");
    for (name, token) in [
        ("good", &good),
        ("denied", &denied),
        ("cold", &cold),
        ("forged", &forged),
        ("opaque", &opaque),
        ("oversized", &oversized),
    ] {
        // The signature part alone is a secret too; search for it as well as the whole token.
        let tail = token.rsplit('.').next().unwrap();
        for (place, text) in [("logs", &logs), ("metrics", &metrics), ("bodies", &seen)] {
            assert!(
                !text.contains(token.as_str()),
                "{name} token found in {place}"
            );
            assert!(
                !text.contains(tail),
                "{name} token signature found in {place}"
            );
        }
    }
    cluster.api.shutdown().await;
}
