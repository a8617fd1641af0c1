//! Kubernetes `Status` error bodies and JSON responses: the one place errors become HTTP.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};

use super::super::store::StoreError;

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

pub fn success_status(kind: &str, name: &str, uid: &Value) -> HttpResponse {
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "kind": kind, "uid": uid},
        }),
    )
}

pub fn unauthorized() -> HttpResponse {
    status(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Unauthorized",
        Value::Null,
    )
}

pub fn not_found_path() -> HttpResponse {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
        json!({}),
    )
}

pub fn bad_request(message: &str) -> HttpResponse {
    status(StatusCode::BAD_REQUEST, "BadRequest", message, Value::Null)
}

pub fn method_not_allowed() -> HttpResponse {
    status(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        json!({}),
    )
}

/// 422 with kube's details: `message` is `field: reason`, as kube's field errors print.
pub fn invalid(kind: &str, name: &str, message: &str) -> HttpResponse {
    let (field, cause) = message.split_once(": ").unwrap_or(("", message));
    let group = group_of(kind);
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        &format!("{qualified} \"{name}\" is invalid: {message}"),
        json!({"name": name, "group": group, "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": field}]}),
    )
}

pub fn too_many_requests() -> HttpResponse {
    let mut response = status(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Too many requests, please try again later.",
        json!({"retryAfterSeconds": 1}),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

pub fn unavailable() -> HttpResponse {
    status(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
        Value::Null,
    )
}

/// The 500 of the `error_fraction` fault.
pub fn internal_error() -> HttpResponse {
    internal("injected fault")
}

pub fn internal(cause: &str) -> HttpResponse {
    status(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        &format!("Internal error occurred: {cause}"),
        json!({"causes": [{"message": cause}]}),
    )
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
    status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{full}\" in API group \"{group}\" {scope}"
        ),
        json!({"name": name, "group": group, "kind": resource}),
    )
}

pub fn forbidden_path(user: &str, verb: &str, path: &str) -> HttpResponse {
    status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        json!({}),
    )
}

pub fn store_error(error: &StoreError) -> HttpResponse {
    match error {
        StoreError::NotFound { kind, name } => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{} \"{name}\" not found", kind.plural),
            json!({"name": name, "group": kind.group, "kind": kind.plural}),
        ),
        StoreError::AlreadyExists { kind, name } => status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("{} \"{name}\" already exists", kind.plural),
            json!({"name": name, "group": kind.group, "kind": kind.plural}),
        ),
        StoreError::NamespaceNotFound(ns) => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("namespaces \"{ns}\" not found"),
            json!({"name": ns, "kind": "namespaces"}),
        ),
    }
}

pub fn unsupported_media_type(message: &str) -> HttpResponse {
    status(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        message,
        Value::Null,
    )
}
