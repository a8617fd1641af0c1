//! ServiceAccount JWTs: the RS256 signing key, issuing bound tokens, verifying them, and the JWKS/OIDC documents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Error, Result};

/// Verified-signature cache bound; cleared wholesale when full (entries are cheap to recompute).
const MAX_CACHED_SIGNATURES: usize = 65_536;

/// The `kubernetes.io` private claim of a bound ServiceAccount token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KubernetesClaim {
    pub namespace: String,
    pub serviceaccount: ObjectRefClaim,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectRefClaim {
    pub name: String,
    pub uid: String,
}

/// Claims of a bound ServiceAccount token, as kube-apiserver issues them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub aud: Audiences,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaim,
    #[serde(default)]
    pub nbf: Option<i64>,
    pub sub: String,
}

/// `aud` may be a string or an array (RFC 7519).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audiences {
    One(String),
    Many(Vec<String>),
}

impl Audiences {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Audiences::One(one) => std::slice::from_ref(one),
            Audiences::Many(many) => many,
        }
    }
}

/// Why a token did not verify; texts follow kube-apiserver's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("invalid bearer token")]
    Malformed,
    #[error("invalid bearer token, square/go-jose: error in cryptographic primitive")]
    BadSignature,
    #[error("invalid bearer token, token issuer is not trusted")]
    WrongIssuer,
    #[error("invalid bearer token, square/go-jose/jwt: validation failed, token is expired (exp)")]
    Expired,
    #[error(
        "invalid bearer token, square/go-jose/jwt: validation failed, token not valid yet (nbf)"
    )]
    NotYetValid,
    #[error(
        "invalid bearer token, square/go-jose/jwt: validation failed, token issued in the future (iat)"
    )]
    IssuedInTheFuture,
    #[error("token audiences {token:?} is invalid for the target audiences {target:?}")]
    Audience {
        token: Vec<String>,
        target: Vec<String>,
    },
    #[error("invalid bearer token, service account {0} has been deleted")]
    ServiceAccountDeleted(String),
    #[error("invalid bearer token, service account {0} uid does not match the token")]
    ServiceAccountRecreated(String),
}

/// The stand-in's token key pair with its parsed verifying key kept for the hot path.
pub struct Keys {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    verifying: VerifyingKey<Sha256>,
    jwk: serde_json::Value,
    verified: Mutex<HashMap<[u8; 32], Arc<Claims>>>,
}

