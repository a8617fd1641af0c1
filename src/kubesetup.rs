//! Cluster set-up through the Kubernetes API only (namespaces, ServiceAccounts, RBAC, tokens), for any API server.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{AuthInfo, Kubeconfig, NamedAuthInfo};

/// Errors of cluster set-up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube API: {0}")]
    Kube(#[from] kube::Error),
    #[error("TokenRequest for {namespace}/{name} returned no token")]
    NoToken { namespace: String, name: String },
    #[error("kubeconfig has no current context with a user")]
    NoContext,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

const RBAC_API_GROUP: &str = "rbac.authorization.k8s.io";

fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        ..Default::default()
    }
}

/// Creates the namespace unless it exists.
pub async fn ensure_namespace(client: &Client, ns: &str) -> Result<Namespace> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: meta(ns),
                ..Default::default()
            },
        )
        .await
    {
        Ok(created) => Ok(created),
        Err(e) if is_status(&e, 409) => Ok(api.get(ns).await?),
        Err(e) => Err(e.into()),
    }
}

/// Creates the ServiceAccount unless it exists (the namespace must exist).
pub async fn ensure_service_account(
    client: &Client,
    ns: &str,
    name: &str,
) -> Result<ServiceAccount> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    match api
        .create(
            &PostParams::default(),
            &ServiceAccount {
                metadata: meta(name),
                ..Default::default()
            },
        )
        .await
    {
        Ok(created) => Ok(created),
        Err(e) if is_status(&e, 409) => Ok(api.get(name).await?),
        Err(e) => Err(e.into()),
    }
}

/// Mints a bound token through TokenRequest (`serviceaccounts/{name}/token`).
/// Empty `audiences` means the API server's own audiences.
pub async fn request_token(
    client: &Client,
    ns: &str,
    name: &str,
    audiences: &[String],
    expiration_secs: i64,
) -> Result<String> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let request = TokenRequest {
        metadata: meta(name),
        spec: Some(TokenRequestSpec {
            audiences: Some(audiences.to_vec()).filter(|a| !a.is_empty()),
            expiration_seconds: Some(expiration_secs),
            ..Default::default()
        }),
        status: None,
    };
    let answer: TokenRequest = api
        .create_subresource("token", name, &PostParams::default(), &request)
        .await?;
    answer
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::NoToken {
            namespace: ns.to_string(),
            name: name.to_string(),
        })
}

