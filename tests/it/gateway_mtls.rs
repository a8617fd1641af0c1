//! mtls and hybrid against the stand-in: certificate identities authorized through a (cached) SAR.

use crate::gateway_cluster;
use crate::gateway_support;

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
    let send = |client: reqwest::Client| {
        let url = url.clone();
        async move {
            client
                .post(&url)
                .header("content-type", "application/json")
                .body(alert_body("x"))
                .send()
                .await
        }
    };
    // Same CA, an organisation RBAC does not know: authenticated by TLS, denied by SAR.
    gatebench::pki::issue_client(allowed.path(), "client-9", "outsider", "strangers", 999).unwrap();
    let outsider = send(tls_client(allowed.path(), Some((allowed.path(), 9))))
        .await
        .unwrap();
    assert_eq!(outsider.status(), 403);
    // Another CA: refused at the handshake.
    let other_ca = pki(1, "sources");
    let r = send(tls_client(allowed.path(), Some((other_ca.path(), 0)))).await;
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
