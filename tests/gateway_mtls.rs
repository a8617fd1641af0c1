//! mtls and hybrid against the stand-in: certificate identities authorized through a (cached) SAR.

mod gateway_cluster;
mod gateway_support;

use gatebench::gateway::AuthMode;
use gatebench::kubesetup;
use gateway_cluster::*;
use gateway_support::*;

async fn allow_group(cluster: &Cluster, group: &str) {
    kubesetup::bind_cluster_role(
        &cluster.admin,
        &format!("signal-source-{group}"),
        "gatebench-signal-source",
        vec![kubesetup::group_subject(group)],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn mtls_identity_authorized_through_cached_sar() {
    let cluster = Cluster::start().await;
    allow_group(&cluster, "sources").await;
    let allowed = pki(1, "sources");
    let gw = start(
        AuthMode::Mtls,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| use_pki(c, allowed.path()),
    )
    .await;
    let url = format!("{}{PROM_PATH}", gw.url());
    let sar0 = cluster.creates("subjectaccessreviews").await;
    let client = tls_client(allowed.path(), Some((allowed.path(), 0)));
    for i in 0..20 {
        let r = client
            .post(&url)
            .header("content-type", "application/json")
            .body(alert_body(&format!("m{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    assert_eq!(cluster.creates("subjectaccessreviews").await - sar0, 1.0);
    assert_eq!(cluster.creates("tokenreviews").await, 0.0);
    gw.shutdown().await;

    // Same CA, but an organisation RBAC does not know: authenticated, then denied.
    let strangers_dir = tempfile::tempdir().unwrap();
    for f in ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"] {
        std::fs::copy(allowed.path().join(f), strangers_dir.path().join(f)).unwrap();
    }
    let gw = start(
        AuthMode::Mtls,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| use_pki(c, allowed.path()),
    )
    .await;
    let strangers = pki(1, "strangers");
    let foreign_client = tls_client(allowed.path(), Some((strangers.path(), 0)));
    let r = foreign_client
        .post(format!("{}{PROM_PATH}", gw.url()))
        .header("content-type", "application/json")
        .body(alert_body("x"))
        .send()
        .await;
    assert!(
        r.is_err(),
        "a certificate from another CA must not pass TLS"
    );
    gw.shutdown().await;
    cluster.api.shutdown().await;
}

#[tokio::test]
async fn hybrid_serves_certificates_and_bearer_tokens() {
    let cluster = Cluster::start().await;
    allow_group(&cluster, "sources").await;
    let dir = pki(1, "sources");
    let token = cluster.token(LOAD_NS, "load-0").await;
    let gw = start(
        AuthMode::Hybrid,
        Some(cluster.gateway_kube_config().await),
        false,
        |c| use_pki(c, dir.path()),
    )
    .await;
    let url = format!("{}{PROM_PATH}", gw.url());
    let tr0 = cluster.creates("tokenreviews").await;
    let with_cert = tls_client(dir.path(), Some((dir.path(), 0)));
    let r = with_cert
        .post(&url)
        .header("content-type", "application/json")
        .body(alert_body("cert"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 0.0);
    let bearer = tls_client(dir.path(), None);
    for i in 0..5 {
        let r = bearer
            .post(&url)
            .header("content-type", "application/json")
            .bearer_auth(&token)
            .body(alert_body(&format!("b{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    assert_eq!(cluster.creates("tokenreviews").await - tr0, 1.0);
    gw.shutdown().await;
    cluster.api.shutdown().await;
}
