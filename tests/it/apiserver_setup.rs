//! The setup flow through kube over real sockets, and every way a token review must fail.

use crate::apiserver_common as common;

use std::time::Duration;

use common::{authenticated, token_review};
use gatebench::apiserver::Config;
use gatebench::kubesetup;

const AUDIENCE: &str = "gatebench";

#[tokio::test]
async fn setup_flow_mints_a_token_that_reviews_true() {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    // Idempotent: a second call finds the existing objects.
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    let sa = kubesetup::ensure_service_account(&client, "demo", "load-0")
        .await
        .unwrap();
    let again = kubesetup::ensure_service_account(&client, "demo", "load-0")
        .await
        .unwrap();
    assert_eq!(sa.metadata.uid, again.metadata.uid);
    let uid = sa.metadata.uid.clone().unwrap();
    assert!(sa.metadata.resource_version.is_some() && sa.metadata.creation_timestamp.is_some());

    let token = kubesetup::request_token(&client, "demo", "load-0", &[AUDIENCE.to_string()], 3600)
        .await
        .unwrap();
    let status = token_review(&client, &token, &[AUDIENCE]).await;
    assert!(authenticated(&status), "{status:?}");
    assert_eq!(
        status.audiences.clone().unwrap(),
        vec![AUDIENCE.to_string()]
    );
    let user = status.user.unwrap();
    assert_eq!(
        user.username.as_deref(),
        Some("system:serviceaccount:demo:load-0")
    );
    assert_eq!(user.uid.as_deref(), Some(uid.as_str()));
    assert_eq!(
        user.groups.unwrap(),
        vec![
            "system:serviceaccounts",
            "system:serviceaccounts:demo",
            "system:authenticated"
        ]
    );
    assert!(
        user.extra
            .unwrap()
            .contains_key("authentication.kubernetes.io/credential-id")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn empty_review_audiences_mean_the_api_servers_own() {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    let default_token = kubesetup::request_token(&client, "demo", "sa", &[], 3600)
        .await
        .unwrap();
    let status = token_review(&client, &default_token, &[]).await;
    assert!(authenticated(&status), "{status:?}");
    assert_eq!(status.audiences.unwrap(), vec![server.issuer().to_string()]);

    let gateway_token =
        kubesetup::request_token(&client, "demo", "sa", &[AUDIENCE.to_string()], 3600)
            .await
            .unwrap();
    assert!(!authenticated(
        &token_review(&client, &gateway_token, &[]).await
    ));
    // Intersection: one matching audience is enough, and only it is reported.
    let status = token_review(&client, &gateway_token, &["other", AUDIENCE]).await;
    assert_eq!(status.audiences.unwrap(), vec![AUDIENCE.to_string()]);
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_audience_tampered_and_garbage_tokens_are_rejected() {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    let token = kubesetup::request_token(&client, "demo", "sa", &[AUDIENCE.to_string()], 3600)
        .await
        .unwrap();

    let wrong = token_review(&client, &token, &["someone-else"]).await;
    assert!(!authenticated(&wrong));
    assert!(wrong.error.unwrap().contains("audiences"));

    // Flip one character of the signature.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(!authenticated(
        &token_review(&client, &tampered, &[AUDIENCE]).await
    ));
    assert!(!authenticated(
        &token_review(&client, "not-a-jwt", &[AUDIENCE]).await
    ));

    // A token from another stand-in (another signing key) is not accepted.
    let (other_server, other_client) = common::start_default().await;
    kubesetup::ensure_namespace(&other_client, "demo")
        .await
        .unwrap();
    kubesetup::ensure_service_account(&other_client, "demo", "sa")
        .await
        .unwrap();
    let foreign =
        kubesetup::request_token(&other_client, "demo", "sa", &[AUDIENCE.to_string()], 3600)
            .await
            .unwrap();
    assert!(!authenticated(
        &token_review(&client, &foreign, &[AUDIENCE]).await
    ));
    assert!(authenticated(
        &token_review(&client, &token, &[AUDIENCE]).await
    ));
    other_server.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    // kube's 60 s clock-skew leeway would keep a 1 s token valid for a minute.
    let server = common::start(gatebench::apiserver::Config {
        token_leeway_secs: 0,
        ..Default::default()
    })
    .await;
    let client = server.client().await.unwrap();
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    let token = kubesetup::request_token(&client, "demo", "sa", &[AUDIENCE.to_string()], 1)
        .await
        .unwrap();
    let expired = common::eventually(Duration::from_secs(5), || {
        let (client, token) = (client.clone(), token.clone());
        async move { !authenticated(&token_review(&client, &token, &[AUDIENCE]).await) }
    })
    .await;
    assert!(expired, "a 1 s token still reviewed true after 5 s");
    let status = token_review(&client, &token, &[AUDIENCE]).await;
    assert!(status.error.unwrap().contains("expired"));
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_or_recreating_the_service_account_revokes_its_tokens() {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    let token = kubesetup::request_token(&client, "demo", "sa", &[AUDIENCE.to_string()], 3600)
        .await
        .unwrap();
    assert!(authenticated(
        &token_review(&client, &token, &[AUDIENCE]).await
    ));

    kubesetup::delete_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    let deleted = token_review(&client, &token, &[AUDIENCE]).await;
    assert!(!authenticated(&deleted));
    assert!(deleted.error.unwrap().contains("deleted"));

    // Same name, new uid: the old token stays revoked, a new one works.
    kubesetup::ensure_service_account(&client, "demo", "sa")
        .await
        .unwrap();
    assert!(!authenticated(
        &token_review(&client, &token, &[AUDIENCE]).await
    ));
    let fresh = kubesetup::request_token(&client, "demo", "sa", &[AUDIENCE.to_string()], 3600)
        .await
        .unwrap();
    assert!(authenticated(
        &token_review(&client, &fresh, &[AUDIENCE]).await
    ));
    // Deleting a missing SA is not an error for set-up code.
    kubesetup::delete_service_account(&client, "demo", "never-existed")
        .await
        .unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn plain_http_serves_the_same_api_and_kubeconfig_is_written() {
    let server = common::start(Config {
        insecure_http: true,
        ..Config::default()
    })
    .await;
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();
    let written = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(written, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
    let names: Vec<String> = namespaces
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(
        names.contains(&"demo".to_string()) && names.contains(&"kube-system".to_string()),
        "{names:?}"
    );
    server.shutdown().await;
}
