//! Conformance, shapes: the same requests against both servers, their raw JSON compared structurally
//! (every path and JSON type; values that legitimately differ, such as uids and tokens, are not compared),
//! and the discovery documents kubectl reads, resource by resource.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::conformance_servers::{Kind, Server};

/// Paths present on kube-apiserver only, each with why the stand-in leaves it out (docs/apiserver.md).
const KUBE_ONLY: &[(&str, &str)] = &[
    (
        ".metadata.managedFields",
        "server-side-apply bookkeeping; no client of the auth path reads it",
    ),
    (
        ".status.reason",
        "kube explains allowed SAR decisions; the stand-in's reason text is its own",
    ),
];

/// Every `path: type` of a JSON document; array elements share the path `[]`.
fn shape(value: &Value, path: &str, out: &mut BTreeSet<String>) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{path}[]"), out);
            }
            "array"
        }
        Value::Object(map) => {
            for (key, child) in map {
                shape(child, &format!("{path}.{key}"), out);
            }
            "object"
        }
    };
    out.insert(format!("{path}: {kind}"));
}

fn shapes(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    shape(value, "", &mut out);
    out
}

fn assert_same_shape(what: &str, stand_in: &Value, kube: &Value) {
    let ignored = |p: &String| KUBE_ONLY.iter().any(|(prefix, _)| p.starts_with(prefix));
    let (a, b) = (shapes(stand_in), shapes(kube));
    let only_stand_in: Vec<_> = a.difference(&b).filter(|p| !ignored(p)).collect();
    let only_kube: Vec<_> = b.difference(&a).filter(|p| !ignored(p)).collect();
    assert!(
        only_stand_in.is_empty() && only_kube.is_empty(),
        "{what}: JSON shapes differ\n only the stand-in: {only_stand_in:?}\n only kube-apiserver: {only_kube:?}\n stand-in: {stand_in}\n kube-apiserver: {kube}"
    );
}

#[test]
fn shapes_list_every_path_and_type() {
    let s = shapes(&json!({"a": [{"b": 1}, {"c": null}], "d": "x"}));
    let want: BTreeSet<String> = [
        ": object",
        ".a: array",
        ".a[]: object",
        ".a[].b: number",
        ".a[].c: null",
        ".d: string",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(s, want);
}

/// Every response of the auth path, once per server, in the same order.
async fn responses(server: &Server) -> Vec<(&'static str, StatusCode, Value)> {
    let mut out = Vec::new();
    let ns = server.namespace("conf-shape").await;
    let (s, ns_body) = server.get(&format!("/api/v1/namespaces/{ns}")).await;
    out.push(("namespace get", s, ns_body));
    let (s, b) = server
        .post(
            &format!("/api/v1/namespaces/{ns}/serviceaccounts"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "prom"}}),
        )
        .await;
    out.push(("serviceaccount create", s, b));
    let (s, b) = server
        .token_request(
            &ns,
            "prom",
            json!({"audiences": ["gw"], "expirationSeconds": 3600}),
        )
        .await;
    let token = b["status"]["token"].as_str().unwrap().to_string();
    out.push(("token request", s, b));
    let (s, b) = server
        .token_review(&token, json!({"audiences": ["gw"]}))
        .await;
    out.push(("token review, valid", s, b));
    let (s, b) = server
        .token_review(&token, json!({"audiences": ["other"]}))
        .await;
    out.push(("token review, wrong audience", s, b));
    let (s, b) = server.token_review(&token, json!({})).await;
    out.push(("token review, no audiences", s, b));
    let (s, b) = server
        .sar(json!({"user": "system:serviceaccount:x:y", "groups": ["system:authenticated"],
            "resourceAttributes": {"verb": "create", "resource": "services", "namespace": ns, "name": "gateway-service"}}))
        .await;
    out.push(("subject access review, denied", s, b));
    let (s, b) = server
        .sar(json!({"user": "someone", "groups": ["system:masters"],
            "nonResourceAttributes": {"path": "/metrics", "verb": "get"}}))
        .await;
    out.push(("subject access review, allowed", s, b));
    let (s, b) = server
        .call(Method::GET, "/api/v1/namespaces", Some("bad"), None)
        .await;
    out.push(("401", s, b));
    let (s, b) = server
        .get(&format!("/api/v1/namespaces/{ns}/serviceaccounts/nobody"))
        .await;
    out.push(("404", s, b));
    let (s, b) = server
        .token_request(&ns, "prom", json!({"expirationSeconds": 100}))
        .await;
    out.push(("422 token request", s, b));
    let (s, b) = server.get("/version").await;
    out.push(("/version", s, b));
    out
}

