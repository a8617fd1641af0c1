//! Conformance, tokens: TokenRequest and TokenReview behave the same on the stand-in and on kube-apiserver.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::conformance_servers::{Server, claims};

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `status.authenticated` is omitted (not `false`) when a review fails, on kube-apiserver.
fn authenticated(review: &Value) -> bool {
    review["status"]["authenticated"].as_bool().unwrap_or(false)
}

async fn token_request_honours_audiences_and_expiration(server: Server) {
    let ns = server.namespace("conf-treq").await;
    let uid = server.service_account(&ns, "prom").await;
    let (status, body) = server
        .token_request(
            &ns,
            "prom",
            json!({"audiences": ["alerts", "gw"], "expirationSeconds": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "TokenRequest");
    assert_eq!(body["spec"]["audiences"], json!(["alerts", "gw"]));
    assert_eq!(body["spec"]["expirationSeconds"], 3600);
    let token = body["status"]["token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["aud"], json!(["alerts", "gw"]));
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert!((c["iat"].as_i64().unwrap() - now()).abs() < 60, "{c}");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], format!("system:serviceaccount:{ns}:prom"));
    assert_eq!(c["kubernetes.io"]["namespace"], ns.as_str());
    assert_eq!(c["kubernetes.io"]["serviceaccount"]["uid"], uid.as_str());
    let expires: jiff::Timestamp = body["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((expires.as_second() - now() - 3600).abs() < 60, "{body}");
    assert_eq!(body["metadata"]["uid"], uid.as_str());

    // No audiences: the API server's own (the issuer, as neither sets --api-audiences).
    let (_, body) = server
        .token_request(&ns, "prom", json!({"expirationSeconds": 3600}))
        .await;
    assert_eq!(body["spec"]["audiences"], json!([ISSUER]));
    assert_eq!(
        claims(body["status"]["token"].as_str().unwrap())["aud"],
        json!([ISSUER])
    );

    // Shorter than kube's 10-minute minimum: 422 Invalid on both.
    let (status, body) = server
        .token_request(&ns, "prom", json!({"expirationSeconds": 100}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["reason"], "Invalid");

    let (status, body) = server
        .token_request(&ns, "nobody", json!({"expirationSeconds": 3600}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["reason"], "NotFound");
}
both!(
    token_request,
    token_request_honours_audiences_and_expiration
);

async fn a_valid_token_reviews_as_its_service_account(server: Server) {
    let ns = server.namespace("conf-trv").await;
    let uid = server.service_account(&ns, "prom").await;
    let token = server.token(&ns, "prom").await;
    let (status, body) = server.token_review(&token, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(authenticated(&body), "{body}");
    let user = &body["status"]["user"];
    assert_eq!(user["username"], format!("system:serviceaccount:{ns}:prom"));
    assert_eq!(user["uid"], uid.as_str());
    assert_eq!(
        user["groups"],
        json!([
            "system:serviceaccounts",
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated"
        ])
    );
    let jti = claims(&token)["jti"].as_str().unwrap().to_string();
    assert_eq!(
        user["extra"]["authentication.kubernetes.io/credential-id"],
        json!([format!("JTI={jti}")])
    );
    assert_eq!(body["status"]["audiences"], json!([ISSUER]));
    // The object comes back as sent, token included, with status filled in.
    assert_eq!(body["spec"]["token"], token.as_str());
    assert!(body["spec"].get("audiences").is_none(), "{body}");
}
both!(
    token_review_valid,
    a_valid_token_reviews_as_its_service_account
);

async fn audiences_are_checked_and_echoed(server: Server) {
    let ns = server.namespace("conf-aud").await;
    server.service_account(&ns, "prom").await;
    let token = server.token(&ns, "prom").await;
    let (_, body) = server
        .token_review(&token, json!({"audiences": ["other"]}))
        .await;
    assert!(!authenticated(&body), "{body}");
    assert_eq!(body["status"]["user"], json!({}));
    assert!(
        body["status"]["error"]
            .as_str()
            .unwrap()
            .contains("audience"),
        "{body}"
    );
    assert_eq!(body["spec"]["audiences"], json!(["other"]));

    let (_, body) = server
        .token_review(&token, json!({"audiences": ["other", ISSUER]}))
        .await;
    assert!(authenticated(&body), "{body}");
    assert_eq!(body["status"]["audiences"], json!([ISSUER]));

    // An empty list means "the API server's audiences", and is not echoed back (omitempty).
    let (_, body) = server.token_review(&token, json!({"audiences": []})).await;
    assert!(authenticated(&body), "{body}");
    assert!(body["spec"].get("audiences").is_none(), "{body}");
    assert_eq!(body["status"]["audiences"], json!([ISSUER]));
}
both!(token_review_audiences, audiences_are_checked_and_echoed);

async fn expired_and_tampered_tokens_are_rejected(server: Server) {
    let ns = server.namespace("conf-bad").await;
    server.service_account(&ns, "prom").await;
    let token = server.token(&ns, "prom").await;
    let expired = server.forge(&token, |c| {
        let t = now();
        c["iat"] = json!(t - 7200);
        c["nbf"] = json!(t - 7200);
        c["exp"] = json!(t - 3600);
    });
    let (status, body) = server.token_review(&expired, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!authenticated(&body), "{body}");
    assert!(
        body["status"]["error"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // A forged token that is still in date is accepted: the key, not the harness, is the judge.
    let resigned = server.forge(&token, |_| {});
    assert!(authenticated(
        &server.token_review(&resigned, json!({})).await.1
    ));

    // Change a character inside the signature: the last one also carries padding bits that
    // lenient base64 decoders (Go's, so kube-apiserver's) ignore, which can leave it valid.
    let at = tampered_at(&token);
    let mut tampered = token.clone();
    let was = tampered.remove(at);
    tampered.insert(at, if was == 'A' { 'B' } else { 'A' });
    let (_, body) = server.token_review(&tampered, json!({})).await;
    assert!(!authenticated(&body), "{body}");
    assert_eq!(body["status"]["user"], json!({}));

    let (_, body) = server.token_review("not-a-jwt", json!({})).await;
    assert!(!authenticated(&body), "{body}");
}
both!(
    token_review_expired_tampered,
    expired_and_tampered_tokens_are_rejected
);

/// A position well inside the token's signature segment.
fn tampered_at(token: &str) -> usize {
    let signature_start = token.rfind('.').unwrap() + 1;
    signature_start + (token.len() - signature_start) / 2
}

async fn deleting_the_service_account_revokes_its_tokens(server: Server) {
    let ns = server.namespace("conf-del").await;
    server.service_account(&ns, "prom").await;
    let token = server.token(&ns, "prom").await;
    assert!(authenticated(
        &server.token_review(&token, json!({})).await.1
    ));
    let (status, _) = server
        .delete(&format!("/api/v1/namespaces/{ns}/serviceaccounts/prom"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // kube-apiserver reads ServiceAccounts from an informer cache: the deletion lands within ms.
    let revoked =
        crate::apiserver_common::eventually(std::time::Duration::from_secs(10), || async {
            !authenticated(&server.token_review(&token, json!({})).await.1)
        })
        .await;
    assert!(
        revoked,
        "the token of a deleted ServiceAccount still authenticates"
    );
    let (_, body) = server.token_review(&token, json!({})).await;
    assert_eq!(body["status"]["user"], json!({}));

    // Same name, new uid: the old token stays revoked, a new one works.
    server.service_account(&ns, "prom").await;
    let fresh = server.token(&ns, "prom").await;
    let works = crate::apiserver_common::eventually(std::time::Duration::from_secs(10), || async {
        authenticated(&server.token_review(&fresh, json!({})).await.1)
    })
    .await;
    assert!(works, "a token of the recreated ServiceAccount is refused");
    let (_, body) = server.token_review(&token, json!({})).await;
    assert!(!authenticated(&body), "{body}");
}
both!(
    token_review_deleted_recreated,
    deleting_the_service_account_revokes_its_tokens
);
