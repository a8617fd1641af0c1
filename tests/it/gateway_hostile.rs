//! Hostile clients over real sockets: connections that stall (nothing sent, half or all of the
//! HTTP/2 preface and no request, a body trickled a byte a second, a slow drain after a 401) are
//! closed within their timeout while legitimate requests keep being answered; connections end at
//! their maximum age and when idle; oversized heads get 431; an overload gets 503.

use crate::gateway_support;

use std::time::{Duration, Instant};

use gatebench::gateway::{AuthMode, RunningGateway};
use gateway_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const BODY_TIMEOUT: Duration = Duration::from_secs(1);
/// Slack for a busy 2-core machine on top of each timeout.
const MARGIN: Duration = Duration::from_millis(1500);

fn addr(gw: &RunningGateway) -> String {
    gw.url().trim_start_matches("http://").to_string()
}

/// Reads until the server closes; returns what it sent and how long after `since` it closed.
async fn until_closed(mut read: impl AsyncReadExt + Unpin, since: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after 20 s");
    (String::from_utf8_lossy(&got).into_owned(), since.elapsed())
}

/// A head announcing 1000 body bytes, then one byte a second until the server hangs up.
async fn trickle(mut write: OwnedWriteHalf, head: String) {
    if write.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for _ in 0..1000 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if write.write_all(b" ").await.is_err() {
            return;
        }
    }
}

fn slow_head(extra_headers: &str) -> String {
    format!(
        "POST {PROM_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{extra_headers}content-length: 1000\r\n\r\n"
    )
}

#[derive(Clone, Copy, Debug)]
enum Stall {
    Silent,
    HalfPreface,
    PrefaceOnly,
    TrickledBody,
}

/// Opens one stalled connection; returns when the server closed it, with the time that took.
async fn stall(addr: String, kind: Stall) -> (Stall, String, Duration) {
    let stream = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    let (read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        match kind {
            Stall::Silent => {}
            Stall::HalfPreface => write.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap(),
            Stall::PrefaceOnly => {
                // Preface and an empty SETTINGS frame: a valid HTTP/2 start, then no request.
                write
                    .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                    .await
                    .unwrap();
                write.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
            }
            Stall::TrickledBody => return trickle(write, slow_head("")).await,
        }
        // Keep the write half open: a closed one would let the server see EOF early.
        std::future::pending::<()>().await;
    });
    let (sent, took) = until_closed(read, started).await;
    writer.abort();
    (kind, sent, took)
}

