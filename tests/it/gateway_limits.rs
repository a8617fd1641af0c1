//! Work an attacker cannot multiply, counted at the stand-in's /metrics: oversized credentials cost
//! no TokenReview, and a flood of distinct garbage tokens never has more reviews in flight than
//! `--max-pending-reviews`.

use crate::gateway_cluster;
use crate::gateway_support;

use gatebench::gateway::AuthMode;
use gateway_cluster::*;
use gateway_support::*;

#[tokio::test]
async fn oversized_credentials_are_refused_without_a_token_review() {
    let cluster = Cluster::start().await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    let c = http_client();
    let before = cluster.creates("tokenreviews").await;
    // Within the 16 KiB header limit but over the 8 KiB credential limit: 401 locally.
    let (status, _) = post_alert(&c, gw.url(), Some(&"g".repeat(12 * 1024)), "a").await;
    assert_eq!(status, 401);
    // Over the header limit: 431 before any auth.
    let huge = "g".repeat(100 * 1024);
    let r = c
        .post(format!("{}{PROM_PATH}", gw.url()))
        .bearer_auth(&huge)
        .header("content-type", "application/json")
        .body(alert_body("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(cluster.creates("tokenreviews").await, before);
    // The count is live: a short garbage token does cost one review.
    assert_eq!(
        post_alert(&c, gw.url(), Some("short-garbage"), "c").await.0,
        401
    );
    assert_eq!(cluster.creates("tokenreviews").await, before + 1.0);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_garbage_tokens_keeps_reviews_in_flight_capped() {
    let cluster = Cluster::start().await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| c.max_pending_reviews = 4,
    )
    .await;
    // The stand-in answers 429 beyond 4 concurrent requests, and each review takes 100 ms: an
    // uncapped gateway would send all 40 at once and answer most with 503.
    cluster.set_faults(serde_json::json!({
        "max_inflight": 4,
        "latency": {"tokenreviews": {"kind": "fixed", "ms": 100.0}},
    }));
    let c = http_client();
    let before = cluster.creates("tokenreviews").await;
    let flood: Vec<_> = (0..40)
        .map(|i| {
            let (c, url) = (c.clone(), gw.url().to_string());
            tokio::spawn(async move {
                post_alert(&c, &url, Some(&format!("garbage-{i}")), "x")
                    .await
                    .0
            })
        })
        .collect();
    for request in flood {
        assert_eq!(request.await.unwrap(), 401);
    }
    cluster.set_faults(serde_json::json!({}));
    assert_eq!(cluster.creates("tokenreviews").await - before, 40.0);
    let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = cluster.admin.request_text(request).await.unwrap();
    let throttled = gatebench::promtext::Scrape::parse(&text).unwrap().sum(
        "apiserver_request_total",
        &[("resource", "tokenreviews"), ("code", "429")],
    );
    assert_eq!(throttled, 0.0);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}