impl Keys {
    pub fn generate(issuer: &str) -> Result<Self> {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048)
            .map_err(|e| Error::SigningKey(e.to_string()))?;
        Self::from_private_key(issuer, private)
    }

    /// Uses an RSA key from a PEM file (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`), as
    /// kube-apiserver's `--service-account-signing-key-file` does.
    pub fn from_pem(issuer: &str, pem: &str) -> Result<Self> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| Error::SigningKey(format!("not an RSA private key PEM: {e}")))?;
        Self::from_private_key(issuer, private)
    }

    fn from_private_key(issuer: &str, private: rsa::RsaPrivateKey) -> Result<Self> {
        let public = private.to_public_key();
        let spki_der = public
            .to_public_key_der()
            .map_err(|e| Error::SigningKey(e.to_string()))?;
        // kube-apiserver's key id: base64url(SHA-256(PKIX DER of the public key)).
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der.as_bytes()));
        let pkcs1 = private
            .to_pkcs1_der()
            .map_err(|e| Error::SigningKey(e.to_string()))?;
        let jwk = serde_json::json!({
            "use": "sig",
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        Ok(Self {
            issuer: issuer.to_string(),
            kid,
            encoding: EncodingKey::from_rsa_der(pkcs1.as_bytes()),
            verifying: VerifyingKey::new(public),
            jwk,
            verified: Mutex::new(HashMap::new()),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{"keys":[...]}` as served at `/openid/v1/jwks`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk.clone()] })
    }

    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// Checks the signature and decodes the claims; time, issuer and audience checks are `validate`'s.
    /// Successful results are cached by token hash: a signature never stops being valid.
    pub fn verify_signature(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.lock_cache().get(&digest) {
            return Ok(claims.clone());
        }
        let claims = Arc::new(self.verify_uncached(token)?);
        let mut cache = self.lock_cache();
        if cache.len() >= MAX_CACHED_SIGNATURES {
            cache.clear();
        }
        cache.insert(digest, claims.clone());
        Ok(claims)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Claims>>> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn verify_uncached(&self, token: &str) -> Result<Claims, TokenError> {
        let parts = split_token(token)?;
        if parts
            .header
            .kid
            .as_deref()
            .is_some_and(|kid| kid != self.kid)
        {
            return Err(TokenError::BadSignature);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(parts.signature_b64)
            .ok()
            .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok())
            .ok_or(TokenError::Malformed)?;
        self.verifying
            .verify(parts.signed.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)?;
        decode_claims(parts.payload_b64)
    }
}

/// A compact JWS split into its parts, with the header decoded (signature not checked).
#[derive(Debug)]
pub struct TokenParts<'a> {
    pub header: Header,
    /// `header.payload`, the bytes the signature covers.
    pub signed: &'a str,
    pub payload_b64: &'a str,
    pub signature_b64: &'a str,
}

/// Splits `token` into three parts and decodes an RS256 header; anything else is `Malformed`.
pub fn split_token(token: &str) -> Result<TokenParts<'_>, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::Malformed);
    }
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    Ok(TokenParts {
        header,
        signed: &token[..signed_len],
        payload_b64,
        signature_b64,
    })
}

/// Decodes the claims part of a token (only trusted once its signature verified).
pub fn decode_claims(payload_b64: &str) -> Result<Claims, TokenError> {
    URL_SAFE_NO_PAD
        .decode(payload_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)
}

/// kube-apiserver's clock-skew allowance on exp, nbf and iat (go-jose's `DefaultLeeway`).
pub const KUBE_LEEWAY_SECS: i64 = 60;

/// Issuer and time checks (`exp`, `nbf`, `iat`, each with `leeway_secs` as go-jose's
/// `ValidateWithLeeway`), then the audience intersection kube uses: the token's `aud` against
/// `target` (a TokenReview's `spec.audiences`, or the API server's own audiences). Returns the
/// intersection, which becomes `status.audiences`.
pub fn validate(
    claims: &Claims,
    issuer: &str,
    now_secs: i64,
    leeway_secs: i64,
    target: &[String],
) -> Result<Vec<String>, TokenError> {
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if now_secs.saturating_sub(leeway_secs) >= claims.exp {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| now_secs.saturating_add(leeway_secs) < nbf)
    {
        return Err(TokenError::NotYetValid);
    }
    if now_secs.saturating_add(leeway_secs) < claims.iat {
        return Err(TokenError::IssuedInTheFuture);
    }
    let token_audiences = claims.aud.as_slice();
    let intersection: Vec<String> = target
        .iter()
        .filter(|aud| token_audiences.contains(aud))
        .cloned()
        .collect();
    if intersection.is_empty() {
        return Err(TokenError::Audience {
            token: token_audiences.to_vec(),
            target: target.to_vec(),
        });
    }
    Ok(intersection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: &[&str], exp: i64) -> Claims {
        Claims {
            aud: Audiences::Many(aud.iter().map(|s| s.to_string()).collect()),
            exp,
            iat: 0,
            iss: "iss".into(),
            jti: None,
            kubernetes: KubernetesClaim {
                namespace: "ns".into(),
                serviceaccount: ObjectRefClaim {
                    name: "sa".into(),
                    uid: "u".into(),
                },
            },
            nbf: Some(0),
            sub: "system:serviceaccount:ns:sa".into(),
        }
    }

    #[test]
    fn audience_intersection_is_returned() {
        let target = vec!["b".to_string(), "c".to_string()];
        let got = validate(&claims(&["a", "b"], 100), "iss", 10, 0, &target).unwrap();
        assert_eq!(got, vec!["b".to_string()]);
        let err = validate(&claims(&["a"], 100), "iss", 10, 0, &target).unwrap_err();
        assert!(matches!(err, TokenError::Audience { .. }));
    }

    #[test]
    fn expiry_and_issuer_are_checked() {
        let target = vec!["a".to_string()];
        assert_eq!(
            validate(&claims(&["a"], 100), "iss", 100, 0, &target),
            Err(TokenError::Expired)
        );
        assert_eq!(
            validate(&claims(&["a"], 100), "other", 10, 0, &target),
            Err(TokenError::WrongIssuer)
        );
    }

    #[test]
    fn time_checks_allow_kube_leeway_and_refuse_a_future_iat() {
        let target = vec!["a".to_string()];
        let mut c = claims(&["a"], 1000);
        // Expired 30 s ago: still inside the 60 s leeway; 90 s ago: not.
        assert!(validate(&c, "iss", 1030, KUBE_LEEWAY_SECS, &target).is_ok());
        assert_eq!(
            validate(&c, "iss", 1090, KUBE_LEEWAY_SECS, &target),
            Err(TokenError::Expired)
        );
        c.nbf = None;
        c.iat = 500;
        assert!(validate(&c, "iss", 450, KUBE_LEEWAY_SECS, &target).is_ok());
        assert_eq!(
            validate(&c, "iss", 400, KUBE_LEEWAY_SECS, &target),
            Err(TokenError::IssuedInTheFuture)
        );
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let keys = Keys::generate("iss").unwrap();
        let token = keys.sign(&claims(&["a"], i64::MAX / 2)).unwrap();
        assert_eq!(
            keys.verify_signature(&token).unwrap().sub,
            "system:serviceaccount:ns:sa"
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["sub"] = "system:serviceaccount:ns:admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
        assert_eq!(
            keys.verify_signature(&parts.join(".")).unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(
            keys.verify_signature("a.b").unwrap_err(),
            TokenError::Malformed
        );
    }
}
