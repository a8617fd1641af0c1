//! Protocol and lifecycle: HTTP/2 on the plain listener, in-flight requests finishing during graceful shutdown.

use crate::gateway_cluster;
use crate::gateway_support;

use std::time::Duration;

use bytes::Bytes;
use gatebench::gateway::AuthMode;
use gateway_cluster::*;
use gateway_support::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

#[tokio::test]
async fn serves_http2_prior_knowledge() {
    let gw = start(AuthMode::None, None, false, |_| {}).await;
    let addr = gw.url().trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    for (key, expected) in [("a", 201), ("a", 202)] {
        let request = http::Request::post(format!("http://{addr}{PROM_PATH}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(alert_body(key))))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), expected);
        response.into_body().collect().await.unwrap();
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "load-0").await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    cluster
        .set_faults(serde_json::json!({"latency": {"tokenreviews": {"kind": "fixed", "ms": 700}}}));
    let c = http_client();
    let url = gw.url().to_string();
    let in_flight = tokio::spawn(async move { post_alert(&c, &url, Some(&token), "slow").await.0 });
    // Let the request reach the slow TokenReview before asking for shutdown.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!in_flight.is_finished());
    tokio::time::timeout(Duration::from_secs(15), gw.shutdown())
        .await
        .expect("shutdown drains");
    assert_eq!(in_flight.await.unwrap(), 201);
    cluster.api.shutdown().await;
}
