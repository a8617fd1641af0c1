//! `--auth jwks`: ServiceAccount JWTs verified locally against the cluster's OIDC discovery + JWKS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::time::Instant;

use super::{
    AuthError, AuthSetupError, Authenticator, Identity, RequestCredentials, require_bearer,
};
use crate::gateway::kube_client::KubeApi;

/// Unknown-`kid` refreshes happen at most this often, so garbage tokens cannot hammer the API server.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Clock skew tolerated on exp/nbf.
const LEEWAY_SECS: u64 = 5;

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
}

#[derive(Deserialize)]
struct ServiceAccountClaims {
    sub: String,
    #[serde(rename = "kubernetes.io")]
    kubernetes: Option<KubernetesClaims>,
}

#[derive(Deserialize)]
struct KubernetesClaims {
    namespace: String,
    serviceaccount: Option<ObjectRef>,
}

#[derive(Deserialize)]
struct ObjectRef {
    uid: String,
}

/// Verification keys by `kid`.
pub type KeySet = HashMap<String, (Algorithm, Arc<DecodingKey>)>;

struct Inner {
    kube: KubeApi,
    issuer: String,
    audiences: Vec<String>,
    keys: RwLock<Arc<KeySet>>,
    last_fetch: tokio::sync::Mutex<Instant>,
}

/// Verifies signature, iss, aud, exp and nbf locally; never calls TokenReview.
pub struct JwksAuthenticator {
    inner: Arc<Inner>,
}

impl JwksAuthenticator {
    /// Fetches discovery and keys through `kube`, then refreshes every `refresh` in the background
    /// (the task ends when the authenticator is dropped). Empty `audiences` = the issuer, like the
    /// API server's default audience.
    pub async fn start(
        kube: KubeApi,
        issuer: Option<String>,
        audiences: Vec<String>,
        refresh: Duration,
    ) -> Result<Self, AuthSetupError> {
        let discovered = fetch_issuer(&kube).await?;
        let issuer = issuer.unwrap_or(discovered);
        let audiences = if audiences.is_empty() {
            vec![issuer.clone()]
        } else {
            audiences
        };
        let keys = fetch_keys(&kube).await?;
        let inner = Arc::new(Inner {
            kube,
            issuer,
            audiences,
            keys: RwLock::new(Arc::new(keys)),
            last_fetch: tokio::sync::Mutex::new(Instant::now()),
        });
        spawn_periodic_refresh(Arc::downgrade(&inner), refresh);
        Ok(JwksAuthenticator { inner })
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Verifies `token` and maps its claims to the identity the API server would report.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let inner = &self.inner;
        match verify_local(&inner.keys(), &inner.issuer, &inner.audiences, token) {
            Err(Rejection::UnknownKid) => {
                inner.refresh_for_unknown_kid().await;
                verify_local(&inner.keys(), &inner.issuer, &inner.audiences, token)
            }
            other => other,
        }
        .map_err(|r| match r {
            Rejection::UnknownKid => AuthError::Invalid("unknown signing key".into()),
            Rejection::Invalid(reason) => AuthError::Invalid(reason),
        })
    }
}

/// Why local verification failed; an unknown `kid` may be fixed by refreshing the key set.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    UnknownKid,
    Invalid(String),
}

/// Signature, iss, aud, exp and nbf checks of `token` against `keys`, with no I/O.
pub fn verify_local(
    keys: &KeySet,
    issuer: &str,
    audiences: &[String],
    token: &str,
) -> Result<Identity, Rejection> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| Rejection::Invalid(format!("not a JWT: {e}")))?;
    let (alg, decoding_key) = keys
        .get(header.kid.as_deref().unwrap_or_default())
        .ok_or(Rejection::UnknownKid)?;
    if header.alg != *alg {
        return Err(Rejection::Invalid("algorithm does not match key".into()));
    }
    let mut validation = Validation::new(*alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(audiences);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    // jsonwebtoken requires only `exp` by default: a token without `iss` or `aud` would skip
    // those checks entirely.
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<ServiceAccountClaims>(token, decoding_key, &validation)
        .map_err(|e| Rejection::Invalid(format!("JWT rejected: {e}")))?;
    Ok(identity_from_claims(data.claims))
}

impl Authenticator for JwksAuthenticator {
    fn authenticate<'a>(
        &'a self,
        creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>> {
        Box::pin(async move { self.verify(require_bearer(creds)?).await })
    }
}

impl Inner {
    fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn refresh_for_unknown_kid(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.elapsed() < MIN_REFRESH_INTERVAL {
            return;
        }
        *last = Instant::now();
        self.refresh().await;
    }

    async fn refresh(&self) {
        match fetch_keys(&self.kube).await {
            Ok(keys) => *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys),
            // Keep the old keys: an API blip must not turn into rejecting every token.
            Err(e) => tracing::warn!(error = %e, "JWKS refresh failed; keeping previous keys"),
        }
    }
}

fn spawn_periodic_refresh(inner: Weak<Inner>, every: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(inner) = inner.upgrade() else { return };
            *inner.last_fetch.lock().await = Instant::now();
            inner.refresh().await;
        }
    });
}