#[tokio::test]
async fn stalled_connections_are_closed_while_legitimate_requests_are_served() {
    let gw = start(AuthMode::None, None, false, |c| {
        c.server.header_read_timeout = HEADER_TIMEOUT;
        c.server.body_read_timeout = BODY_TIMEOUT;
        c.server.max_connections = 32;
    })
    .await;
    let kinds = [
        Stall::Silent,
        Stall::HalfPreface,
        Stall::PrefaceOnly,
        Stall::TrickledBody,
    ];
    let stalls: Vec<_> = (0..24)
        .map(|i| tokio::spawn(stall(addr(&gw), kinds[i % kinds.len()])))
        .collect();
    // Legitimate traffic on the remaining slots for as long as the stalls last.
    let url = gw.url().to_string();
    let legit = tokio::spawn(async move {
        let c = http_client();
        let mut latencies = Vec::new();
        let until = Instant::now() + HEADER_TIMEOUT + MARGIN;
        let mut i = 0;
        while Instant::now() < until {
            let sent = Instant::now();
            let (status, body) = post_alert(&c, &url, None, &format!("k{i}")).await;
            assert_eq!(status, 201, "legitimate request {i}: {body}");
            latencies.push(sent.elapsed());
            i += 1;
        }
        latencies
    });
    for stall in stalls {
        let (kind, sent, took) = stall.await.unwrap();
        let limit = match kind {
            Stall::TrickledBody => BODY_TIMEOUT,
            _ => HEADER_TIMEOUT,
        };
        assert!(took < limit + MARGIN, "{kind:?} open for {took:?}");
        assert!(
            took >= limit - Duration::from_millis(100),
            "{kind:?} closed early: {took:?}"
        );
        if let Stall::TrickledBody = kind {
            assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
        }
    }
    let mut latencies = legit.await.unwrap();
    latencies.sort();
    assert!(
        latencies.len() >= 10,
        "only {} legitimate requests",
        latencies.len()
    );
    eprintln!(
        "legitimate requests during the stalls: {}, median {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_slow_drain_after_a_401_is_cut_at_the_body_timeout() {
    let gw = start(AuthMode::Cached, Some(dead_kube()), false, |c| {
        c.server.body_read_timeout = BODY_TIMEOUT;
    })
    .await;
    let stream = TcpStream::connect(addr(&gw)).await.unwrap();
    let started = Instant::now();
    let (read, write) = stream.into_split();
    // No credentials: rejected at once, then the gateway drains the body to keep the connection.
    let writer = tokio::spawn(trickle(write, slow_head("")));
    let (sent, took) = until_closed(read, started).await;
    writer.abort();
    assert!(sent.starts_with("HTTP/1.1 401"), "{sent}");
    assert!(took < BODY_TIMEOUT + MARGIN, "open for {took:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn connections_close_at_their_max_age() {
    let age = Duration::from_secs(1);
    let gw = start(AuthMode::None, None, false, |c| {
        c.server.max_connection_age = Some(age);
    })
    .await;
    let mut stream = TcpStream::connect(addr(&gw)).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // Idle and header timeouts are 90 s and 10 s: only the age can end this connection soon.
    let (sent, took) = until_closed(stream, started).await;
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    assert!(took >= age && took < age + MARGIN, "closed after {took:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn idle_http2_connections_are_closed() {
    let idle = Duration::from_secs(1);
    let gw = start(AuthMode::None, None, false, |c| {
        c.server.idle_timeout = idle
    })
    .await;
    let stream = TcpStream::connect(addr(&gw)).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let request = http::Request::get("/healthz")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    assert_eq!(sender.send_request(request).await.unwrap().status(), 200);
    let quiet = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("idle HTTP/2 connection still open after 10 s")
        .unwrap()
        .ok();
    let took = quiet.elapsed();
    assert!(
        took >= idle - Duration::from_millis(100) && took < idle + MARGIN,
        "{took:?}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let gw = start(AuthMode::None, None, false, |_| {}).await;
    let mut stream = TcpStream::connect(addr(&gw)).await.unwrap();
    let pad = "x".repeat(20 * 1024);
    let head = format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-pad: {pad}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let (sent, _) = until_closed(stream, Instant::now()).await;
    assert!(sent.starts_with("HTTP/1.1 431"), "{sent}");
    assert_eq!(
        post_alert(&http_client(), gw.url(), None, "after").await.0,
        201
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn requests_beyond_max_inflight_get_503_with_retry_after() {
    let gw = start(AuthMode::None, None, false, |c| {
        c.max_inflight_requests = 2;
        c.server.body_read_timeout = Duration::from_secs(30);
    })
    .await;
    // Two requests held in flight: heads sent, bodies never.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr(&gw)).await.unwrap();
        s.write_all(slow_head("").as_bytes()).await.unwrap();
        held.push(s);
    }
    let c = http_client();
    let deadline = Instant::now() + Duration::from_secs(10);
    let retry_after = loop {
        let r = c
            .post(format!("{}{PROM_PATH}", gw.url()))
            .header("content-type", "application/json")
            .body(alert_body("x"))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            break r.headers().get("retry-after").cloned();
        }
        assert!(
            Instant::now() < deadline,
            "never refused with two requests in flight"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(retry_after.unwrap(), "1");
    drop(held);
    let served = wait_until(Duration::from_secs(10), || {
        let c = c.clone();
        let url = gw.url().to_string();
        async move { post_alert(&c, &url, None, "after").await.0 == 201 }
    })
    .await;
    assert!(served, "not served again after the held requests ended");
    gw.shutdown().await;
}
