//! Exact API-server call counts per auth mode, read from the stand-in's /metrics.

use crate::gateway_cluster;
use crate::gateway_support;

use std::time::Duration;

use gatebench::gateway::AuthMode;
use gateway_cluster::*;
use gateway_support::*;

#[tokio::test]
async fn cached_mode_reviews_once_for_a_thousand_requests() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "load-0").await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    let c = http_client();
    let (tr0, sar0) = (
        cluster.creates("tokenreviews").await,
        cluster.creates("subjectaccessreviews").await,
    );
    for i in 0..1000 {
        let (status, body) = post_alert(&c, gw.url(), Some(&token), &format!("k{}", i % 50)).await;
        assert!(
            status == 201 || status == 202,
            "request {i}: {status} {body}"
        );
    }
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 1.0);
    assert_eq!(cluster.creates("subjectaccessreviews").await - sar0, 1.0);
    let m = scrape(&c, gw.url()).await;
    assert_eq!(
        m.sum(
            "gatebench_auth_cache_requests_total",
            &[("cache", "token"), ("result", "hit")]
        ),
        999.0
    );
    assert_eq!(
        m.sum(
            "gatebench_auth_cache_requests_total",
            &[("cache", "token"), ("result", "miss")]
        ),
        1.0
    );
    assert_eq!(
        m.sum(
            "gatebench_apiserver_requests_total",
            &[("api", "tokenreview")]
        ),
        1.0
    );
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn concurrent_first_requests_coalesce_into_one_review() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "load-1").await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    // A slow TokenReview makes sure all 200 requests are waiting on the same miss.
    cluster
        .set_faults(serde_json::json!({"latency": {"tokenreviews": {"kind": "fixed", "ms": 300}}}));
    let tr0 = cluster.creates("tokenreviews").await;
    let c = http_client();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (c, url, token) = (c.clone(), gw.url().to_string(), token.clone());
        tasks.push(tokio::spawn(async move {
            post_alert(&c, &url, Some(&token), &format!("c{i}")).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    cluster.set_faults(serde_json::json!({}));
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 1.0);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn tokenreview_mode_reviews_every_request() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "load-0").await;
    let gw = start(
        AuthMode::Tokenreview,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    let c = http_client();
    let (tr0, sar0) = (
        cluster.creates("tokenreviews").await,
        cluster.creates("subjectaccessreviews").await,
    );
    for i in 0..50 {
        assert_eq!(
            post_alert(&c, gw.url(), Some(&token), &format!("t{i}"))
                .await
                .0,
            201
        );
    }
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 50.0);
    assert_eq!(cluster.creates("subjectaccessreviews").await - sar0, 50.0);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn jwks_mode_makes_no_token_reviews() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "load-0").await;
    let gw = start(
        AuthMode::Jwks,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    let c = http_client();
    let (tr0, sar0) = (
        cluster.creates("tokenreviews").await,
        cluster.creates("subjectaccessreviews").await,
    );
    for i in 0..100 {
        assert_eq!(
            post_alert(&c, gw.url(), Some(&token), &format!("j{i}"))
                .await
                .0,
            201
        );
    }
    // A forged token (payload altered) fails signature verification locally.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1].insert(4, 'A');
    assert_eq!(
        post_alert(&c, gw.url(), Some(&parts.join(".")), "forged")
            .await
            .0,
        401
    );
    assert_eq!(
        post_alert(&c, gw.url(), Some("not-a-jwt"), "x").await.0,
        401
    );
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 0.0);
    assert_eq!(cluster.creates("subjectaccessreviews").await - sar0, 1.0);
    // A ServiceAccount outside the load namespace authenticates but is denied.
    let stranger = cluster.token("default", "stranger").await;
    assert_eq!(post_alert(&c, gw.url(), Some(&stranger), "s").await.0, 403);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn cached_entries_expire_after_ttl() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "load-0").await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| {
            c.token_cache_ttl = Duration::from_secs(1);
            c.sar_allowed_ttl = Duration::from_secs(1);
        },
    )
    .await;
    let c = http_client();
    let tr0 = cluster.creates("tokenreviews").await;
    assert_eq!(post_alert(&c, gw.url(), Some(&token), "a").await.0, 201);
    assert_eq!(post_alert(&c, gw.url(), Some(&token), "b").await.0, 201);
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 1.0);
    let mut n = 0;
    let reviewed_again = wait_until(Duration::from_secs(5), || {
        n += 1;
        let (c, url, token) = (c.clone(), gw.url().to_string(), token.clone());
        let cluster = &cluster;
        async move {
            post_alert(&c, &url, Some(&token), &format!("w{n}")).await;
            cluster.creates("tokenreviews").await - tr0 >= 2.0
        }
    })
    .await;
    assert!(reviewed_again, "no new TokenReview after the 1 s TTL");
    gw.shutdown().await;
    cluster.api.shutdown().await;
}
