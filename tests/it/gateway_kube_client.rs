//! The gateway's API client against an unreachable API server: no hidden retries, opt-in retries,
//! client-side throttling that waits (and is reported) instead of failing.

use crate::gateway_support;

use std::time::Duration;

use gatebench::gateway::AuthMode;
use gateway_support::*;

#[tokio::test]
async fn no_retries_by_default_and_n_when_asked() {
    for (retries, expected_calls) in [(0u32, 1.0), (2, 3.0)] {
        let gw = start(AuthMode::Tokenreview, Some(dead_kube()), false, |c| {
            c.apiserver_retries = retries;
            c.apiserver_timeout = Duration::from_secs(1);
        })
        .await;
        let c = http_client();
        assert_eq!(
            post_alert(&c, gw.url(), Some("some-token"), "a").await.0,
            503
        );
        let m = scrape(&c, gw.url()).await;
        assert_eq!(
            m.sum(
                "gatebench_apiserver_requests_total",
                &[("api", "tokenreview")]
            ),
            expected_calls,
            "retries={retries}"
        );
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn client_side_rate_limit_waits_and_reports_wait() {
    let gw = start(AuthMode::Cached, Some(dead_kube()), false, |c| {
        c.kube_qps = Some(10.0);
        c.kube_burst = 1;
        c.apiserver_timeout = Duration::from_secs(1);
    })
    .await;
    let c = http_client();
    let started = std::time::Instant::now();
    // Distinct tokens: every request needs its own TokenReview, so each takes a limiter token.
    for i in 0..6 {
        let (status, _) = post_alert(&c, gw.url(), Some(&format!("token-{i}")), "a").await;
        assert_eq!(status, 503);
    }
    // 1 burst token, then 5 more at 10/s: at least ~0.5 s of waiting in total.
    assert!(started.elapsed() >= Duration::from_millis(450));
    let m = scrape(&c, gw.url()).await;
    let waited = m.sum("gatebench_client_throttle_wait_seconds_total", &[]);
    assert!(waited >= 0.35, "throttle wait {waited}");
    // 503s are never cached: the same token asks the API server again.
    assert_eq!(post_alert(&c, gw.url(), Some("token-0"), "a").await.0, 503);
    let m = scrape(&c, gw.url()).await;
    assert_eq!(
        m.sum(
            "gatebench_apiserver_requests_total",
            &[("api", "tokenreview")]
        ),
        7.0
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn rejections_keep_the_connection_alive() {
    let gw = start(AuthMode::Cached, Some(dead_kube()), false, |_| {}).await;
    let addr = gw.url().trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Large enough not to sit whole in the server's first read buffer.
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(200 * 1024));
    // Three rejected requests (no token, malformed header, API down) on ONE connection, then a health check.
    let requests = [
        format!(
            "POST {PROM_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
        format!(
            "POST {PROM_PATH} HTTP/1.1\r\nhost: x\r\nauthorization: Basic Zm9v\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
        format!(
            "POST {PROM_PATH} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
        "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n".to_string(),
    ];
    let mut reader = tokio::io::BufReader::new(&mut stream);
    for (request, expected) in requests.iter().zip(["401", "401", "503", "200"]) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        let mut status_line = String::new();
        tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut status_line))
            .await
            .unwrap()
            .unwrap();
        assert!(
            status_line.contains(expected),
            "{status_line:?} != {expected}"
        );
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; content_length];
        reader.read_exact(&mut body).await.unwrap();
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn a_rate_limit_wait_beyond_the_timeout_fails_at_once() {
    let gw = start(AuthMode::Cached, Some(dead_kube()), false, |c| {
        c.kube_qps = Some(1.0);
        c.kube_burst = 1;
        c.apiserver_timeout = Duration::from_millis(300);
    })
    .await;
    let c = http_client();
    assert_eq!(post_alert(&c, gw.url(), Some("token-0"), "a").await.0, 503);
    // The next limiter token is ~1 s away, beyond the 300 ms timeout: 503 without waiting, and
    // without taking that token.
    for i in 1..4 {
        let started = std::time::Instant::now();
        let (status, _) = post_alert(&c, gw.url(), Some(&format!("token-{i}")), "a").await;
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "request {i} waited {:?}",
            started.elapsed()
        );
    }
    let m = scrape(&c, gw.url()).await;
    assert_eq!(
        m.sum("gatebench_client_throttle_wait_seconds_total", &[]),
        0.0
    );
    let calls = |m: &gatebench::promtext::Scrape| {
        m.sum(
            "gatebench_apiserver_requests_total",
            &[("api", "tokenreview")],
        )
    };
    assert_eq!(calls(&m), 1.0);
    // Once the token is there, a call goes out again: the refused callers took none.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(post_alert(&c, gw.url(), Some("token-9"), "a").await.0, 503);
    assert_eq!(calls(&scrape(&c, gw.url()).await), 2.0);
    gw.shutdown().await;
}
