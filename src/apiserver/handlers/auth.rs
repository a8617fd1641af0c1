//! Bearer-token authentication of callers and of TokenReview'd tokens (one code path for both).

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

use crate::apiserver::rbac::{SYSTEM_MASTERS, UserInfo};
use crate::apiserver::state::State;
use crate::apiserver::status::{self, HttpResponse};
use crate::apiserver::tokens::{self, TokenError};

/// The admin user the kubeconfig's token maps to; a member of system:masters (bound to cluster-admin).
pub const ADMIN_USER: &str = "gatebench:admin";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserInfo,
}

/// The outcome of authenticating a token: the user, its `extra`, and the audiences it was accepted for.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: UserInfo,
    pub extra: Vec<(String, Vec<String>)>,
    pub audiences: Vec<String>,
}

/// `Ok(None)` when no bearer token was sent; `Err` (a 401) when one was sent and is not valid.
pub fn authenticate(
    state: &State,
    headers: &HeaderMap,
) -> Result<Option<Caller>, Box<HttpResponse>> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Box::new(status::unauthorized()))?;
    match authenticate_token(state, token, &[]) {
        Ok(authenticated) => Ok(Some(Caller {
            user: authenticated.user,
        })),
        Err(error) => {
            tracing::debug!(token = %state.log_keyer.fingerprint(token), %error, "caller authentication failed");
            Err(Box::new(status::unauthorized()))
        }
    }
}

/// Compares in constant time: how long a wrong guess takes says nothing about how close it was.
fn is_admin_token(state: &State, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    token.as_bytes().ct_eq(state.admin_token.as_bytes()).into()
}

/// Authenticates `token` for `audiences` (empty = the API server's own), like kube's token authenticators.
pub fn authenticate_token(
    state: &State,
    token: &str,
    audiences: &[String],
) -> Result<Authenticated, TokenError> {
    let own = state.config.effective_audiences();
    let target = if audiences.is_empty() {
        own.clone()
    } else {
        audiences.to_vec()
    };
    if is_admin_token(state, token) {
        // Static tokens are audience-agnostic, which kube wraps: they authenticate only for the
        // API server's own audiences (`WrapAudienceAgnosticToken`), reporting the intersection.
        let accepted: Vec<String> = target.iter().filter(|a| own.contains(a)).cloned().collect();
        if accepted.is_empty() {
            return Err(TokenError::Audience { token: own, target });
        }
        return Ok(Authenticated {
            user: UserInfo {
                name: ADMIN_USER.to_string(),
                uid: String::new(),
                groups: vec![
                    SYSTEM_MASTERS.to_string(),
                    "system:authenticated".to_string(),
                ],
            },
            extra: Vec::new(),
            audiences: accepted,
        });
    }
    let claims = state.keys.verify_signature(token)?;
    let now_secs = jiff::Timestamp::now().as_second();
    let leeway = state.config.token_leeway_secs;
    let accepted = tokens::validate(&claims, state.keys.issuer(), now_secs, leeway, &target)?;
    let ns = &claims.kubernetes.namespace;
    let sa = &claims.kubernetes.serviceaccount;
    match state.store.service_account_uid(ns, &sa.name) {
        None => {
            return Err(TokenError::ServiceAccountDeleted(format!(
                "{ns}/{}",
                sa.name
            )));
        }
        Some(uid) if uid != sa.uid => {
            return Err(TokenError::ServiceAccountRecreated(format!(
                "{ns}/{}",
                sa.name
            )));
        }
        Some(_) => {}
    }
    let mut extra = Vec::new();
    if let Some(jti) = &claims.jti {
        extra.push((
            "authentication.kubernetes.io/credential-id".to_string(),
            vec![format!("JTI={jti}")],
        ));
    }
    Ok(Authenticated {
        user: UserInfo {
            name: format!("system:serviceaccount:{ns}:{}", sa.name),
            uid: sa.uid.clone(),
            groups: vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".to_string(),
            ],
        },
        extra,
        audiences: accepted,
    })
}