/// Deletes the ServiceAccount; a missing one is not an error.
pub async fn delete_service_account(client: &Client, ns: &str, name: &str) -> Result<()> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates the ClusterRole, or replaces the rules of an existing one with the same name.
pub async fn ensure_cluster_role(client: &Client, role: ClusterRole) -> Result<ClusterRole> {
    let api: Api<ClusterRole> = Api::all(client.clone());
    match api.create(&PostParams::default(), &role).await {
        Ok(created) => Ok(created),
        Err(e) if is_status(&e, 409) => {
            let name = role.metadata.name.clone().unwrap_or_default();
            let mut existing = api.get(&name).await?;
            existing.rules = role.rules;
            existing.aggregation_rule = role.aggregation_rule;
            Ok(api
                .replace(&name, &PostParams::default(), &existing)
                .await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Binds `cluster_role` to `subjects` with a ClusterRoleBinding, replacing the subjects of an existing one.
pub async fn bind_cluster_role(
    client: &Client,
    binding_name: &str,
    cluster_role: &str,
    subjects: Vec<Subject>,
) -> Result<ClusterRoleBinding> {
    let api: Api<ClusterRoleBinding> = Api::all(client.clone());
    let binding = ClusterRoleBinding {
        metadata: meta(binding_name),
        role_ref: RoleRef {
            api_group: Some(RBAC_API_GROUP.to_string()),
            kind: "ClusterRole".to_string(),
            name: cluster_role.to_string(),
        },
        subjects: Some(subjects),
    };
    match api.create(&PostParams::default(), &binding).await {
        Ok(created) => Ok(created),
        Err(e) if is_status(&e, 409) => {
            let mut existing = api.get(binding_name).await?;
            existing.subjects = binding.subjects;
            Ok(api
                .replace(binding_name, &PostParams::default(), &existing)
                .await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A Subject for a ServiceAccount.
pub fn service_account_subject(ns: &str, name: &str) -> Subject {
    Subject {
        kind: "ServiceAccount".to_string(),
        name: name.to_string(),
        namespace: Some(ns.to_string()),
        api_group: None,
    }
}

/// A Subject for a group (e.g. `system:serviceaccounts:NS`).
pub fn group_subject(name: &str) -> Subject {
    Subject {
        kind: "Group".to_string(),
        name: name.to_string(),
        namespace: None,
        api_group: Some(RBAC_API_GROUP.to_string()),
    }
}

/// The same kubeconfig (cluster, CA, context) with its current user replaced by a bearer-token user.
pub fn kubeconfig_with_token(base: &Kubeconfig, token: &str) -> Kubeconfig {
    let mut config = base.clone();
    let user_name = "gatebench-token-user".to_string();
    config.auth_infos.retain(|a| a.name != user_name);
    config.auth_infos.push(NamedAuthInfo {
        name: user_name.clone(),
        auth_info: Some(AuthInfo {
            token: Some(token.to_string().into()),
            ..Default::default()
        }),
        other: Default::default(),
    });
    let current = config.current_context.clone();
    for context in config
        .contexts
        .iter_mut()
        .filter(|c| Some(&c.name) == current.as_ref())
    {
        if let Some(ctx) = context.context.as_mut() {
            ctx.user = Some(user_name.clone());
        }
    }
    config
}

/// What `setup_gateway_rbac` creates.
#[derive(Debug, Clone)]
pub struct RbacSetup {
    /// Namespace of the gateway's ServiceAccount (and of the SAR's `services/gateway-service`).
    pub gateway_namespace: String,
    /// Namespace whose ServiceAccounts may send signals.
    pub load_namespace: String,
    /// The gateway's ServiceAccount, bound to `system:auth-delegator`.
    pub gateway_service_account: String,
    /// The ClusterRole granting `create` on `services/<service_name>`.
    pub signal_cluster_role: String,
    pub service_name: String,
}

impl Default for RbacSetup {
    fn default() -> Self {
        Self {
            gateway_namespace: "gatebench-system".to_string(),
            load_namespace: "gatebench-load".to_string(),
            gateway_service_account: "gatebench-gateway".to_string(),
            signal_cluster_role: "gatebench-signal-source".to_string(),
            service_name: "gateway-service".to_string(),
        }
    }
}

/// Namespaces, the gateway SA bound to `system:auth-delegator`, and the signal-source ClusterRole bound
/// to every ServiceAccount of the load namespace (group `system:serviceaccounts:<load_namespace>`).
pub async fn setup_gateway_rbac(client: &Client, setup: &RbacSetup) -> Result<()> {
    ensure_namespace(client, &setup.gateway_namespace).await?;
    ensure_namespace(client, &setup.load_namespace).await?;
    ensure_service_account(
        client,
        &setup.gateway_namespace,
        &setup.gateway_service_account,
    )
    .await?;
    bind_cluster_role(
        client,
        &format!("{}-auth-delegator", setup.gateway_service_account),
        "system:auth-delegator",
        vec![service_account_subject(
            &setup.gateway_namespace,
            &setup.gateway_service_account,
        )],
    )
    .await?;
    let role = ClusterRole {
        metadata: meta(&setup.signal_cluster_role),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["services".to_string()]),
            resource_names: Some(vec![setup.service_name.clone()]),
            verbs: vec!["create".to_string()],
            non_resource_urls: None,
        }]),
        aggregation_rule: None,
    };
    ensure_cluster_role(client, role).await?;
    bind_cluster_role(
        client,
        &setup.signal_cluster_role,
        &setup.signal_cluster_role,
        vec![group_subject(&format!(
            "system:serviceaccounts:{}",
            setup.load_namespace
        ))],
    )
    .await?;
    Ok(())
}