async fn fetch_issuer(kube: &KubeApi) -> Result<String, AuthSetupError> {
    let text = kube
        .get_text("/.well-known/openid-configuration")
        .await
        .map_err(|e| AuthSetupError::Jwks(e.to_string()))?;
    let discovery: Discovery =
        serde_json::from_str(&text).map_err(|e| AuthSetupError::Jwks(e.to_string()))?;
    Ok(discovery.issuer)
}

async fn fetch_keys(kube: &KubeApi) -> Result<KeySet, AuthSetupError> {
    let text = kube
        .get_text("/openid/v1/jwks")
        .await
        .map_err(|e| AuthSetupError::Jwks(e.to_string()))?;
    parse_key_set(&text)
}

/// RS256 for RSA keys, ES256 for P-256 keys; other key types are skipped.
pub fn parse_key_set(text: &str) -> Result<KeySet, AuthSetupError> {
    let set: JwkSet =
        serde_json::from_str(text).map_err(|e| AuthSetupError::Jwks(e.to_string()))?;
    let mut keys = KeySet::new();
    for jwk in &set.keys {
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        keys.insert(
            jwk.common.key_id.clone().unwrap_or_default(),
            (alg, Arc::new(key)),
        );
    }
    if keys.is_empty() {
        return Err(AuthSetupError::Jwks(
            "JWKS holds no usable RS256/ES256 key".into(),
        ));
    }
    Ok(keys)
}

fn identity_from_claims(claims: ServiceAccountClaims) -> Identity {
    let mut groups = Vec::new();
    let mut uid = None;
    if let Some(k) = &claims.kubernetes {
        groups.push("system:serviceaccounts".to_string());
        groups.push(format!("system:serviceaccounts:{}", k.namespace));
        uid = k.serviceaccount.as_ref().map(|sa| sa.uid.clone());
    }
    groups.push("system:authenticated".to_string());
    Identity {
        username: claims.sub,
        uid,
        groups,
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};

    const ISS: &str = "https://issuer.test";

    /// An ES256 key as (JWKS text, encoding key), made with rcgen so no RSA keygen is needed.
    fn es256_key(kid: &str) -> (String, EncodingKey) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = key.public_key_raw();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": b64.encode(&raw[1..33]), "y": b64.encode(&raw[33..65]),
        }]});
        (
            jwks.to_string(),
            EncodingKey::from_ec_der(key.serialized_der()),
        )
    }

    fn claims(aud: &str, exp_offset_secs: i64) -> serde_json::Value {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        serde_json::json!({
            "iss": ISS, "aud": [aud], "sub": "system:serviceaccount:ns:sa",
            "exp": now + exp_offset_secs, "nbf": now - 10, "iat": now - 10,
            "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "uid-1"}},
        })
    }

    fn sign(key: &EncodingKey, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn token(key: &EncodingKey, kid: &str, aud: &str, exp_offset_secs: i64) -> String {
        sign(key, kid, &claims(aud, exp_offset_secs))
    }

    #[test]
    fn exp_iss_aud_and_sub_are_required() {
        let (jwks, key) = es256_key("k1");
        let keys = parse_key_set(&jwks).unwrap();
        let aud = vec![ISS.to_string()];
        for missing in ["exp", "iss", "aud", "sub"] {
            let mut c = claims(ISS, 600);
            c.as_object_mut().unwrap().remove(missing);
            let got = verify_local(&keys, ISS, &aud, &sign(&key, "k1", &c));
            assert!(
                matches!(got, Err(Rejection::Invalid(_))),
                "{missing}: {got:?}"
            );
        }
    }

    #[test]
    fn verifies_signature_issuer_audience_and_expiry() {
        let (jwks, key) = es256_key("k1");
        let keys = parse_key_set(&jwks).unwrap();
        let aud = vec![ISS.to_string()];
        let id = verify_local(&keys, ISS, &aud, &token(&key, "k1", ISS, 600)).unwrap();
        assert_eq!(id.username, "system:serviceaccount:ns:sa");
        assert_eq!(id.uid.as_deref(), Some("uid-1"));
        assert!(id.groups.contains(&"system:serviceaccounts:ns".to_string()));

        let wrong_aud = verify_local(&keys, ISS, &aud, &token(&key, "k1", "other", 600));
        assert!(matches!(wrong_aud, Err(Rejection::Invalid(_))));
        let expired = verify_local(&keys, ISS, &aud, &token(&key, "k1", ISS, -600));
        assert!(matches!(expired, Err(Rejection::Invalid(_))));
        let wrong_iss = verify_local(
            &keys,
            "https://elsewhere",
            &aud,
            &token(&key, "k1", ISS, 600),
        );
        assert!(matches!(wrong_iss, Err(Rejection::Invalid(_))));
        let unknown = verify_local(&keys, ISS, &aud, &token(&key, "k2", ISS, 600));
        assert_eq!(unknown.unwrap_err(), Rejection::UnknownKid);
        let (_, other_key) = es256_key("k1");
        let forged = verify_local(&keys, ISS, &aud, &token(&other_key, "k1", ISS, 600));
        assert!(matches!(forged, Err(Rejection::Invalid(_))));
    }
}
