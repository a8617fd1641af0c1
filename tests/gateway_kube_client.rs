//! The gateway's API client against an unreachable API server: no hidden retries, opt-in retries,
//! client-side throttling that waits (and is reported) instead of failing.

mod gateway_support;

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
