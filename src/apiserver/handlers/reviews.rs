//! TokenRequest, TokenReview and SubjectAccessReview: the calls a gateway's auth path makes.

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::authenticate_token;
use crate::apiserver::rbac::{Attributes, UserInfo};
use crate::apiserver::request_info::RequestInfo;
use crate::apiserver::state::State;
use crate::apiserver::status::{self, HttpResponse};
use crate::apiserver::store::{SERVICE_ACCOUNTS, now_rfc3339};
use crate::apiserver::tokens::{Audiences, Claims, KubernetesClaim, ObjectRefClaim};

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Review<S> {
    spec: S,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TokenReviewSpec {
    token: String,
    audiences: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TokenRequestSpec {
    audiences: Vec<String>,
    expiration_seconds: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SarSpec {
    user: String,
    uid: String,
    groups: Vec<String>,
    resource_attributes: Option<ResourceAttributes>,
    non_resource_attributes: Option<NonResourceAttributes>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResourceAttributes {
    namespace: String,
    verb: String,
    group: String,
    resource: String,
    subresource: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NonResourceAttributes {
    path: String,
    verb: String,
}

fn parse<S: for<'de> Deserialize<'de> + Default>(
    body: &[u8],
) -> Result<Review<S>, Box<HttpResponse>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(status::bad_request(&format!(
            "error decoding request body: {e}"
        )))
    })
}

pub fn token_review(state: &State, info: &RequestInfo, body: &[u8]) -> HttpResponse {
    if info.verb != "create" {
        return status::method_not_allowed();
    }
    let review: Review<TokenReviewSpec> = match parse(body) {
        Ok(review) => review,
        Err(response) => return *response,
    };
    if review.spec.token.is_empty() {
        return status::invalid(
            "TokenReview",
            "",
            "spec.token: Required value: token must not be empty",
        );
    }
    let status_body = match authenticate_token(state, &review.spec.token, &review.spec.audiences) {
        Ok(authenticated) => {
            let extra: BTreeMap<String, Vec<String>> = authenticated.extra.into_iter().collect();
            json!({
                "authenticated": true,
                "user": {
                    "username": authenticated.user.name,
                    "uid": authenticated.user.uid,
                    "groups": authenticated.user.groups,
                    "extra": extra,
                },
                "audiences": authenticated.audiences,
            })
        }
        Err(error) => json!({"user": {}, "error": error.to_string()}),
    };
    // kube answers with the object it was sent, token included (clients such as the official
    // Python client require `spec.token`), and `audiences` omitted when empty.
    let mut spec = json!({"token": review.spec.token});
    if !review.spec.audiences.is_empty() {
        spec["audiences"] = json!(review.spec.audiences);
    }
    status::json_response(
        StatusCode::CREATED,
        &json!({
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {},
            "spec": spec,
            "status": status_body,
        }),
    )
}

/// SubjectAccessReview, LocalSubjectAccessReview, and SelfSubjectAccessReview (`caller` asks about itself).
pub fn subject_access_review(
    state: &State,
    info: &RequestInfo,
    body: &[u8],
    caller: &UserInfo,
) -> HttpResponse {
    if info.verb != "create" {
        return status::method_not_allowed();
    }
    let local = info.resource == "localsubjectaccessreviews";
    let own = info.resource == "selfsubjectaccessreviews";
    let review: Review<SarSpec> = match parse(body) {
        Ok(review) => review,
        Err(response) => return *response,
    };
    let mut spec = review.spec;
    if own {
        spec.user = caller.name.clone();
        spec.uid = caller.uid.clone();
        spec.groups = caller.groups.clone();
    }
    let attrs = match (&spec.resource_attributes, &spec.non_resource_attributes) {
        (Some(r), None) => Attributes::Resource {
            verb: r.verb.clone(),
            group: r.group.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone(),
            namespace: if local {
                info.namespace.clone()
            } else {
                r.namespace.clone()
            },
            name: r.name.clone(),
        },
        (None, Some(n)) if !local => Attributes::NonResource {
            verb: n.verb.clone(),
            path: n.path.clone(),
        },
        _ => {
            return status::invalid(
                "SubjectAccessReview",
                "",
                "spec: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            );
        }
    };
    if spec.user.is_empty() && spec.groups.is_empty() {
        return status::invalid(
            "SubjectAccessReview",
            "",
            "spec.user: Invalid value: at least one of user or group must be specified",
        );
    }
    let user = UserInfo {
        name: spec.user.clone(),
        uid: spec.uid.clone(),
        groups: spec.groups.clone(),
    };
    let decision = state.store.rbac().authorize(&user, &attrs);
    let mut body: Value = serde_json::from_slice(body).unwrap_or_else(|_| json!({}));
    body["kind"] = match info.resource.as_str() {
        "localsubjectaccessreviews" => "LocalSubjectAccessReview",
        "selfsubjectaccessreviews" => "SelfSubjectAccessReview",
        _ => "SubjectAccessReview",
    }
    .into();
    body["apiVersion"] = "authorization.k8s.io/v1".into();
    body["metadata"] = json!({});
    body["status"] = json!({"allowed": decision.allowed});
    if !decision.reason.is_empty() {
        body["status"]["reason"] = decision.reason.into();
    }
    status::json_response(StatusCode::CREATED, &body)
}

pub fn token_request(state: &State, info: &RequestInfo, body: &[u8]) -> HttpResponse {
    if info.verb != "create" {
        return status::method_not_allowed();
    }
    let review: Review<TokenRequestSpec> = match parse(body) {
        Ok(review) => review,
        Err(response) => return *response,
    };
    let sa = match state
        .store
        .get(SERVICE_ACCOUNTS, &info.namespace, &info.name)
    {
        Ok(sa) => sa,
        Err(e) => return status::store_error(&e),
    };
    let uid = sa
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let config = &state.config;
    let requested_secs = review
        .spec
        .expiration_seconds
        .unwrap_or(config.default_token_expiration_secs);
    if requested_secs < config.min_token_expiration_secs {
        // kube names no object here: a TokenRequest has no name of its own.
        return status::invalid(
            "TokenRequest",
            "",
            &format!(
                "spec.expirationSeconds: Invalid value: {requested_secs}: may not specify a duration less than {} seconds",
                config.min_token_expiration_secs
            ),
        );
    }
    let expiration_secs = requested_secs.min(config.max_token_expiration_secs);
    let audiences = if review.spec.audiences.is_empty() {
        config.effective_audiences()
    } else {
        review.spec.audiences
    };
    let now = jiff::Timestamp::now().as_second();
    let claims = Claims {
        aud: Audiences::Many(audiences.clone()),
        exp: now + expiration_secs,
        iat: now,
        iss: state.keys.issuer().to_string(),
        jti: Some(uuid::Uuid::new_v4().to_string()),
        kubernetes: KubernetesClaim {
            namespace: info.namespace.clone(),
            serviceaccount: ObjectRefClaim {
                name: info.name.clone(),
                uid: uid.clone(),
            },
        },
        nbf: Some(now),
        sub: format!("system:serviceaccount:{}:{}", info.namespace, info.name),
    };
    let token = match state.keys.sign(&claims) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(%error, "signing a token failed");
            return status::internal("signing the token failed");
        }
    };
    let expires = jiff::Timestamp::from_second(now + expiration_secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    status::json_response(
        StatusCode::CREATED,
        &json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": info.name, "namespace": info.namespace, "uid": uid, "creationTimestamp": now_rfc3339()},
            "spec": {"audiences": audiences, "expirationSeconds": expiration_secs, "boundObjectRef": null},
            "status": {"token": token, "expirationTimestamp": expires},
        }),
    )
}
