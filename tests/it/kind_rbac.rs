//! The RBAC a cluster gets from deploy/ is the RBAC that was tested: the very manifests are applied
//! to the embedded API server through kube, then real calls and SubjectAccessReviews show the
//! gateway can review, the Job's identity can mint load identities, a load identity may send
//! signals and a ServiceAccount elsewhere may not. Also checks deploy/ matches what
//! `kubesetup::setup_gateway_rbac` creates, so the embedded and the real path agree.

use gatebench::apiserver::{ApiServer, Config};
use gatebench::kind::manifests::{Manifest, load_dir};
use gatebench::kubesetup;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use std::path::PathBuf;

async fn start() -> ApiServer {
    gatebench::tls::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ApiServer::start(Config::default(), listener).await.unwrap()
}

fn deploy_manifests() -> Vec<Manifest> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy");
    load_dir(&dir)
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

/// POSTs one namespaced object into its own namespace.
async fn create_in_ns<K>(client: &Client, obj: &K)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let ns = obj
        .namespace()
        .expect("namespaced object without namespace");
    Api::<K>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), obj)
        .await
        .unwrap_or_else(|e| panic!("creating {}/{ns}/{}: {e}", K::kind(&()), obj.name_any()));
}

/// POSTs one cluster-scoped object.
async fn create_cluster<K>(client: &Client, obj: &K)
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::all(client.clone())
        .create(&PostParams::default(), obj)
        .await
        .unwrap_or_else(|e| panic!("creating {}/{}: {e}", K::kind(&()), obj.name_any()));
}

/// Creates every object the stand-in stores, namespaces first as `kubectl apply -k` orders them;
/// returns the ids of those it skipped (workloads: the stand-in stores objects but runs nothing).
async fn apply(client: &Client, manifests: &[Manifest]) -> Vec<String> {
    let mut ordered: Vec<&Manifest> = manifests.iter().collect();
    ordered.sort_by_key(|m| !matches!(m, Manifest::Namespace(_)));
    let mut skipped = Vec::new();
    for m in ordered {
        match m {
            Manifest::Namespace(o) => create_cluster(client, o).await,
            Manifest::ClusterRole(o) => create_cluster(client, o).await,
            Manifest::ClusterRoleBinding(o) => create_cluster(client, o).await,
            Manifest::ServiceAccount(o) => create_in_ns(client, o).await,
            Manifest::ConfigMap(o) => create_in_ns(client, o).await,
            Manifest::Role(o) => create_in_ns(client, o).await,
            Manifest::RoleBinding(o) => create_in_ns(client, o).await,
            Manifest::Deployment(_) | Manifest::Service(_) | Manifest::Job(_) => {
                skipped.push(m.id())
            }
        }
    }
    skipped
}

async fn client_for(server: &ApiServer, token: &str) -> Client {
    let kubeconfig = kubesetup::kubeconfig_with_token(&server.kubeconfig(), token);
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn sa_user(ns: &str, name: &str) -> (String, Vec<String>) {
    (
        format!("system:serviceaccount:{ns}:{name}"),
        vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".into(),
        ],
    )
}

