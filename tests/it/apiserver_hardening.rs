//! The stand-in against hostile callers (real sockets): RBAC writes cannot escalate, the admin
//! token only works for the server's own audiences, the fault endpoint refuses bad numbers, and a
//! silent connection is closed at the header timeout.

use crate::apiserver_common as common;

use std::time::{Duration, Instant};

use common::{authenticated, token_review};
use gatebench::kubesetup;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use tokio::io::AsyncReadExt;

const NS: &str = "team";

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

fn binding(name: &str, kind: &str, role: &str, sa: &str) -> RoleBinding {
    RoleBinding {
        metadata: meta(name, Some(NS)),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: kind.into(),
            name: role.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: sa.into(),
            namespace: Some(NS.into()),
            api_group: None,
        }]),
    }
}

fn role(name: &str, rules: Vec<PolicyRule>) -> Role {
    Role {
        metadata: meta(name, Some(NS)),
        rules: Some(rules),
    }
}

async fn status_of<T>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Ok(_) => 201,
        Err(e) => common::http_status(&e).unwrap_or(0),
    }
}

#[tokio::test]
async fn rbac_writes_cannot_grant_more_than_the_caller_holds() {
    let (server, admin) = common::start_default().await;
    kubesetup::ensure_namespace(&admin, NS).await.unwrap();
    kubesetup::ensure_service_account(&admin, NS, "manager")
        .await
        .unwrap();
    // The manager may write roles and bindings in NS and read pods, nothing else.
    let manager_rules = vec![
        rule(
            &["rbac.authorization.k8s.io"],
            &["roles", "rolebindings"],
            &["create", "update", "get"],
            &[],
        ),
        rule(&[""], &["pods"], &["get", "list"], &[]),
    ];
    let admin_roles: Api<Role> = Api::namespaced(admin.clone(), NS);
    let admin_bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), NS);
    let pp = PostParams::default();
    admin_roles
        .create(&pp, &role("manager", manager_rules))
        .await
        .unwrap();
    admin_bindings
        .create(&pp, &binding("manager", "Role", "manager", "manager"))
        .await
        .unwrap();
    let token = kubesetup::request_token(&admin, NS, "manager", &[], 600)
        .await
        .unwrap();
    let manager = common::client_with_token(&server, &token).await;
    let roles: Api<Role> = Api::namespaced(manager.clone(), NS);
    let bindings: Api<RoleBinding> = Api::namespaced(manager.clone(), NS);

    // Rules it holds: fine. Rules it does not hold (secrets): 403.
    let held = role("pod-reader", vec![rule(&[""], &["pods"], &["get"], &[])]);
    assert_eq!(status_of(roles.create(&pp, &held).await).await, 201);
    let more = role(
        "secret-reader",
        vec![rule(&[""], &["secrets"], &["get"], &[])],
    );
    let refused = roles.create(&pp, &more).await.unwrap_err();
    assert_eq!(common::http_status(&refused), Some(403));
    assert!(
        refused.to_string().contains("not currently held"),
        "{refused}"
    );
    // An update cannot escalate either.
    let mut grown = held.clone();
    grown.rules = Some(vec![rule(&[""], &["*"], &["*"], &[])]);
    assert_eq!(
        status_of(roles.replace("pod-reader", &pp, &grown).await).await,
        403
    );
    // Binding cluster-admin: 403; binding a role whose rules it holds: fine.
    let to_admin = binding("grab", "ClusterRole", "cluster-admin", "manager");
    assert_eq!(status_of(bindings.create(&pp, &to_admin).await).await, 403);
    let to_reader = binding("readers", "Role", "pod-reader", "manager");
    assert_eq!(status_of(bindings.create(&pp, &to_reader).await).await, 201);

    // `escalate` on roles and `bind` on cluster-admin lift the check, as in kube.
    let delegate = vec![
        rule(
            &["rbac.authorization.k8s.io"],
            &["roles"],
            &["escalate"],
            &[],
        ),
        rule(
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &["bind"],
            &["cluster-admin"],
        ),
    ];
    admin_roles
        .create(&pp, &role("delegate", delegate))
        .await
        .unwrap();
    admin_bindings
        .create(&pp, &binding("delegate", "Role", "delegate", "manager"))
        .await
        .unwrap();
    assert_eq!(status_of(roles.create(&pp, &more).await).await, 201);
    assert_eq!(status_of(bindings.create(&pp, &to_admin).await).await, 201);
    // Cluster roles stay out of reach: no rights at cluster scope at all.
    let cluster_roles: Api<ClusterRole> = Api::all(manager);
    let cr = ClusterRole {
        metadata: meta("x", None),
        rules: Some(vec![]),
        ..Default::default()
    };
    assert_eq!(status_of(cluster_roles.create(&pp, &cr).await).await, 403);
    server.shutdown().await;
}

#[tokio::test]
async fn the_admin_token_only_works_for_the_servers_own_audiences() {
    let (server, client) = common::start_default().await;
    let admin = server.admin_token().to_string();
    assert!(authenticated(&token_review(&client, &admin, &[]).await));
    let own = server.issuer().to_string();
    let status = token_review(&client, &admin, &[own.as_str(), "other"]).await;
    assert!(authenticated(&status));
    assert_eq!(status.audiences, Some(vec![own]));
    assert!(!authenticated(
        &token_review(&client, &admin, &["other"]).await
    ));
    // A near miss is just as invalid.
    let mut near = admin.clone();
    near.pop();
    assert!(!authenticated(&token_review(&client, &near, &[]).await));
    server.shutdown().await;
}

#[tokio::test]
async fn the_fault_endpoint_refuses_bad_numbers_with_400() {
    let (server, _client) = common::start_default().await;
    let http = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap(),
        ])
        .build()
        .unwrap();
    let url = format!("{}/gatebench/v1/faults", server.url());
    let bad = [
        r#"{"latency": {"*": {"kind": "fixed", "ms": -1}}}"#,
        r#"{"latency": {"*": {"kind": "fixed", "ms": 1e300}}}"#,
        r#"{"latency": {"*": {"kind": "uniform", "min_ms": 5, "max_ms": 1}}}"#,
        r#"{"latency": {"*": {"kind": "lognormal", "p50_ms": 0, "p99_ms": 1}}}"#,
        r#"{"outage": {"kind": "hang", "duration_secs": 1e300}}"#,
        r#"{"outage": {"kind": "hang", "duration_secs": -1}}"#,
        r#"{"qps_cap": -5}"#,
        r#"{"qps_cap": 0}"#,
        r#"{"error_fraction": 5}"#,
        r#"{"max_inflight": -1}"#,
        r#"{"max_inflight": 1e20}"#,
        r#"{"qps_cap": NaN}"#,
        r#"{"error_fraction": 1e999}"#,
    ];
    for body in bad {
        let r = http
            .put(&url)
            .bearer_auth(server.admin_token())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
    }
    // Nothing was applied, and the server still answers.
    assert_eq!(server.faults(), Default::default());
    let ok = http
        .put(&url)
        .bearer_auth(server.admin_token())
        .body(r#"{"error_fraction": 0.5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_header_timeout() {
    let mut config = gatebench::apiserver::Config::default();
    config.server.header_read_timeout = Duration::from_secs(1);
    let server = common::start(config).await;
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
    assert!(closed.is_ok(), "silent connection still open after 10 s");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    server.shutdown().await;
}
