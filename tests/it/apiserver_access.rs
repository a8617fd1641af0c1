//! Access control of callers (401/403) and REST semantics of stored objects, through kube and raw HTTPS.

use crate::apiserver_common as common;

use gatebench::kubesetup;
use k8s_openapi::api::authentication::v1::TokenReview;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: ns.map(str::to_string),
        ..Default::default()
    }
}

#[tokio::test]
async fn callers_without_delegation_get_403_and_without_token_401() {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    kubesetup::ensure_service_account(&client, "demo", "plain")
        .await
        .unwrap();
    let token = kubesetup::request_token(&client, "demo", "plain", &[], 3600)
        .await
        .unwrap();
    let plain = common::client_with_token(&server, &token).await;
    let review = TokenReview {
        spec: k8s_openapi::api::authentication::v1::TokenReviewSpec {
            token: token.clone(),
            audiences: None,
        },
        ..Default::default()
    };
    let err = Api::<TokenReview>::all(plain.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap_err();
    assert_eq!(common::http_status(&err), Some(403), "{err:?}");
    let err = Api::<ServiceAccount>::namespaced(plain.clone(), "demo")
        .list(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(common::http_status(&err), Some(403));
    // Tokens for another audience do not authenticate against the API server itself.
    let gateway_token =
        kubesetup::request_token(&client, "demo", "plain", &["gatebench".into()], 3600)
            .await
            .unwrap();
    let wrong_audience = common::client_with_token(&server, &gateway_token).await;
    let err = Api::<ServiceAccount>::namespaced(wrong_audience, "demo")
        .list(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(common::http_status(&err), Some(401));

    // No token at all: 401 with a Status body.
    let ca = reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let answer = http
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/tokenreviews",
            server.url()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["reason"], "Unauthorized");
    // Health needs no credentials.
    let health = http
        .get(format!("{}/readyz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn rest_semantics_for_objects() {
    let (server, client) = common::start_default().await;
    let pp = PostParams::default();
    kubesetup::ensure_namespace(&client, "demo").await.unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "demo");
    let sa = ServiceAccount {
        metadata: meta("dup", None),
        ..Default::default()
    };
    sas.create(&pp, &sa).await.unwrap();
    let err = sas.create(&pp, &sa).await.unwrap_err();
    let kube::Error::Api(status) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );
    let err = sas.get("missing").await.unwrap_err();
    let kube::Error::Api(status) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    let in_missing_ns: Api<ServiceAccount> = Api::namespaced(client.clone(), "nope");
    assert_eq!(
        common::http_status(&in_missing_ns.create(&pp, &sa).await.unwrap_err()),
        Some(404)
    );
    assert_eq!(sas.list(&Default::default()).await.unwrap().items.len(), 1);
    // Deleting a namespace removes what it held.
    kubesetup::ensure_namespace(&client, "gone").await.unwrap();
    kubesetup::ensure_service_account(&client, "gone", "x")
        .await
        .unwrap();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .delete("gone", &Default::default())
        .await
        .unwrap();
    let in_gone: Api<ServiceAccount> = Api::namespaced(client.clone(), "gone");
    assert_eq!(
        common::http_status(&in_gone.get("x").await.unwrap_err()),
        Some(404)
    );
    server.shutdown().await;
}

/// One GET over HTTP/2 (ALPN h2) with a bare hyper client: proves the listener negotiates h2.
async fn h2_get(server: &gatebench::apiserver::ApiServer, path: &str) -> (http::Version, u16) {
    use http_body_util::{BodyExt, Empty};
    let mut roots = rustls::RootCertStore::empty();
    let pem = server.ca_pem().unwrap().as_bytes().to_vec();
    let ca = rustls_pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    roots.add(ca).unwrap();
    let mut tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("{}{path}", server.url()))
        .header("authorization", format!("Bearer {}", server.admin_token()))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (version, status) = (response.version(), response.status().as_u16());
    response.into_body().collect().await.unwrap();
    (version, status)
}

#[tokio::test]
async fn serves_h2_discovery_and_issuer_documents() {
    let (server, _client) = common::start_default().await;
    assert_eq!(h2_get(&server, "/api").await, (http::Version::HTTP_2, 200));
    let ca = reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let get = |path: &str| {
        http.get(format!("{}{path}", server.url()))
            .bearer_auth(server.admin_token())
            .send()
    };

    let core: serde_json::Value = get("/api/v1").await.unwrap().json().await.unwrap();
    let token = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "serviceaccounts/token")
        .unwrap();
    assert_eq!(
        (token["kind"].as_str(), token["namespaced"].as_bool()),
        (Some("TokenRequest"), Some(true))
    );
    let groups: serde_json::Value = get("/apis").await.unwrap().json().await.unwrap();
    assert_eq!(groups["groups"].as_array().unwrap().len(), 3);
    let authn: serde_json::Value = get("/apis/authentication.k8s.io/v1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(authn["resources"][0]["name"], "tokenreviews");
    assert_eq!(get("/openapi/v2").await.unwrap().status().as_u16(), 404);

    let oidc: serde_json::Value = get("/.well-known/openid-configuration")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oidc["issuer"], server.issuer());
    let jwks: serde_json::Value = get("/openid/v1/jwks").await.unwrap().json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    // kid = base64url(SHA-256(DER SubjectPublicKeyInfo)): 32 bytes -> 43 characters, no padding.
    assert_eq!(key["kid"].as_str().unwrap().len(), 43);
    server.shutdown().await;
}