#[tokio::test]
async fn responses_have_the_same_json_shape_on_both_servers() {
    let stand_in = responses(&Server::connect(Kind::StandIn).await).await;
    let kube = responses(&Server::connect(Kind::KubeApiserver).await).await;
    let mut failures = Vec::new();
    for ((what, s1, b1), (_, s2, b2)) in stand_in.iter().zip(&kube) {
        if s1 != s2 {
            failures.push(format!(
                "{what}: status {s1} on the stand-in, {s2} on kube-apiserver"
            ));
            continue;
        }
        if let Err(e) = std::panic::catch_unwind(|| assert_same_shape(what, b1, b2)) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn resources(list: &Value) -> Vec<Value> {
    list["resources"].as_array().cloned().unwrap_or_default()
}

fn verbs(resource: &Value) -> BTreeSet<String> {
    resource["verbs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Each resource the stand-in lists is listed by kube-apiserver with the same kind, scope and verbs
/// (the stand-in serves fewer resources; it must not describe the ones it serves differently).
#[tokio::test]
async fn discovery_matches_resource_by_resource() {
    let stand_in = Server::connect(Kind::StandIn).await;
    let kube = Server::connect(Kind::KubeApiserver).await;
    let mut failures = Vec::new();
    for path in [
        "/api/v1",
        "/apis/authentication.k8s.io/v1",
        "/apis/authorization.k8s.io/v1",
        "/apis/rbac.authorization.k8s.io/v1",
    ] {
        let (s1, ours) = stand_in.get(path).await;
        let (s2, theirs) = kube.get(path).await;
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{path}");
        assert_eq!(ours["groupVersion"], theirs["groupVersion"], "{path}");
        for resource in resources(&ours) {
            let name = resource["name"].as_str().unwrap_or_default();
            let Some(real) = resources(&theirs).into_iter().find(|r| r["name"] == name) else {
                failures.push(format!("{path}: {name} is not served by kube-apiserver"));
                continue;
            };
            for field in ["kind", "namespaced", "singularName"] {
                if resource[field] != real[field] {
                    failures.push(format!(
                        "{path} {name}.{field}: {} vs kube {}",
                        resource[field], real[field]
                    ));
                }
            }
            // The stand-in lists only the verbs it serves (no watch, patch, deletecollection):
            // fewer is honest, a verb kube lacks would be wrong.
            if !verbs(&resource).is_subset(&verbs(&real)) {
                failures.push(format!(
                    "{path} {name}.verbs: {:?} not within kube's {:?}",
                    verbs(&resource),
                    verbs(&real)
                ));
            }
        }
    }
    let (_, ours) = stand_in.get("/apis").await;
    let (_, theirs) = kube.get("/apis").await;
    for group in ours["groups"].as_array().into_iter().flatten() {
        let real = theirs["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["name"] == group["name"]);
        match real {
            Some(real) if real["preferredVersion"] == group["preferredVersion"] => {}
            _ => failures.push(format!(
                "/apis group {} differs: kube {real:?}",
                group["name"]
            )),
        }
    }
    let (_, ours) = stand_in.get("/api").await;
    let (_, theirs) = kube.get("/api").await;
    assert_eq!(ours["versions"], theirs["versions"]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
