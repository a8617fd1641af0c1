//! The decision rules against a scripted API (real sockets): the `--audience` intersection, the SAR
//! cache TTL following the verdict, and the claims jwks mode requires.

use crate::fake_kube::{self, FakeKube};
use crate::gateway_support;

use std::time::Duration;

use base64::Engine;
use gatebench::gateway::AuthMode;
use gateway_support::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const ALLOWED: fn() -> serde_json::Value = || json!({"allowed": true});

#[tokio::test]
async fn token_review_answers_must_share_an_asked_audience() {
    let kube = FakeKube::start().await;
    kube.answer(fake_kube::SARS, ALLOWED());
    let gw = start(AuthMode::Cached, Some(kube.config()), false, |c| {
        c.audiences = vec!["alert-gateway".into()];
    })
    .await;
    let c = http_client();
    // The API server vouches for the token, but for its own audience, not the gateway's.
    kube.answer(
        fake_kube::TOKEN_REVIEWS,
        FakeKube::authenticated("u", &["https://kubernetes.default.svc"]),
    );
    assert_eq!(post_alert(&c, gw.url(), Some("tok-a"), "a").await.0, 401);
    kube.answer(
        fake_kube::TOKEN_REVIEWS,
        FakeKube::authenticated("u", &["alert-gateway", "other"]),
    );
    assert_eq!(post_alert(&c, gw.url(), Some("tok-b"), "b").await.0, 201);
    gw.shutdown().await;
}

#[tokio::test]
async fn an_allowed_but_denied_sar_is_cached_for_the_denied_ttl() {
    let kube = FakeKube::start().await;
    kube.answer(fake_kube::TOKEN_REVIEWS, FakeKube::authenticated("u", &[]));
    kube.answer(
        fake_kube::SARS,
        json!({"allowed": true, "denied": true, "reason": "explicit deny"}),
    );
    let gw = start(AuthMode::Cached, Some(kube.config()), false, |c| {
        c.sar_allowed_ttl = Duration::from_secs(3600);
        c.sar_denied_ttl = Duration::from_millis(200);
    })
    .await;
    let c = http_client();
    assert_eq!(post_alert(&c, gw.url(), Some("tok"), "a").await.0, 403);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(post_alert(&c, gw.url(), Some("tok"), "a").await.0, 403);
    // Cached for the denied TTL, so asked again; for the allowed TTL it would still be cached.
    assert_eq!(kube.calls(fake_kube::SARS), 2);
    gw.shutdown().await;
}

const ISS: &str = "https://issuer.test";

fn es256() -> (serde_json::Value, EncodingKey) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = key.public_key_raw();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
        "kid": "k1", "x": b64.encode(&raw[1..33]), "y": b64.encode(&raw[33..65])}]});
    (jwks, EncodingKey::from_ec_der(key.serialized_der()))
}

#[tokio::test]
async fn jwks_mode_requires_exp_iss_aud_and_sub() {
    let kube = FakeKube::start().await;
    let (jwks, key) = es256();
    kube.answer("/.well-known/openid-configuration", json!({"issuer": ISS}));
    kube.answer("/openid/v1/jwks", jwks);
    kube.answer(fake_kube::SARS, ALLOWED());
    let gw = start(AuthMode::Jwks, Some(kube.config()), false, |_| {}).await;
    let now = jsonwebtoken::get_current_timestamp();
    let token = |drop: Option<&str>| {
        let mut claims = json!({"iss": ISS, "aud": [ISS], "sub": "system:serviceaccount:ns:sa",
            "exp": now + 600, "iat": now, "nbf": now});
        if let Some(field) = drop {
            claims.as_object_mut().unwrap().remove(field);
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let c = http_client();
    assert_eq!(
        post_alert(&c, gw.url(), Some(&token(None)), "ok").await.0,
        201
    );
    for missing in ["exp", "iss", "aud", "sub"] {
        let (status, _) = post_alert(&c, gw.url(), Some(&token(Some(missing))), missing).await;
        assert_eq!(status, 401, "token without {missing}");
    }
    assert_eq!(kube.calls(fake_kube::TOKEN_REVIEWS), 0);
    gw.shutdown().await;
}
