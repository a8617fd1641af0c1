//! Authentication strategies (one file per `--auth` mode) and the shared authorize-through-SAR step.

pub mod cached;
pub mod hybrid;
pub mod jwks;
pub mod mtls;
pub mod none;
pub mod pipeline;
pub mod sar_cache;
pub mod token_cache;
pub mod tokenreview;

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use http::HeaderMap;

use super::kube_client;

pub use crate::token_key::TokenKeyer;
pub use pipeline::{AuthPipeline, build_pipeline};
pub use sar_cache::{Authorizer, SarCache, sar_key, sar_spec};
pub use token_cache::{TokenCache, TokenVerdict, unverified_exp};

/// Who the caller is, as the API server would see them (TokenReview `status.user`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub username: String,
    pub uid: Option<String>,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The credentials one request carries: its bearer token and/or the connection's client certificate.
/// `Debug` never shows the token.
#[derive(Clone, Default)]
pub struct RequestCredentials {
    pub bearer: Option<String>,
    /// An `Authorization` header was present but was not a usable `Bearer <token>`.
    pub authorization_malformed: bool,
    /// The bearer token was longer than the gateway accepts; it was dropped unread.
    pub oversized: bool,
    /// Identity from a verified client certificate (CN, O values), if the connection presented one.
    pub client_cert: Option<Identity>,
}

impl std::fmt::Debug for RequestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCredentials")
            .field("bearer", &self.bearer.as_ref().map(|t| Redacted(t.len())))
            .field("authorization_malformed", &self.authorization_malformed)
            .field("oversized", &self.oversized)
            .field("client_cert", &self.client_cert)
            .finish()
    }
}

/// Stands in for a secret in `Debug` output: only its length is shown.
struct Redacted(usize);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<redacted {} bytes>", self.0)
    }
}

/// Default longest bearer token accepted; longer ones are refused without asking the API server.
pub const DEFAULT_MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

impl RequestCredentials {
    /// Extracts the bearer token from `headers`; `client_cert` comes from the TLS connection.
    /// A token longer than `max_bearer_bytes` is not kept (`oversized`).
    pub fn from_headers(
        headers: &HeaderMap,
        client_cert: Option<Identity>,
        max_bearer_bytes: usize,
    ) -> Self {
        let mut creds = RequestCredentials {
            client_cert,
            ..Default::default()
        };
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace));
            match token {
                Some(token) if token.len() > max_bearer_bytes => creds.oversized = true,
                Some(token) => creds.bearer = Some(token.to_string()),
                None => creds.authorization_malformed = true,
            }
        }
        creds
    }
}

/// Why a request was not let through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("invalid credentials: {0}")]
    Invalid(String),
    #[error("denied: {0}")]
    Denied(String),
    #[error("API server unavailable: {0}")]
    Unavailable(#[from] kube_client::Error),
}

impl AuthError {
    /// Label for `gatebench_auth_decisions_total{outcome}`.
    pub fn outcome(&self) -> &'static str {
        match self {
            AuthError::Missing | AuthError::Malformed | AuthError::Invalid(_) => "unauthenticated",
            AuthError::Denied(_) => "denied",
            AuthError::Unavailable(_) => "unavailable",
        }
    }
}

/// Errors setting an authenticator up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("fetching OIDC discovery/JWKS: {0}")]
    Jwks(String),
    #[error("--auth {0} needs a kubeconfig")]
    NoKube(&'static str),
}

/// One `--auth` mode's way of turning credentials into an identity.
pub trait Authenticator: Send + Sync {
    fn authenticate<'a>(
        &'a self,
        creds: &'a RequestCredentials,
    ) -> BoxFuture<'a, Result<Identity, AuthError>>;
}

/// The bearer token, or why there is none.
pub(crate) fn require_bearer(creds: &RequestCredentials) -> Result<&str, AuthError> {
    if creds.oversized {
        return Err(AuthError::Invalid(
            "bearer token longer than the gateway accepts".into(),
        ));
    }
    match (&creds.bearer, creds.authorization_malformed) {
        (Some(token), _) => Ok(token),
        (None, true) => Err(AuthError::Malformed),
        (None, false) => Err(AuthError::Missing),
    }
}

impl From<k8s_openapi::api::authentication::v1::UserInfo> for Identity {
    fn from(user: k8s_openapi::api::authentication::v1::UserInfo) -> Self {
        Identity {
            username: user.username.unwrap_or_default(),
            uid: user.uid,
            groups: user.groups.unwrap_or_default(),
            extra: user.extra.unwrap_or_default().into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    const MAX: usize = DEFAULT_MAX_CREDENTIAL_BYTES;

    #[test]
    fn bearer_extraction() {
        let c = RequestCredentials::from_headers(&headers("Bearer abc.def"), None, MAX);
        assert_eq!(c.bearer.as_deref(), Some("abc.def"));
        let c = RequestCredentials::from_headers(&headers("Basic Zm9vOmJhcg=="), None, MAX);
        assert!(c.bearer.is_none() && c.authorization_malformed);
        let c = RequestCredentials::from_headers(&headers("Bearer "), None, MAX);
        assert!(matches!(require_bearer(&c), Err(AuthError::Malformed)));
        let c = RequestCredentials::from_headers(&HeaderMap::new(), None, MAX);
        assert!(matches!(require_bearer(&c), Err(AuthError::Missing)));
    }

    #[test]
    fn oversized_tokens_are_dropped_and_refused() {
        let long = format!("Bearer {}", "a".repeat(MAX + 1));
        let c = RequestCredentials::from_headers(&headers(&long), None, MAX);
        assert!(c.oversized && c.bearer.is_none());
        assert!(matches!(require_bearer(&c), Err(AuthError::Invalid(_))));
        let exact = format!("Bearer {}", "a".repeat(MAX));
        let c = RequestCredentials::from_headers(&headers(&exact), None, MAX);
        assert_eq!(c.bearer.map(|t| t.len()), Some(MAX));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = RequestCredentials::from_headers(&headers("Bearer s3cr3t.tok3n"), None, MAX);
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("redacted 12 bytes"), "{shown}");
    }
}
