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

/// mTLS gateway config with `crl` and the PKI of `dir`.
fn crl_config(c: &mut gatebench::gateway::Config, dir: &std::path::Path, crl: &std::path::Path) {
    use_pki(c, dir);
    c.crl = Some(crl.to_path_buf());
    c.apiserver_timeout = Duration::from_secs(1);
}

async fn passes_tls(dir: &std::path::Path, url: &str, i: u32) -> bool {
    let client = tls_client(dir, Some((dir, i)));
    client.get(format!("{url}/healthz")).send().await.is_ok()
}

#[tokio::test]
async fn a_crl_file_without_a_crl_keeps_the_last_good_one() {
    let pki_dir = pki(2, "sources");
    let dir = pki_dir.path();
    let crl = dir.join("crl.pem");
    // At start-up an empty CRL file is an error, not "revocation off".
    std::fs::write(&crl, "not a CRL\n").unwrap();
    let mut config = gatebench::gateway::Config::new(AuthMode::Mtls, Some(dead_kube()));
    crl_config(&mut config, dir, &crl);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = gatebench::gateway::Gateway::start(config, listener, None).await;
    assert!(refused.err().unwrap().to_string().contains("no CRL"));

    let serial = gatebench::pki::cert_serial(&dir.join("client-1.pem")).unwrap();
    gatebench::pki::write_crl(dir, &[serial], &crl).unwrap();
    let gw = start(AuthMode::Mtls, Some(dead_kube()), true, |c| {
        crl_config(c, dir, &crl)
    })
    .await;
    assert!(!passes_tls(dir, gw.url(), 1).await);
    // Replaced by a file that parses to no CRL: the revocation must stay in force.
    let tmp = dir.join("crl.tmp");
    std::fs::write(&tmp, "-----BEGIN NOTHING-----\n").unwrap();
    std::fs::rename(&tmp, &crl).unwrap();
    let c = http_client();
    let failed = wait_until(Duration::from_secs(10), || async {
        scrape(&c, gw.metrics_url())
            .await
            .sum("gatebench_crl_reloads_total", &[("result", "error")])
            >= 1.0
    })
    .await;
    assert!(
        failed,
        "the bad CRL file was not counted as a failed reload"
    );
    assert!(
        !passes_tls(dir, gw.url(), 1).await,
        "revoked certificate accepted"
    );
    assert!(passes_tls(dir, gw.url(), 0).await);
    gw.shutdown().await;
}

#[tokio::test]
async fn expired_crls_are_refused_unless_allowed() {
    let pki_dir = pki(2, "sources");
    let dir = pki_dir.path();
    let crl = dir.join("crl.pem");
    let serial = gatebench::pki::cert_serial(&dir.join("client-1.pem")).unwrap();
    gatebench::pki::write_crl_valid_for(dir, &[serial], &crl, -60).unwrap();
    let mut config = gatebench::gateway::Config::new(AuthMode::Mtls, Some(dead_kube()));
    crl_config(&mut config, dir, &crl);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = gatebench::gateway::Gateway::start(config.clone(), listener, None).await;
    assert!(refused.err().unwrap().to_string().contains("expired"));
    let gw = start(AuthMode::Mtls, Some(dead_kube()), false, |c| {
        crl_config(c, dir, &crl);
        c.allow_expired_crl = true;
    })
    .await;
    assert!(
        !passes_tls(dir, gw.url(), 1).await,
        "the expired CRL still revokes"
    );
    assert!(passes_tls(dir, gw.url(), 0).await);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_revoked_certificate_on_a_keepalive_connection_lasts_until_max_age() {
    let pki_dir = pki(2, "sources");
    let dir = pki_dir.path();
    let crl = dir.join("crl.pem");
    gatebench::pki::write_crl(dir, &[], &crl).unwrap();
    let age = Duration::from_secs(5);
    let gw = start(AuthMode::Mtls, Some(dead_kube()), false, |c| {
        crl_config(c, dir, &crl);
        c.server.max_connection_age = Some(age);
    })
    .await;
    // One pooled keep-alive connection for client-1.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let mut pem = std::fs::read(dir.join("client-1.pem")).unwrap();
    pem.extend(std::fs::read(dir.join("client-1-key.pem")).unwrap());
    let keepalive = reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("{}/healthz", gw.url());
    let connected = std::time::Instant::now();
    assert!(keepalive.get(&url).send().await.is_ok());
    let serial = gatebench::pki::cert_serial(&dir.join("client-1.pem")).unwrap();
    gatebench::pki::write_crl(dir, &[serial], &crl).unwrap();
    let refused_fresh = wait_until(Duration::from_secs(4), || async {
        !passes_tls(dir, gw.url(), 1).await
    })
    .await;
    assert!(
        refused_fresh,
        "new connections still accept the revoked certificate"
    );
    if connected.elapsed() < age - Duration::from_millis(500) {
        // The exposure: the open connection was verified before the revocation.
        assert!(
            keepalive.get(&url).send().await.is_ok(),
            "keep-alive connection already cut"
        );
    }
    let cut = wait_until(Duration::from_secs(10), || async {
        keepalive.get(&url).send().await.is_err()
    })
    .await;
    assert!(
        cut,
        "revoked certificate's keep-alive connection outlived the max age"
    );
    let exposed = connected.elapsed();
    assert!(
        exposed < age + Duration::from_millis(2500),
        "exposed for {exposed:?}"
    );
    gw.shutdown().await;
}
