//! SubjectAccessReview through every binding kind, wildcards and resourceNames; callers need RBAC too.

use crate::apiserver_common as common;

use common::{resource_attributes as attrs, sar};
use gatebench::kubesetup::{self, RbacSetup};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        resource_names: Some(strings(names)).filter(|n| !n.is_empty()),
        non_resource_urls: None,
    }
}

fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: ns.map(str::to_string),
        ..Default::default()
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: Some("rbac.authorization.k8s.io".into()),
        kind: kind.into(),
        name: name.into(),
    }
}

fn user_subject(name: &str) -> Subject {
    Subject {
        kind: "User".into(),
        name: name.into(),
        api_group: Some("rbac.authorization.k8s.io".into()),
        namespace: None,
    }
}

#[tokio::test]
async fn sar_follows_each_binding_kind() {
    let (server, client) = common::start_default().await;
    kubesetup::ensure_namespace(&client, "team").await.unwrap();
    let pp = PostParams::default();
    // ClusterRoleBinding -> ClusterRole, to a User.
    kubesetup::ensure_cluster_role(
        &client,
        ClusterRole {
            metadata: meta("svc-reader", None),
            rules: Some(vec![rule(&[""], &["services"], &["get", "list"], &[])]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    kubesetup::bind_cluster_role(
        &client,
        "alice-reads",
        "svc-reader",
        vec![user_subject("alice")],
    )
    .await
    .unwrap();
    // RoleBinding -> Role, to a ServiceAccount given without namespace (defaults to the binding's).
    let roles: Api<Role> = Api::namespaced(client.clone(), "team");
    roles
        .create(
            &pp,
            &Role {
                metadata: meta("cm-writer", Some("team")),
                rules: Some(vec![rule(&[""], &["configmaps"], &["create"], &[])]),
            },
        )
        .await
        .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), "team");
    let sa_subject = Subject {
        kind: "ServiceAccount".into(),
        name: "bot".into(),
        namespace: None,
        api_group: None,
    };
    bindings
        .create(
            &pp,
            &RoleBinding {
                metadata: meta("bot-writes", Some("team")),
                role_ref: role_ref("Role", "cm-writer"),
                subjects: Some(vec![sa_subject]),
            },
        )
        .await
        .unwrap();
    // RoleBinding -> ClusterRole, to a Group: grants only inside the binding's namespace.
    bindings
        .create(
            &pp,
            &RoleBinding {
                metadata: meta("ops-read", Some("team")),
                role_ref: role_ref("ClusterRole", "svc-reader"),
                subjects: Some(vec![kubesetup::group_subject("ops")]),
            },
        )
        .await
        .unwrap();

    let (allowed, reason) = sar(
        &client,
        "alice",
        &[],
        attrs("list", "services", "anywhere", ""),
    )
    .await;
    assert!(
        allowed && reason.contains("ClusterRoleBinding \"alice-reads\""),
        "{reason}"
    );
    assert!(
        !sar(
            &client,
            "alice",
            &[],
            attrs("delete", "services", "anywhere", "x")
        )
        .await
        .0
    );
    assert!(
        !sar(
            &client,
            "bob",
            &[],
            attrs("list", "services", "anywhere", "")
        )
        .await
        .0
    );

    let bot = "system:serviceaccount:team:bot";
    assert!(
        sar(
            &client,
            bot,
            &[],
            attrs("create", "configmaps", "team", "c")
        )
        .await
        .0
    );
    assert!(
        !sar(
            &client,
            bot,
            &[],
            attrs("create", "configmaps", "other", "c")
        )
        .await
        .0
    );
    assert!(
        !sar(
            &client,
            "system:serviceaccount:other:bot",
            &[],
            attrs("create", "configmaps", "team", "c")
        )
        .await
        .0
    );

    let (allowed, reason) = sar(
        &client,
        "carol",
        &["ops"],
        attrs("get", "services", "team", "s"),
    )
    .await;
    assert!(
        allowed && reason.contains("RoleBinding \"ops-read/team\""),
        "{reason}"
    );
    assert!(
        !sar(
            &client,
            "carol",
            &["ops"],
            attrs("get", "services", "elsewhere", "s")
        )
        .await
        .0
    );
    assert!(
        !sar(
            &client,
            "carol",
            &["dev"],
            attrs("get", "services", "team", "s")
        )
        .await
        .0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn wildcards_resource_names_and_subresources() {
    let (server, client) = common::start_default().await;
    let rules = vec![
        rule(&["*"], &["secrets"], &["*"], &[]),
        rule(&[""], &["services"], &["create"], &["gateway-service"]),
        rule(&[""], &["serviceaccounts/token"], &["create"], &[]),
    ];
    kubesetup::ensure_cluster_role(
        &client,
        ClusterRole {
            metadata: meta("mixed", None),
            rules: Some(rules),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    kubesetup::bind_cluster_role(&client, "dave-mixed", "mixed", vec![user_subject("dave")])
        .await
        .unwrap();
    let mut any_group = attrs("patch", "secrets", "ns", "s");
    any_group.group = Some("example.com".into());
    assert!(sar(&client, "dave", &[], any_group).await.0);
    assert!(
        sar(
            &client,
            "dave",
            &[],
            attrs("create", "services", "ns", "gateway-service")
        )
        .await
        .0
    );
    assert!(
        !sar(
            &client,
            "dave",
            &[],
            attrs("create", "services", "ns", "other-service")
        )
        .await
        .0
    );
    let mut token = attrs("create", "serviceaccounts", "ns", "sa");
    token.subresource = Some("token".into());
    assert!(sar(&client, "dave", &[], token).await.0);
    assert!(
        !sar(
            &client,
            "dave",
            &[],
            attrs("create", "serviceaccounts", "ns", "sa")
        )
        .await
        .0
    );
    // The admin group is allowed everything, as in kube.
    assert!(
        sar(
            &client,
            "root",
            &["system:masters"],
            attrs("delete", "nodes", "", "n")
        )
        .await
        .0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn gateway_rbac_setup_grants_load_namespace_and_delegation() {
    let (server, client) = common::start_default().await;
    let setup = RbacSetup::default();
    kubesetup::setup_gateway_rbac(&client, &setup)
        .await
        .unwrap();
    // Idempotent.
    kubesetup::setup_gateway_rbac(&client, &setup)
        .await
        .unwrap();
    kubesetup::ensure_service_account(&client, &setup.load_namespace, "load-0")
        .await
        .unwrap();

    let gateway_token = kubesetup::request_token(
        &client,
        &setup.gateway_namespace,
        &setup.gateway_service_account,
        &[],
        3600,
    )
    .await
    .unwrap();
    let gateway = common::client_with_token(&server, &gateway_token).await;
    let load_groups = [
        "system:serviceaccounts",
        "system:serviceaccounts:gatebench-load",
        "system:authenticated",
    ];
    let signal = || attrs("create", "services", "gatebench-system", "gateway-service");
    // The gateway SA may create reviews (system:auth-delegator) and the load SA is allowed to signal.
    assert!(
        sar(
            &gateway,
            "system:serviceaccount:gatebench-load:load-0",
            &load_groups,
            signal()
        )
        .await
        .0
    );
    let other_groups = [
        "system:serviceaccounts",
        "system:serviceaccounts:elsewhere",
        "system:authenticated",
    ];
    assert!(
        !sar(
            &gateway,
            "system:serviceaccount:elsewhere:x",
            &other_groups,
            signal()
        )
        .await
        .0
    );
    let load_token = kubesetup::request_token(
        &client,
        &setup.load_namespace,
        "load-0",
        &["gatebench".into()],
        3600,
    )
    .await
    .unwrap();
    assert!(common::authenticated(
        &common::token_review(&gateway, &load_token, &["gatebench"]).await
    ));
    server.shutdown().await;
}
