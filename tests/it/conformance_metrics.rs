//! Conformance, metrics: `/metrics` is the classic Prometheus text format on both servers, parsed by a
//! classic-format parser (and by `promtool check metrics` where promtool is installed), with
//! `apiserver_request_total` a counter that counts the TokenReviews just made.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::both;
use crate::conformance_servers::Server;

async fn scrape(server: &Server) -> (String, String) {
    let answer = server
        .http
        .get(format!("{}/metrics", server.url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (content_type, answer.text().await.unwrap())
}

fn tokenreview_creates(text: &str) -> f64 {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    scrape
        .samples
        .iter()
        .filter(|s| {
            s.metric == "apiserver_request_total"
                && s.labels.get("resource") == Some("tokenreviews")
                && s.labels.get("verb") == Some("POST")
        })
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            ref other => panic!("apiserver_request_total is not a counter: {other:?}"),
        })
        .sum()
}

async fn metrics_are_classic_text_with_a_counter(server: Server) {
    server.token_review("not-a-jwt", json!({})).await;
    let (content_type, before) = scrape(&server).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(
        before.contains("# TYPE apiserver_request_total counter\n"),
        "{before:.2000}"
    );
    assert!(
        !before.contains("# EOF"),
        "OpenMetrics terminator in a classic exposition"
    );
    for _ in 0..3 {
        server.token_review("not-a-jwt", json!({})).await;
    }
    let (_, after) = scrape(&server).await;
    // Other tests share the server: at least our three, counted as a counter.
    assert!(tokenreview_creates(&after) >= tokenreview_creates(&before) + 3.0);
    promtool_check(&after);
}
both!(
    metrics_classic_format,
    metrics_are_classic_text_with_a_counter
);

/// `promtool check metrics` exits non-zero on a format error (lint findings alone are printed, and
/// kube-apiserver's own exposition has some, so only parse errors fail here).
fn promtool_check(text: &str) {
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not installed: classic-format parser check only");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !report.contains("error while linting") && !report.contains("text format parsing error"),
        "{report}"
    );
}
