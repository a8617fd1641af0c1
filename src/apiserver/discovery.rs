//! Discovery documents (`/api`, `/apis`, resource lists), `/version`, health and the OIDC issuer documents.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::state::State;
use super::status::{self, HttpResponse};
use super::store::{KINDS, Kind};

/// The API groups served, besides the core group.
const GROUPS: &[&str] = &[
    "rbac.authorization.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
];

fn stored_resource(kind: &Kind) -> Value {
    let mut verbs = vec!["create", "delete", "get", "list"];
    if kind.plural != "namespaces" {
        verbs.push("update");
    }
    json!({
        "name": kind.plural, "singularName": kind.singular, "namespaced": kind.namespaced,
        "kind": kind.kind, "verbs": verbs, "shortNames": kind.short_names,
    })
}

fn create_only(
    name: &str,
    singular: &str,
    kind: &str,
    namespaced: bool,
    group: Option<&str>,
) -> Value {
    let mut resource = json!({
        "name": name, "singularName": singular, "namespaced": namespaced, "kind": kind, "verbs": ["create"],
    });
    if let Some(group) = group {
        resource["group"] = group.into();
        resource["version"] = "v1".into();
    }
    resource
}

/// The APIResourceList of a group version, if served.
pub fn resource_list(group: &str) -> Option<Value> {
    let mut resources: Vec<Value> = KINDS
        .iter()
        .filter(|k| k.group == group)
        .map(stored_resource)
        .collect();
    match group {
        "" => resources.push(create_only(
            "serviceaccounts/token",
            "",
            "TokenRequest",
            true,
            Some("authentication.k8s.io"),
        )),
        "authentication.k8s.io" => resources.push(create_only(
            "tokenreviews",
            "tokenreview",
            "TokenReview",
            false,
            None,
        )),
        "authorization.k8s.io" => {
            resources.push(create_only(
                "localsubjectaccessreviews",
                "localsubjectaccessreview",
                "LocalSubjectAccessReview",
                true,
                None,
            ));
            resources.push(create_only(
                "selfsubjectaccessreviews",
                "selfsubjectaccessreview",
                "SelfSubjectAccessReview",
                false,
                None,
            ));
            resources.push(create_only(
                "subjectaccessreviews",
                "subjectaccessreview",
                "SubjectAccessReview",
                false,
                None,
            ));
        }
        "rbac.authorization.k8s.io" => {}
        _ => return None,
    }
    let group_version = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

fn group(name: &str) -> Value {
    let version = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [version.clone()], "preferredVersion": version})
}

fn version_info() -> Value {
    json!({
        // The API level modelled (k8s-openapi's latest), with the compatibility fields kube 1.37 serves.
        "major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "36",
        "gitVersion": "v1.37.0-gatebench", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "n/a", "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}

/// Paths kube serves to anyone (`system:public-info-viewer`): answered without credentials.
pub const PUBLIC_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path)
}

/// Answers for [`PUBLIC_PATHS`].
pub fn serve_public(path: &str) -> HttpResponse {
    match path {
        "/version" | "/version/" => status::json_response(StatusCode::OK, &version_info()),
        _ => status::text_response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok".to_string(),
        ),
    }
}

/// Non-resource GETs of authenticated, authorized callers.
pub fn serve(state: &State, path: &str) -> HttpResponse {
    if is_public(path) {
        return serve_public(path);
    }
    let path = path.trim_end_matches('/');
    match path {
        "/api" => status::json_response(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.url.trim_start_matches("https://").trim_start_matches("http://")}]}),
        ),
        "/api/v1" => status::json_response(StatusCode::OK, &resource_list("").unwrap_or_default()),
        "/apis" => status::json_response(
            StatusCode::OK,
            &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": GROUPS.iter().map(|g| group(g)).collect::<Vec<_>>()}),
        ),
        "/.well-known/openid-configuration" => status::json_response(
            StatusCode::OK,
            &json!({
                "issuer": state.keys.issuer(),
                "jwks_uri": format!("{}/openid/v1/jwks", state.url),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }),
        ),
        "/openid/v1/jwks" => {
            let body = serde_json::to_string(&state.keys.jwks()).unwrap_or_default();
            status::text_response(StatusCode::OK, "application/jwk-set+json", body)
        }
        _ => match path
            .strip_prefix("/apis/")
            .map(|rest| rest.split_once('/').unwrap_or((rest, "")))
        {
            Some((name, "")) if GROUPS.contains(&name) => {
                let mut body = group(name);
                body["kind"] = "APIGroup".into();
                body["apiVersion"] = "v1".into();
                status::json_response(StatusCode::OK, &body)
            }
            Some((name, "v1")) if GROUPS.contains(&name) => {
                status::json_response(StatusCode::OK, &resource_list(name).unwrap_or_default())
            }
            _ => status::not_found_path(),
        },
    }
}
