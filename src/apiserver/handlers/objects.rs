//! Generic REST CRUD (create, get, list, update, delete) over the stored kinds.

use hyper::StatusCode;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Value, json};

use crate::apiserver::rbac::UserInfo;
use crate::apiserver::rbac_escalation;
use crate::apiserver::request_info::RequestInfo;
use crate::apiserver::state::State;
use crate::apiserver::status::ApiError;
use crate::apiserver::status::{self, HttpResponse};
use crate::apiserver::store::{self, Kind, NAMESPACES};

pub fn handle(state: &State, info: &RequestInfo, body: &[u8], user: &UserInfo) -> HttpResponse {
    let Some(kind) =
        store::find_kind(&info.group, &info.resource).filter(|k| k.version == info.version)
    else {
        return status::not_found_path();
    };
    if !info.subresource.is_empty() {
        return status::not_found_path();
    }
    // Cluster-scoped kinds have no namespaced URL (except a namespace's own).
    let ns = if kind.namespaced {
        info.namespace.as_str()
    } else {
        ""
    };
    if !kind.namespaced && !info.namespace.is_empty() && kind != NAMESPACES {
        return status::not_found_path();
    }
    match info.verb.as_str() {
        "get" => match state.store.get(kind, ns, &info.name) {
            Ok(object) => status::json_response(StatusCode::OK, &object),
            Err(e) => status::store_error(&e),
        },
        "list" => list(state, kind, ns),
        "create" => create(state, kind, ns, body, user),
        "update" => update(state, kind, ns, &info.name, body, user),
        "delete" => delete(state, kind, ns, &info.name),
        _ => status::method_not_allowed(),
    }
}

fn list(state: &State, kind: Kind, ns: &str) -> HttpResponse {
    let (items, resource_version) = state.store.list(kind, ns);
    status::json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", kind.kind),
            "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": resource_version.to_string()},
            "items": items,
        }),
    )
}

/// Parses and checks a request body for `kind`; returns the object or the 4xx to send.
fn parse_object(kind: Kind, ns: &str, body: &[u8]) -> Result<Value, Box<HttpResponse>> {
    let mut object: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(status::bad_request(&format!(
            "error decoding request body: {e}"
        )))
    })?;
    if !object.is_object() {
        return Err(Box::new(status::bad_request(
            "the request body must be a JSON object",
        )));
    }
    for (field, expected) in [
        ("kind", kind.kind.to_string()),
        ("apiVersion", kind.api_version()),
    ] {
        if let Some(got) = object.get(field).and_then(Value::as_str)
            && got != expected
        {
            return Err(Box::new(status::bad_request(&format!(
                "the {field} of the object ({got}) does not match the request ({expected})"
            ))));
        }
    }
    object["kind"] = kind.kind.into();
    object["apiVersion"] = kind.api_version().into();
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let body_ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.namespaced && !body_ns.is_empty() && body_ns != ns {
        return Err(Box::new(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )));
    }
    // Validate the shape with the real API types so RBAC snapshots never see malformed objects.
    let typed_ok = match kind.kind {
        "Namespace" => serde_json::from_value::<Namespace>(object.clone()).map(|_| ()),
        "ServiceAccount" => serde_json::from_value::<ServiceAccount>(object.clone()).map(|_| ()),
        "Role" => serde_json::from_value::<Role>(object.clone()).map(|_| ()),
        "ClusterRole" => serde_json::from_value::<ClusterRole>(object.clone()).map(|_| ()),
        "RoleBinding" => serde_json::from_value::<RoleBinding>(object.clone()).map(|_| ()),
        "ClusterRoleBinding" => {
            serde_json::from_value::<ClusterRoleBinding>(object.clone()).map(|_| ())
        }
        _ => Ok(()),
    };
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    typed_ok.map_err(|e| Box::new(status::invalid(kind.kind, &name, &e.to_string())))?;
    Ok(object)
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// 403 unless `user` may write this RBAC object without escalating its own rights.
fn check_escalation(
    state: &State,
    user: &UserInfo,
    kind: Kind,
    ns: &str,
    object: &Value,
) -> Result<(), ApiError> {
    let rbac = state.store.rbac();
    rbac_escalation::check_write(&rbac, user, kind, ns, object).map_err(|reason| {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ApiError::Forbidden {
            message: format!(
                "{}.{} \"{name}\" is forbidden: {reason}",
                kind.plural, kind.group
            ),
            details: json!({"name": name, "group": kind.group, "kind": kind.plural}),
        }
    })
}

fn create(state: &State, kind: Kind, ns: &str, body: &[u8], user: &UserInfo) -> HttpResponse {
    let mut object = match parse_object(kind, ns, body) {
        Ok(object) => object,
        Err(response) => return *response,
    };
    let mut name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty()
        && let Some(prefix) = object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
    {
        let suffix: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(5)
            .collect();
        name = format!("{prefix}{suffix}");
        object["metadata"]["name"] = name.clone().into();
    }
    // RBAC object names may contain ':' (system:auth-delegator); other kinds must be DNS names.
    let valid = if kind.is_rbac() {
        !name.is_empty() && !name.contains('/') && name != "." && name != ".."
    } else {
        is_dns_name(&name)
    };
    if !valid {
        return status::invalid(
            kind.kind,
            &name,
            "metadata.name: Invalid value: a lowercase RFC 1123 name is required",
        );
    }
    if let Err(error) = check_escalation(state, user, kind, ns, &object) {
        return error.into_response();
    }
    if kind == NAMESPACES {
        object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name.clone().into();
        object["spec"] = json!({"finalizers": ["kubernetes"]});
        object["status"] = json!({"phase": "Active"});
    }
    match state.store.create(kind, ns, object) {
        Ok(created) => status::json_response(StatusCode::CREATED, &created),
        Err(e) => status::store_error(&e),
    }
}

fn update(
    state: &State,
    kind: Kind,
    ns: &str,
    name: &str,
    body: &[u8],
    user: &UserInfo,
) -> HttpResponse {
    let object = match parse_object(kind, ns, body) {
        Ok(object) => object,
        Err(response) => return *response,
    };
    let body_name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or(name);
    if body_name != name {
        return status::bad_request("the name of the object does not match the name on the URL");
    }
    if let Err(error) = check_escalation(state, user, kind, ns, &object) {
        return error.into_response();
    }
    match state.store.update(kind, ns, name, object) {
        Ok(updated) => status::json_response(StatusCode::OK, &updated),
        Err(e) => status::store_error(&e),
    }
}

fn delete(state: &State, kind: Kind, ns: &str, name: &str) -> HttpResponse {
    match state.store.delete(kind, ns, name) {
        // Core objects come back as the deleted object; RBAC deletions answer a Success Status, as kube does.
        Ok(mut deleted) if kind.is_rbac() => {
            let uid = deleted["metadata"]["uid"].take();
            status::success_status(kind.plural, name, &uid)
        }
        Ok(mut deleted) => {
            if kind == NAMESPACES {
                deleted["status"]["phase"] = "Terminating".into();
            }
            status::json_response(StatusCode::OK, &deleted)
        }
        Err(e) => status::store_error(&e),
    }
}
