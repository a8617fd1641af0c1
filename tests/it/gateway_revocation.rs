//! Revocation and outages: deleted ServiceAccounts per mode, fail-closed 503 that is never cached, 401/403.

use crate::gateway_cluster;
use crate::gateway_support;

use std::time::{Duration, Instant};

use gatebench::gateway::AuthMode;
use gatebench::kubesetup;
use gateway_cluster::*;
use gateway_support::*;

#[tokio::test]
async fn deleted_service_account_rejected_at_once_in_tokenreview_mode() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "doomed-tr").await;
    let gw = start(
        AuthMode::Tokenreview,
        Some(cluster.gateway_kube_config().await),
        false,
        |_| {},
    )
    .await;
    let c = http_client();
    assert_eq!(post_alert(&c, gw.url(), Some(&token), "a").await.0, 201);
    kubesetup::delete_service_account(&cluster.admin, LOAD_NS, "doomed-tr")
        .await
        .unwrap();
    let (status, _) = post_alert(&c, gw.url(), Some(&token), "b").await;
    assert_eq!(status, 401);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn deleted_service_account_rejected_only_after_ttl_in_cached_mode() {
    let cluster = Cluster::start().await;
    let token = cluster.token(LOAD_NS, "doomed-cached").await;
    let ttl = Duration::from_secs(2);
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| {
            c.token_cache_ttl = ttl;
        },
    )
    .await;
    let c = http_client();
    // Taken before the entry is created, so `cached_at + ttl` is no later than its expiry.
    let cached_at = Instant::now();
    assert_eq!(post_alert(&c, gw.url(), Some(&token), "a").await.0, 201);
    kubesetup::delete_service_account(&cluster.admin, LOAD_NS, "doomed-cached")
        .await
        .unwrap();
    // Still inside the TTL: the cache answers for the revoked token.
    let (status, _) = post_alert(&c, gw.url(), Some(&token), "b").await;
    if cached_at.elapsed() < ttl {
        assert_eq!(status, 201);
    }
    let mut n = 0;
    let rejected = wait_until(Duration::from_secs(6), || {
        n += 1;
        let (c, url, token) = (c.clone(), gw.url().to_string(), token.clone());
        async move {
            let (status, body) = post_alert(&c, &url, Some(&token), &format!("r{n}")).await;
            assert!(status == 201 || status == 401, "{status} {body}");
            status == 401
        }
    })
    .await;
    assert!(rejected, "revoked token still accepted well after the TTL");
    assert!(
        cached_at.elapsed() >= ttl,
        "rejected before the TTL ran out"
    );
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn outage_keeps_cached_tokens_and_fails_new_ones_closed() {
    let cluster = Cluster::start().await;
    let warm = cluster.token(LOAD_NS, "load-0").await;
    let cold = cluster.token(LOAD_NS, "load-1").await;
    let gw = start(
        AuthMode::Cached,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| {
            c.apiserver_timeout = Duration::from_secs(1);
        },
    )
    .await;
    let c = http_client();
    assert_eq!(post_alert(&c, gw.url(), Some(&warm), "a").await.0, 201);
    cluster
        .set_faults(serde_json::json!({"outage": {"kind": "unavailable", "duration_secs": null}}));
    assert_eq!(post_alert(&c, gw.url(), Some(&warm), "b").await.0, 201);
    let (status, body) = post_alert(&c, gw.url(), Some(&cold), "c").await;
    assert_eq!(status, 503, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 503);
    cluster.set_faults(serde_json::json!({}));
    assert_eq!(
        post_alert(&c, gw.url(), Some(&cold), "d").await.0,
        201,
        "503 was cached"
    );
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn invalid_and_denied_tokens_per_bearer_mode() {
    let cluster = Cluster::start().await;
    let stranger = cluster.token("default", "stranger").await;
    for mode in [AuthMode::Tokenreview, AuthMode::Cached] {
        let gw = start(
            mode,
            Some(cluster.gateway_kube_config().await),
            false,
            |_| {},
        )
        .await;
        let c = http_client();
        let (status, _) = post_alert(&c, gw.url(), Some(&stranger), "s").await;
        assert_eq!(status, 403, "{mode:?}");
        let r = c
            .post(format!("{}{PROM_PATH}", gw.url()))
            .header("content-type", "application/json")
            .bearer_auth("garbage-token")
            .body(alert_body("g"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{mode:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let (status, _) = post_alert(&c, gw.url(), None, "n").await;
        assert_eq!(status, 401, "{mode:?}");
        let r = c
            .post(format!("{}{PROM_PATH}", gw.url()))
            .header("content-type", "application/json")
            .header("authorization", "Basic Zm9vOmJhcg==")
            .body(alert_body("m"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{mode:?}");
        gw.shutdown().await;
    }
    cluster.api.shutdown().await;
}
