//! JWT costs: local RS256 verification as `jwks` mode does it, and signing as the stand-in issues tokens.

mod support;

use std::hint::black_box;
use std::time::Duration;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatebench::apiserver::tokens::{Audiences, Claims, Keys, KubernetesClaim, ObjectRefClaim};
use gatebench::gateway::auth::jwks::JwksAuthenticator;
use gatebench::gateway::metrics::Metrics;
use gatebench::gateway::server::kube_api;
use gatebench::gateway::{AuthMode, Config};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The claims `jwks` mode reads (its own struct is private; same shape).
#[derive(Deserialize)]
struct ServiceAccountClaims {
    #[allow(dead_code)]
    sub: String,
    #[serde(rename = "kubernetes.io")]
    #[allow(dead_code)]
    kubernetes: Option<serde_json::Value>,
}

fn claims() -> serde_json::Value {
    let exp = support::unix_secs_from_now(Duration::from_secs(3600));
    serde_json::json!({
        "aud": [ISSUER],
        "exp": exp,
        "iat": exp - 3600,
        "nbf": exp - 3600,
        "iss": ISSUER,
        "jti": "5a2e6d0c-3f0e-4d6b-9a57-2f1d3b9c8e11",
        "kubernetes.io": {
            "namespace": "gatebench-load",
            "serviceaccount": {"name": "load-0", "uid": "0b8f3c2e-7d4a-4a1e-9c55-6e2f8d1b7a90"}
        },
        "sub": "system:serviceaccount:gatebench-load:load-0"
    })
}

/// `jwks` mode's validation: algorithm pinned by the key, iss, aud, exp and nbf with 5 s leeway.
fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    validation.validate_nbf = true;
    validation.leeway = 5;
    validation
}

/// Header parse + signature and claim checks, the per-request work of `JwksAuthenticator::verify`.
fn verify(token: &str, key: &DecodingKey, validation: &Validation) -> ServiceAccountClaims {
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    black_box(header.kid);
    jsonwebtoken::decode::<ServiceAccountClaims>(token, key, validation)
        .expect("token verifies")
        .claims
}

fn rsa_keys() -> (EncodingKey, DecodingKey) {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA 2048 key");
    let public = private.to_public_key();
    // The verifying key comes from a JWKS document, as `jwks` mode builds it.
    let jwks: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
        "use": "sig", "kty": "RSA", "kid": "bench", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]}))
    .expect("JWKS");
    let decoding = DecodingKey::from_jwk(&jwks.keys[0]).expect("JWK");
    let pkcs1 = private.to_pkcs1_der().expect("PKCS#1");
    (EncodingKey::from_rsa_der(pkcs1.as_bytes()), decoding)
}

fn ec_keys() -> (EncodingKey, DecodingKey) {
    let key = rcgen::KeyPair::generate().expect("P-256 key");
    let encoding = EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).expect("EC PEM");
    let decoding = DecodingKey::from_ec_pem(key.public_key_pem().as_bytes()).expect("EC PEM");
    (encoding, decoding)
}

fn local(c: &mut Criterion) {
    let claims = claims();
    let mut group = c.benchmark_group("jwt/local");
    group.throughput(Throughput::Elements(1));
    for (name, alg, (encoding, decoding)) in [
        ("rs256", Algorithm::RS256, rsa_keys()),
        ("es256", Algorithm::ES256, ec_keys()),
    ] {
        let mut header = Header::new(alg);
        header.kid = Some("bench".into());
        let token = jsonwebtoken::encode(&header, &claims, &encoding).expect("sign");
        let validation = validation(alg);
        group.bench_function(format!("{name}_verify"), |b| {
            b.iter(|| verify(black_box(&token), &decoding, &validation))
        });
        group.bench_function(format!("{name}_sign"), |b| {
            b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &encoding).expect("sign"))
        });
    }
    group.finish();
}

/// `jwks` mode's real verifier on a stand-in token (keys fetched from the stand-in's JWKS), and
/// the stand-in's own token signing (what every TokenRequest costs it).
fn standin(c: &mut Criterion) {
    let runtime = support::multi_thread_runtime();
    let fixture = runtime.block_on(support::standin::start());
    let config = Config::new(AuthMode::Jwks, Some(fixture.gateway_kube.clone()));
    let authenticator = runtime.block_on(async {
        let kube = kube_api(&config, Arc::new(Metrics::new()))
            .expect("kube client")
            .expect("mode needs kube");
        JwksAuthenticator::start(kube, None, Vec::new(), Duration::from_secs(300))
            .await
            .expect("JWKS fetched")
    });
    let mut group = c.benchmark_group("jwt/standin");
    group.throughput(Throughput::Elements(1));
    group.bench_function("jwks_authenticator_verify", |b| {
        b.to_async(&runtime).iter(|| async {
            authenticator
                .verify(black_box(&fixture.load_token))
                .await
                .expect("stand-in token verifies")
        })
    });
    let keys = Keys::generate(fixture.server.issuer()).expect("signing key");
    let now = support::unix_secs_from_now(Duration::ZERO) as i64;
    let sa_claims = Claims {
        aud: Audiences::Many(vec![fixture.server.issuer().to_string()]),
        exp: now + 3600,
        iat: now,
        iss: fixture.server.issuer().to_string(),
        jti: Some("5a2e6d0c-3f0e-4d6b-9a57-2f1d3b9c8e11".into()),
        kubernetes: KubernetesClaim {
            namespace: "gatebench-load".into(),
            serviceaccount: ObjectRefClaim {
                name: "load-0".into(),
                uid: "0b8f3c2e-7d4a-4a1e-9c55-6e2f8d1b7a90".into(),
            },
        },
        nbf: Some(now),
        sub: "system:serviceaccount:gatebench-load:load-0".into(),
    };
    group.bench_function("standin_sign_rs256", |b| {
        b.iter(|| keys.sign(black_box(&sa_claims)).expect("signed"))
    });
    group.finish();
    runtime.block_on(fixture.server.shutdown());
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = local, standin
}
criterion_main!(benches);
