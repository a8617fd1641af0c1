//! Conformance, access: SubjectAccessReview through every binding kind, wildcards, resourceNames,
//! nonResourceURLs, and the 401/403 `Status` bodies, identical on the stand-in and on kube-apiserver.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both;
use crate::conformance_servers::Server;

const RBAC: &str = "/apis/rbac.authorization.k8s.io/v1";

fn rule(verbs: &[&str], resources: &[&str], names: &[&str]) -> Value {
    let mut rule = json!({"apiGroups": [""], "verbs": verbs, "resources": resources});
    if !names.is_empty() {
        rule["resourceNames"] = json!(names);
    }
    rule
}

async fn create(server: &Server, path: &str, body: Value) {
    let (status, answer) = server.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
}

async fn role(server: &Server, ns: Option<&str>, name: &str, rules: Vec<Value>) {
    let (path, kind) = match ns {
        Some(ns) => (format!("{RBAC}/namespaces/{ns}/roles"), "Role"),
        None => (format!("{RBAC}/clusterroles"), "ClusterRole"),
    };
    let body = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": {"name": name}, "rules": rules});
    create(server, &path, body).await;
}

async fn binding(
    server: &Server,
    ns: Option<&str>,
    name: &str,
    role_ref: (&str, &str),
    subject: Value,
) {
    let (path, kind) = match ns {
        Some(ns) => (
            format!("{RBAC}/namespaces/{ns}/rolebindings"),
            "RoleBinding",
        ),
        None => (format!("{RBAC}/clusterrolebindings"), "ClusterRoleBinding"),
    };
    let body = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_ref.0, "name": role_ref.1},
        "subjects": [subject]});
    create(server, &path, body).await;
}

fn sa_subject(ns: &str, name: &str) -> Value {
    json!({"kind": "ServiceAccount", "name": name, "namespace": ns})
}

