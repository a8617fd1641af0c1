//! Gateway HTTP behaviour without an API server (`--auth none`): routes, bad input, dedup, limits, shutdown.

use crate::gateway_support;

use std::time::Duration;

use gatebench::gateway::AuthMode;
use gateway_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn status_codes_for_good_and_bad_requests() {
    let gw = start(AuthMode::None, None, false, |_| {}).await;
    let c = http_client();
    let url = gw.url();
    let post = |path: &str, ct: Option<&str>, body: String| {
        let mut r = c.post(format!("{url}{path}")).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        async move { r.send().await.unwrap() }
    };
    let json = Some("application/json");

    assert_eq!(post(PROM_PATH, json, alert_body("a")).await.status(), 201);
    assert_eq!(post(PROM_PATH, json, alert_body("a")).await.status(), 202);
    assert_eq!(
        post(
            PROM_PATH,
            Some("application/json; charset=utf-8"),
            alert_body("b")
        )
        .await
        .status(),
        201
    );
    let bad = post(PROM_PATH, json, "{not json".into()).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(problem["status"], 400);
    assert_eq!(
        post(PROM_PATH, json, r#"{"version":"4","alerts":[]}"#.into())
            .await
            .status(),
        400
    );
    assert_eq!(
        post(PROM_PATH, Some("text/plain"), alert_body("c"))
            .await
            .status(),
        415
    );
    assert_eq!(post(PROM_PATH, None, alert_body("c")).await.status(), 415);
    assert_eq!(
        post(EVENT_PATH, json, event_body("Warning", "p1"))
            .await
            .status(),
        201
    );
    assert_eq!(
        post(EVENT_PATH, json, event_body("Warning", "p1"))
            .await
            .status(),
        202
    );
    assert_eq!(
        post(EVENT_PATH, json, event_body("Normal", "p2"))
            .await
            .status(),
        400
    );
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(300 * 1024));
    assert_eq!(post(PROM_PATH, json, big).await.status(), 413);

    let get = c.get(format!("{url}{PROM_PATH}")).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(post("/healthz", json, String::new()).await.status(), 405);
    assert_eq!(
        c.get(format!("{url}/nope")).send().await.unwrap().status(),
        404
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            c.get(format!("{url}{path}")).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn accepted_signals_in_metrics_equal_201_plus_202() {
    let gw = start(AuthMode::None, None, true, |_| {}).await;
    assert_ne!(gw.url(), gw.metrics_url());
    let c = http_client();
    let mut accepted = 0;
    for i in 0..60 {
        // Every third key repeats an earlier one, so both 201 and 202 occur.
        let key = format!("k{}", if i % 3 == 0 { 0 } else { i });
        let (status, _) = post_alert(&c, gw.url(), None, &key).await;
        if status == 201 || status == 202 {
            accepted += 1;
        }
    }
    for i in 0..10 {
        let r = c
            .post(format!("{}{EVENT_PATH}", gw.url()))
            .header("content-type", "application/json")
            .body(event_body(if i < 5 { "Warning" } else { "Normal" }, "p"))
            .send()
            .await
            .unwrap();
        if matches!(r.status().as_u16(), 201 | 202) {
            accepted += 1;
        }
    }
    let scrape = scrape(&c, gw.metrics_url()).await;
    assert_eq!(accepted, 65);
    assert_eq!(
        scrape.sum("gatebench_signals_accepted_total", &[]) as u32,
        accepted
    );
    assert_eq!(
        scrape.sum(
            "gatebench_signals_accepted_total",
            &[("source", "kubernetes-event")]
        ),
        5.0
    );
    // The main listener does not serve /metrics when a metrics listener exists.
    let on_main = c.get(format!("{}/metrics", gw.url())).send().await.unwrap();
    assert_eq!(on_main.status(), 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn oversized_body_rejected_while_streaming() {
    let gw = start(AuthMode::None, None, false, |_| {}).await;
    let addr = gw.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    // Announce 64 MiB but send only ~300 KiB: the 413 must come before the body is complete.
    let head = format!(
        "POST {PROM_PATH} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        64 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; 300 * 1024]).await.unwrap();
    let mut response = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut response))
        .await
        .expect("413 arrives without the rest of the body")
        .unwrap();
    let text = String::from_utf8_lossy(&response[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    let c = http_client();
    assert_eq!(post_alert(&c, gw.url(), None, "after").await.0, 201);
    gw.shutdown().await;
}

#[tokio::test]
async fn slow_header_clients_are_cut_off() {
    let gw = start(AuthMode::None, None, false, |c| {
        c.server.header_read_timeout = Duration::from_millis(300)
    })
    .await;
    let addr = gw.url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"POST /api/v1/signals/prometheus HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    // The server closes (possibly after a 408) instead of waiting forever for the header end.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "slow client still connected after 5 s");
    assert_eq!(post_alert(&http_client(), gw.url(), None, "x").await.0, 201);
    gw.shutdown().await;
}

#[tokio::test]
async fn connection_limit_queues_excess_clients() {
    let gw = start(AuthMode::None, None, false, |c| {
        c.server.max_connections = 2
    })
    .await;
    let addr = gw.url().trim_start_matches("http://").to_string();
    let first = TcpStream::connect(&addr).await.unwrap();
    let _second = TcpStream::connect(&addr).await.unwrap();
    // Give the accept loop time to take both permits.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(&addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "third connection was served beyond the limit"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot frees")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    gw.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let gw = start(AuthMode::None, None, false, |_| {}).await;
    let addr = gw.url().trim_start_matches("http://").to_string();
    assert_eq!(post_alert(&http_client(), gw.url(), None, "x").await.0, 201);
    tokio::time::timeout(Duration::from_secs(15), gw.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(TcpStream::connect(&addr).await.is_err());
}
