//! TLS-layer behaviour of the mtls and hybrid modes that needs no API server: who gets through the handshake,
//! CRL reload, and fail-closed 503 when the SAR cannot be made.

use crate::gateway_support;

use std::time::Duration;

use gatebench::gateway::AuthMode;
use gateway_support::*;

#[tokio::test]
async fn mtls_refuses_missing_and_foreign_certificates() {
    let pki_dir = pki(1, "sources");
    let other = pki(1, "sources");
    let gw = start(AuthMode::Mtls, Some(dead_kube()), false, |c| {
        use_pki(c, pki_dir.path());
        c.apiserver_timeout = Duration::from_secs(1);
    })
    .await;
    assert!(gw.url().starts_with("https://"));
    let url = format!("{}{PROM_PATH}", gw.url());
    let body = alert_body("a");

    let no_cert = tls_client(pki_dir.path(), None);
    let r = no_cert
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await;
    assert!(r.is_err(), "no certificate must fail the handshake: {r:?}");

    let foreign = tls_client(pki_dir.path(), Some((other.path(), 0)));
    let r = foreign
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await;
    assert!(r.is_err(), "certificate of another CA must fail: {r:?}");

    // A good certificate passes TLS; the SAR cannot be made, so the answer is 503 (fail closed).
    let good = tls_client(pki_dir.path(), Some((pki_dir.path(), 0)));
    let r = good
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);

    let scrape = scrape(&good, gw.url()).await;
    assert!(scrape.sum("gatebench_tls_handshakes_total", &[("result", "error")]) >= 2.0);
    assert!(scrape.sum("gatebench_tls_handshakes_total", &[("result", "ok")]) >= 1.0);
    assert_eq!(
        scrape.sum(
            "gatebench_auth_decisions_total",
            &[("mode", "mtls"), ("outcome", "unavailable")]
        ),
        1.0
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn revoked_certificate_refused_after_crl_reload() {
    let pki_dir = pki(2, "sources");
    let crl = pki_dir.path().join("crl.pem");
    gatebench::pki::write_crl(pki_dir.path(), &[], &crl).unwrap();
    let gw = start(AuthMode::Mtls, Some(dead_kube()), false, |c| {
        use_pki(c, pki_dir.path());
        c.crl = Some(crl.clone());
        c.apiserver_timeout = Duration::from_secs(1);
    })
    .await;
    let url = format!("{}/healthz", gw.url());
    let passes_tls = |i: u32| {
        let client = tls_client(pki_dir.path(), Some((pki_dir.path(), i)));
        let url = url.clone();
        async move { client.get(&url).send().await.is_ok() }
    };
    assert!(passes_tls(1).await);
    let serial = gatebench::pki::cert_serial(&pki_dir.path().join("client-1.pem")).unwrap();
    gatebench::pki::write_crl(pki_dir.path(), &[serial], &crl).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || async { !passes_tls(1).await }).await,
        "revoked certificate still accepted 10 s after the CRL changed"
    );
    assert!(
        passes_tls(0).await,
        "an unrevoked certificate must still pass"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn hybrid_accepts_connections_with_and_without_certificates() {
    let pki_dir = pki(1, "sources");
    let gw = start(AuthMode::Hybrid, Some(dead_kube()), false, |c| {
        use_pki(c, pki_dir.path());
        c.apiserver_timeout = Duration::from_secs(1);
    })
    .await;
    let url = format!("{}{PROM_PATH}", gw.url());
    let send = |client: reqwest::Client, token: Option<&'static str>| {
        let url = url.clone();
        async move {
            let mut r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(alert_body("h"));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers().get("www-authenticate").cloned(),
            )
        }
    };
    // No certificate, no token: TLS succeeds, the bearer path says 401.
    let (status, challenge) = send(tls_client(pki_dir.path(), None), None).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.unwrap(), "Bearer");
    // No certificate, a token: TokenReview cannot be made -> 503.
    assert_eq!(
        send(tls_client(pki_dir.path(), None), Some("opaque-token"))
            .await
            .0,
        503
    );
    // Certificate: mtls path, SAR cannot be made -> 503 (not 401: the certificate authenticated).
    assert_eq!(
        send(tls_client(pki_dir.path(), Some((pki_dir.path(), 0))), None)
            .await
            .0,
        503
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn cert_modes_require_tls_files() {
    gatebench::tls::install_crypto_provider();
    let config = gatebench::gateway::Config::new(AuthMode::Mtls, Some(dead_kube()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(
        gatebench::gateway::Gateway::start(config, listener, None)
            .await
            .is_err()
    );
}