fn sa_user(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

fn resource(user: &str, verb: &str, resource: &str, ns: &str, name: &str) -> Value {
    json!({"user": user, "groups": ["system:authenticated"],
        "resourceAttributes": {"verb": verb, "resource": resource, "namespace": ns, "name": name}})
}

async fn every_binding_kind_grants(server: Server) {
    let ns = server.namespace("conf-bind").await;
    let other = server.namespace("conf-bind-other").await;
    let tag = &ns[ns.len() - 8..];
    // RoleBinding -> Role (namespaced).
    role(
        &server,
        Some(&ns),
        "svc-create",
        vec![rule(&["create"], &["services"], &[])],
    )
    .await;
    binding(
        &server,
        Some(&ns),
        "a",
        ("Role", "svc-create"),
        sa_subject(&ns, "a"),
    )
    .await;
    // RoleBinding -> ClusterRole (granted in that namespace only).
    let reader = format!("conf-cm-reader-{tag}");
    role(
        &server,
        None,
        &reader,
        vec![rule(&["get", "list"], &["configmaps"], &[])],
    )
    .await;
    binding(
        &server,
        Some(&ns),
        "b",
        ("ClusterRole", &reader),
        sa_subject(&ns, "b"),
    )
    .await;
    // ClusterRoleBinding -> ClusterRole, to a group.
    let group = format!("conf-group-{tag}");
    binding(
        &server,
        None,
        &format!("conf-crb-{tag}"),
        ("ClusterRole", &reader),
        json!({"kind": "Group", "name": group, "apiGroup": "rbac.authorization.k8s.io"}),
    )
    .await;

    let a = sa_user(&ns, "a");
    assert!(
        server
            .allowed_eventually(resource(&a, "create", "services", &ns, "gateway-service"))
            .await
    );
    assert!(
        !server
            .allowed(resource(&a, "delete", "services", &ns, "gateway-service"))
            .await
    );
    assert!(
        !server
            .allowed(resource(&a, "create", "services", &other, ""))
            .await
    );
    let b = sa_user(&ns, "b");
    assert!(
        server
            .allowed_eventually(resource(&b, "list", "configmaps", &ns, ""))
            .await
    );
    assert!(
        !server
            .allowed(resource(&b, "list", "configmaps", &other, ""))
            .await
    );
    let grouped = json!({"user": "someone", "groups": [group],
        "resourceAttributes": {"verb": "get", "resource": "configmaps", "namespace": other}});
    assert!(server.allowed_eventually(grouped).await);
    // A ServiceAccount is in its namespace's group: bind the group, allow the account.
    binding(&server, Some(&ns), "c", ("Role", "svc-create"),
        json!({"kind": "Group", "name": format!("system:serviceaccounts:{ns}"), "apiGroup": "rbac.authorization.k8s.io"})).await;
    let via_group = json!({"user": sa_user(&ns, "anyone"),
        "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
        "resourceAttributes": {"verb": "create", "resource": "services", "namespace": ns}});
    assert!(server.allowed_eventually(via_group).await);
}
both!(sar_binding_kinds, every_binding_kind_grants);

async fn wildcards_and_resource_names(server: Server) {
    let ns = server.namespace("conf-wild").await;
    role(
        &server,
        Some(&ns),
        "all-verbs",
        vec![rule(&["*"], &["secrets"], &[])],
    )
    .await;
    role(
        &server,
        Some(&ns),
        "all-resources",
        vec![rule(&["get"], &["*"], &[])],
    )
    .await;
    role(
        &server,
        Some(&ns),
        "one-name",
        vec![rule(&["create"], &["services"], &["gateway-service"])],
    )
    .await;
    binding(
        &server,
        Some(&ns),
        "w1",
        ("Role", "all-verbs"),
        sa_subject(&ns, "w"),
    )
    .await;
    binding(
        &server,
        Some(&ns),
        "w2",
        ("Role", "all-resources"),
        sa_subject(&ns, "w"),
    )
    .await;
    binding(
        &server,
        Some(&ns),
        "n",
        ("Role", "one-name"),
        sa_subject(&ns, "n"),
    )
    .await;
    let w = sa_user(&ns, "w");
    assert!(
        server
            .allowed_eventually(resource(&w, "delete", "secrets", &ns, "x"))
            .await
    );
    assert!(
        server
            .allowed_eventually(resource(&w, "get", "configmaps", &ns, "x"))
            .await
    );
    assert!(
        !server
            .allowed(resource(&w, "list", "configmaps", &ns, ""))
            .await
    );
    let n = sa_user(&ns, "n");
    assert!(
        server
            .allowed_eventually(resource(&n, "create", "services", &ns, "gateway-service"))
            .await
    );
    assert!(
        !server
            .allowed(resource(&n, "create", "services", &ns, "other-service"))
            .await
    );
    // resourceNames never match a request without a name.
    assert!(
        !server
            .allowed(resource(&n, "create", "services", &ns, ""))
            .await
    );
}
both!(sar_wildcards_resource_names, wildcards_and_resource_names);

async fn non_resource_urls(server: Server) {
    let ns = server.namespace("conf-nonres").await;
    let tag = &ns[ns.len() - 8..];
    let name = format!("conf-nonres-{tag}");
    role(
        &server,
        None,
        &name,
        vec![
            json!({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}),
            json!({"verbs": ["get"], "nonResourceURLs": ["/logs/*"]}),
        ],
    )
    .await;
    binding(
        &server,
        None,
        &name,
        ("ClusterRole", &name),
        sa_subject(&ns, "scraper"),
    )
    .await;
    let ask = |path: &str, verb: &str| {
        json!({"user": sa_user(&ns, "scraper"),
        "groups": ["system:authenticated"], "nonResourceAttributes": {"path": path, "verb": verb}})
    };
    assert!(server.allowed_eventually(ask("/metrics", "get")).await);
    assert!(!server.allowed(ask("/metrics", "post")).await);
    assert!(server.allowed_eventually(ask("/logs/a/b", "get")).await);
    assert!(!server.allowed(ask("/logsx", "get")).await);
    // The bootstrap system:discovery / public-info-viewer roles: /version and /healthz for everyone.
    let anyone = |path: &str| {
        json!({"user": "nobody", "groups": ["system:authenticated"],
        "nonResourceAttributes": {"path": path, "verb": "get"}})
    };
    assert!(server.allowed_eventually(anyone("/version")).await);
    assert!(server.allowed_eventually(anyone("/healthz")).await);
    assert!(!server.allowed(anyone("/metrics")).await);
}
both!(sar_non_resource_urls, non_resource_urls);

async fn unauthorized_and_forbidden_status_bodies(server: Server) {
    let (status, body) = server
        .call(Method::GET, "/api/v1/namespaces", Some("not-a-token"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );

    let ns = server.namespace("conf-403").await;
    server.service_account(&ns, "nobody").await;
    let token = server.token(&ns, "nobody").await;
    let (status, body) = server
        .call(Method::GET, "/api/v1/namespaces", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let user = sa_user(&ns, "nobody");
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "reason": "Forbidden", "details": {"kind": "namespaces"}, "code": 403,
        "message": format!("namespaces is forbidden: User \"{user}\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope")})
    );

    let path = format!("/api/v1/namespaces/{ns}/serviceaccounts/nobody");
    let (status, body) = server.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["details"],
        json!({"name": "nobody", "kind": "serviceaccounts"})
    );
    assert_eq!(
        body["message"],
        format!(
            "serviceaccounts \"nobody\" is forbidden: User \"{user}\" cannot get resource \"serviceaccounts\" in API group \"\" in the namespace \"{ns}\""
        )
    );

    // A TokenReview needs create on tokenreviews (system:auth-delegator): a plain account is refused.
    let (status, body) = server
        .call(Method::POST, "/apis/authentication.k8s.io/v1/tokenreviews", Some(&token),
            Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["details"],
        json!({"group": "authentication.k8s.io", "kind": "tokenreviews"})
    );
}
both!(
    status_bodies_401_403,
    unauthorized_and_forbidden_status_bodies
);
