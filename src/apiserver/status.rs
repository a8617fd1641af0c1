//! The stand-in's one place errors become HTTP: [`ApiError`] -> Kubernetes `Status` object, plus the
//! JSON/text responses of successful requests.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};

use super::store::StoreError;

pub type HttpResponse = Response<Full<Bytes>>;

pub fn json_response(code: StatusCode, body: &Value) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_default()
}

pub fn text_response(code: StatusCode, content_type: &str, body: String) -> HttpResponse {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// A failure `Status` object with the given reason.
pub fn status(code: StatusCode, reason: &str, message: &str, details: Value) -> HttpResponse {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    if !details.is_null() {
        body["details"] = omit_empty(details);
    }
    json_response(code, &body)
}

/// kube's `StatusDetails` fields are `omitempty`: an empty name or the core group ("") is left out.
fn omit_empty(mut details: Value) -> Value {
    if let Some(map) = details.as_object_mut() {
        map.retain(|_, v| v.as_str() != Some(""));
    }
    details
}

/// The API group of the kinds the stand-in validates, for `Invalid` details as kube fills them.
fn group_of(kind: &str) -> &'static str {
    match kind {
        "TokenRequest" | "TokenReview" => "authentication.k8s.io",
        "SubjectAccessReview" | "LocalSubjectAccessReview" | "SelfSubjectAccessReview" => {
            "authorization.k8s.io"
        }
        "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding" => {
            "rbac.authorization.k8s.io"
        }
        _ => "",
    }
}

/// `Kind.group`, as kube names a kind in its messages (the core group adds nothing).
fn qualified(kind: &str) -> String {
    match group_of(kind) {
        "" => kind.to_string(),
        group => format!("{kind}.{group}"),
    }
}

pub fn success_status(kind: &str, name: &str, uid: &Value) -> HttpResponse {
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "kind": kind, "uid": uid},
        }),
    )
}

/// Everything a stand-in request can fail with; [`ApiError::into_response`] renders it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{message}")]
    Forbidden { message: String, details: Value },
    #[error("the server could not find the requested resource")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{} \"{name}\" is invalid: {message}", qualified(kind))]
    Invalid {
        kind: String,
        name: String,
        message: String,
    },
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("Too many requests, please try again later.")]
    TooManyRequests,
    #[error("the server is currently unable to handle the request")]
    Unavailable,
    #[error("Internal error occurred: {0}")]
    Internal(String),
    #[error("store: {0:?}")]
    Store(StoreError),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is too large or could not be read")]
    PayloadTooLarge,
    #[error("the request body was not received in time")]
    BodyTimeout,
}

impl ApiError {
    /// HTTP status and kube `reason` of the answer.
    pub fn code_and_reason(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "Forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            ApiError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
            ApiError::Store(StoreError::AlreadyExists { .. }) => {
                (StatusCode::CONFLICT, "AlreadyExists")
            }
            ApiError::Store(_) => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"),
            ApiError::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "Timeout"),
        }
    }

    fn message_and_details(&self) -> (String, Value) {
        match self {
            ApiError::Forbidden { message, details } => (message.clone(), details.clone()),
            ApiError::NotFound | ApiError::MethodNotAllowed => (self.to_string(), json!({})),
            ApiError::Invalid {
                kind,
                name,
                message,
            } => {
                // `message` is `field: reason`, as kube's field errors print.
                let (field, cause) = message.split_once(": ").unwrap_or(("", message));
                let details = json!({"name": name, "group": group_of(kind), "kind": kind,
                    "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": field}]});
                (self.to_string(), details)
            }
            ApiError::TooManyRequests => (self.to_string(), json!({"retryAfterSeconds": 1})),
            ApiError::Internal(cause) => {
                (self.to_string(), json!({"causes": [{"message": cause}]}))
            }
            ApiError::Store(error) => store_message(error),
            _ => (self.to_string(), Value::Null),
        }
    }

    /// The `Status` object kube-apiserver would send, with the headers its code needs.
    pub fn into_response(self) -> HttpResponse {
        let (code, reason) = self.code_and_reason();
        let (message, details) = self.message_and_details();
        let mut response = status(code, reason, &message, details);
        if code == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Store(error)
    }
}

fn store_message(error: &StoreError) -> (String, Value) {
    match error {
        StoreError::NotFound { kind, name } => (
            format!("{} \"{name}\" not found", kind.plural),
            json!({"name": name, "group": kind.group, "kind": kind.plural}),
        ),
        StoreError::AlreadyExists { kind, name } => (
            format!("{} \"{name}\" already exists", kind.plural),
            json!({"name": name, "group": kind.group, "kind": kind.plural}),
        ),
        StoreError::NamespaceNotFound(ns) => (
            format!("namespaces \"{ns}\" not found"),
            json!({"name": ns, "kind": "namespaces"}),
        ),
    }
}

// Shorthands for the handlers: each is one `ApiError` rendered.

pub fn unauthorized() -> HttpResponse {
    ApiError::Unauthorized.into_response()
}

pub fn not_found_path() -> HttpResponse {
    ApiError::NotFound.into_response()
}

pub fn bad_request(message: &str) -> HttpResponse {
    ApiError::BadRequest(message.to_string()).into_response()
}

pub fn method_not_allowed() -> HttpResponse {
    ApiError::MethodNotAllowed.into_response()
}

pub fn invalid(kind: &str, name: &str, message: &str) -> HttpResponse {
    ApiError::Invalid {
        kind: kind.to_string(),
        name: name.to_string(),
        message: message.to_string(),
    }
    .into_response()
}

pub fn too_many_requests() -> HttpResponse {
    ApiError::TooManyRequests.into_response()
}

pub fn unavailable() -> HttpResponse {
    ApiError::Unavailable.into_response()
}

/// The 500 of the `error_fraction` fault.
pub fn internal_error() -> HttpResponse {
    internal("injected fault")
}

pub fn internal(cause: &str) -> HttpResponse {
    ApiError::Internal(cause.to_string()).into_response()
}

pub fn forbidden(
    user: &str,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> HttpResponse {
    let full = if subresource.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{subresource}")
    };
    let what = if name.is_empty() {
        full.clone()
    } else {
        format!("{full} \"{name}\"")
    };
    let scope = if namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{namespace}\"")
    };
    ApiError::Forbidden {
        message: format!(
            "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{full}\" in API group \"{group}\" {scope}"
        ),
        details: json!({"name": name, "group": group, "kind": resource}),
    }
    .into_response()
}

pub fn forbidden_path(user: &str, verb: &str, path: &str) -> HttpResponse {
    ApiError::Forbidden {
        message: format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        details: json!({}),
    }
    .into_response()
}

pub fn store_error(error: &StoreError) -> HttpResponse {
    ApiError::Store(error.clone()).into_response()
}

pub fn unsupported_media_type(message: &str) -> HttpResponse {
    ApiError::UnsupportedMediaType(message.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_renders_a_status_with_its_code() {
        let r = ApiError::TooManyRequests.into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(ApiError::BodyTimeout.into_response().status(), 408);
        assert_eq!(ApiError::Unauthorized.into_response().status(), 401);
        let invalid = ApiError::Invalid {
            kind: "Role".into(),
            name: "r".into(),
            message: "m".into(),
        };
        // kube names the kind with its group in the message.
        assert_eq!(
            invalid.to_string(),
            "Role.rbac.authorization.k8s.io \"r\" is invalid: m"
        );
    }
}
