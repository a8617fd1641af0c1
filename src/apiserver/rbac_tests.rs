//! Unit tests of RBAC rule matching.

use serde_json::json;

use super::*;

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        name: name.into(),
        uid: String::new(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn res(
    verb: &str,
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> Attributes {
    Attributes::Resource {
        verb: verb.into(),
        group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn snapshot() -> RbacSnapshot {
    let objects = [
        (
            "clusterroles",
            json!({"metadata": {"name": "svc-create"}, "rules": [
            {"apiGroups": [""], "resources": ["services"], "resourceNames": ["gateway-service"], "verbs": ["create"]}]}),
        ),
        (
            "clusterroles",
            json!({"metadata": {"name": "wild"}, "rules": [
            {"apiGroups": ["*"], "resources": ["*/token"], "verbs": ["*"]},
            {"nonResourceURLs": ["/logs/*"], "verbs": ["get"]}]}),
        ),
        (
            "roles",
            json!({"metadata": {"name": "reader", "namespace": "ns1"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
        ),
        (
            "clusterrolebindings",
            json!({"metadata": {"name": "b1"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "svc-create"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:load"}]}),
        ),
        (
            "clusterrolebindings",
            json!({"metadata": {"name": "b2"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "wild"},
            "subjects": [{"kind": "User", "name": "alice"}]}),
        ),
        (
            "rolebindings",
            json!({"metadata": {"name": "rb", "namespace": "ns1"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
        ),
    ];
    let refs: Vec<(&'static str, &serde_json::Value)> =
        objects.iter().map(|(k, v)| (*k, v)).collect();
    RbacSnapshot::build(&refs)
}

#[test]
fn resource_names_restrict_and_groups_match() {
    let rbac = snapshot();
    let load = user(
        "system:serviceaccount:load:x",
        &["system:serviceaccounts:load"],
    );
    assert!(
        rbac.authorize(
            &load,
            &res("create", "", "services", "", "gw", "gateway-service")
        )
        .allowed
    );
    assert!(
        !rbac
            .authorize(&load, &res("create", "", "services", "", "gw", "other"))
            .allowed
    );
    assert!(
        !rbac
            .authorize(
                &load,
                &res("delete", "", "services", "", "gw", "gateway-service")
            )
            .allowed
    );
    let other = user(
        "system:serviceaccount:other:x",
        &["system:serviceaccounts:other"],
    );
    assert!(
        !rbac
            .authorize(
                &other,
                &res("create", "", "services", "", "gw", "gateway-service")
            )
            .allowed
    );
}

#[test]
fn subresource_wildcards_and_non_resource_prefixes() {
    let rbac = snapshot();
    let alice = user("alice", &[]);
    assert!(
        rbac.authorize(
            &alice,
            &res("create", "", "serviceaccounts", "token", "ns", "sa")
        )
        .allowed
    );
    assert!(
        !rbac
            .authorize(
                &alice,
                &res("create", "", "serviceaccounts", "", "ns", "sa")
            )
            .allowed
    );
    let logs = Attributes::NonResource {
        verb: "get".into(),
        path: "/logs/app".into(),
    };
    assert!(rbac.authorize(&alice, &logs).allowed);
    let other = Attributes::NonResource {
        verb: "get".into(),
        path: "/metrics".into(),
    };
    assert!(!rbac.authorize(&alice, &other).allowed);
}

#[test]
fn role_binding_defaults_service_account_namespace() {
    let rbac = snapshot();
    let sa = user("system:serviceaccount:ns1:sa", &[]);
    let decision = rbac.authorize(&sa, &res("get", "", "configmaps", "", "ns1", "c"));
    assert!(decision.allowed);
    assert!(
        decision.reason.contains("RoleBinding \"rb/ns1\""),
        "{}",
        decision.reason
    );
    assert!(
        !rbac
            .authorize(&sa, &res("get", "", "configmaps", "", "ns2", "c"))
            .allowed
    );
    let elsewhere = user("system:serviceaccount:ns2:sa", &[]);
    assert!(
        !rbac
            .authorize(&elsewhere, &res("get", "", "configmaps", "", "ns1", "c"))
            .allowed
    );
}

#[test]
fn system_masters_is_always_allowed() {
    let rbac = RbacSnapshot::default();
    assert!(
        rbac.authorize(
            &user("root", &[SYSTEM_MASTERS]),
            &res("delete", "x", "y", "", "", "")
        )
        .allowed
    );
    assert!(
        !rbac
            .authorize(&user("root", &[]), &res("delete", "x", "y", "", "", ""))
            .allowed
    );
}
