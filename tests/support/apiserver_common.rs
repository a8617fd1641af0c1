//! Shared helpers of the apiserver integration tests: start a stand-in, review tokens and access through kube.
#![allow(dead_code)]

use std::time::Duration;

use gatebench::apiserver::{ApiServer, Config};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};

pub async fn start(config: Config) -> ApiServer {
    gatebench::tls::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ApiServer::start(config, listener).await.unwrap()
}

pub async fn start_default() -> (ApiServer, Client) {
    let server = start(Config::default()).await;
    let client = server.client().await.unwrap();
    (server, client)
}

/// A kube client that authenticates with `token` against `server`.
pub async fn client_with_token(server: &ApiServer, token: &str) -> Client {
    let kubeconfig = gatebench::kubesetup::kubeconfig_with_token(&server.kubeconfig(), token);
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

pub async fn token_review(client: &Client, token: &str, audiences: &[&str]) -> TokenReviewStatus {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: token.to_string(),
            audiences: Some(audiences.iter().map(|a| a.to_string()).collect())
                .filter(|a: &Vec<String>| !a.is_empty()),
        },
        ..Default::default()
    };
    let answer = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    answer.status.unwrap()
}

pub fn authenticated(status: &TokenReviewStatus) -> bool {
    status.authenticated.unwrap_or(false)
}

pub fn resource_attributes(
    verb: &str,
    resource: &str,
    namespace: &str,
    name: &str,
) -> ResourceAttributes {
    ResourceAttributes {
        verb: Some(verb.to_string()),
        resource: Some(resource.to_string()),
        namespace: Some(namespace.to_string()).filter(|n| !n.is_empty()),
        name: Some(name.to_string()).filter(|n| !n.is_empty()),
        ..Default::default()
    }
}

/// Asks the server whether `user` (in `groups`) may do `attributes`; returns (allowed, reason).
pub async fn sar(
    client: &Client,
    user: &str,
    groups: &[&str],
    attributes: ResourceAttributes,
) -> (bool, String) {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.to_string()),
            groups: Some(groups.iter().map(|g| g.to_string()).collect()),
            resource_attributes: Some(attributes),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    let status = answer.status.unwrap();
    (status.allowed, status.reason.unwrap_or_default())
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn http_status(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