fn sar(
    user: (String, Vec<String>),
    group: &str,
    resource: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> SubjectAccessReview {
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.0),
            groups: Some(user.1),
            resource_attributes: Some(ResourceAttributes {
                verb: Some("create".into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                namespace: ns.map(str::to_string),
                name: name.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn allowed(client: &Client, review: SubjectAccessReview) -> bool {
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    answer.status.unwrap().allowed
}

fn signal(user: (String, Vec<String>)) -> SubjectAccessReview {
    sar(
        user,
        "",
        "services",
        Some("gatebench-system"),
        Some("gateway-service"),
    )
}

#[tokio::test]
async fn deploy_rbac_lets_the_gateway_review_and_only_load_identities_signal() {
    let server = start().await;
    let admin = server.client().await.unwrap();
    let skipped = apply(&admin, &deploy_manifests()).await;
    assert_eq!(
        skipped.len(),
        3,
        "only the workloads are skipped: {skipped:?}"
    );

    // The Job's identity mints a load identity and its token, as loadtest does in the pod.
    let loadgen_token =
        kubesetup::request_token(&admin, "gatebench-load", "gatebench-loadgen", &[], 600)
            .await
            .unwrap();
    let loadgen = client_for(&server, &loadgen_token).await;
    // loadtest's set-up ensures the namespace first (a POST answered 409 when it exists).
    kubesetup::ensure_namespace(&loadgen, "gatebench-load")
        .await
        .unwrap();
    kubesetup::ensure_service_account(&loadgen, "gatebench-load", "load-0")
        .await
        .unwrap();
    let load_token = kubesetup::request_token(&loadgen, "gatebench-load", "load-0", &[], 600)
        .await
        .unwrap();
    // ... and nothing outside its namespace.
    kubesetup::ensure_namespace(&admin, "other").await.unwrap();
    assert!(
        kubesetup::ensure_service_account(&loadgen, "other", "load-0")
            .await
            .is_err()
    );

    // An identity in another namespace, with a valid token.
    kubesetup::ensure_service_account(&admin, "other", "intruder")
        .await
        .unwrap();
    let intruder_token = kubesetup::request_token(&admin, "other", "intruder", &[], 600)
        .await
        .unwrap();

    // Real calls as the gateway: TokenReview and SubjectAccessReview succeed.
    let gateway_token =
        kubesetup::request_token(&admin, "gatebench-system", "gatebench-gateway", &[], 600)
            .await
            .unwrap();
    let gateway = client_for(&server, &gateway_token).await;
    for (token, expected_user) in [
        (&load_token, "system:serviceaccount:gatebench-load:load-0"),
        (&intruder_token, "system:serviceaccount:other:intruder"),
    ] {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = Api::<TokenReview>::all(gateway.clone())
            .create(&PostParams::default(), &review)
            .await
            .expect("gateway may create tokenreviews");
        let status = answer.status.unwrap();
        assert_eq!(status.authenticated, Some(true));
        assert_eq!(
            status.user.unwrap().username.as_deref(),
            Some(expected_user)
        );
    }
    assert!(allowed(&gateway, signal(sa_user("gatebench-load", "load-0"))).await);
    assert!(
        allowed(&gateway, signal(sa_user("gatebench-load", "load-999"))).await,
        "every SA in gatebench-load"
    );
    assert!(!allowed(&gateway, signal(sa_user("other", "intruder"))).await);
    assert!(
        !allowed(
            &gateway,
            signal(sa_user("gatebench-system", "gatebench-gateway"))
        )
        .await
    );
    // The grant is for gateway-service only.
    let other_service = sar(
        sa_user("gatebench-load", "load-0"),
        "",
        "services",
        Some("gatebench-system"),
        Some("api"),
    );
    assert!(!allowed(&gateway, other_service).await);

    // What each identity may do, asked as the admin.
    let gw = || sa_user("gatebench-system", "gatebench-gateway");
    assert!(
        allowed(
            &admin,
            sar(gw(), "authentication.k8s.io", "tokenreviews", None, None)
        )
        .await
    );
    assert!(
        allowed(
            &admin,
            sar(
                gw(),
                "authorization.k8s.io",
                "subjectaccessreviews",
                None,
                None
            )
        )
        .await
    );
    assert!(
        !allowed(
            &admin,
            sar(gw(), "", "serviceaccounts", Some("gatebench-load"), None)
        )
        .await
    );
    let lg = || sa_user("gatebench-load", "gatebench-loadgen");
    assert!(
        !allowed(
            &admin,
            sar(lg(), "authentication.k8s.io", "tokenreviews", None, None)
        )
        .await
    );

    // A load identity itself cannot review tokens: it can only send signals.
    let load = client_for(&server, &load_token).await;
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: intruder_token.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(
        Api::<TokenReview>::all(load)
            .create(&PostParams::default(), &review)
            .await
            .is_err()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn deploy_rbac_matches_kubesetup() {
    let server = start().await;
    let admin = server.client().await.unwrap();
    kubesetup::setup_gateway_rbac(&admin, &Default::default())
        .await
        .unwrap();
    let manifests = deploy_manifests();

    let from_yaml = manifests
        .iter()
        .find_map(|m| match m {
            Manifest::ClusterRole(r) if r.name_any() == "gatebench-signal-source" => {
                Some(r.clone())
            }
            _ => None,
        })
        .unwrap();
    let created = Api::<ClusterRole>::all(admin.clone())
        .get("gatebench-signal-source")
        .await
        .unwrap();
    assert_eq!(created.rules, from_yaml.rules);

    let bindings = Api::<ClusterRoleBinding>::all(admin.clone())
        .list(&Default::default())
        .await
        .unwrap();
    for m in &manifests {
        let Manifest::ClusterRoleBinding(yaml) = m else {
            continue;
        };
        if !["system:auth-delegator", "gatebench-signal-source"]
            .contains(&yaml.role_ref.name.as_str())
        {
            continue; // the Job's own identity is deploy/-only
        }
        let matching = bindings
            .items
            .iter()
            .find(|b| b.role_ref == yaml.role_ref && b.subjects == yaml.subjects);
        assert!(
            matching.is_some(),
            "kubesetup makes no binding like {}: {:?}",
            yaml.name_any(),
            yaml.subjects
        );
    }
    server.shutdown().await;
}
