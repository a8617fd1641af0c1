//! The API server stand-in prepared as a benchmark run prepares it: RBAC, a load token, the gateway's kube config.

use gatebench::apiserver::{ApiServer, Config as ApiConfig};
use gatebench::kubesetup::{self, RbacSetup};
use kube::config::KubeConfigOptions;
use tokio::net::TcpListener;

/// Organization of the bench client certificates; bound to the signal-source role like the load namespace.
pub const CLIENT_ORG: &str = "gatebench-signal-sources";
pub const LOAD_SERVICE_ACCOUNT: &str = "load-0";

pub struct Fixture {
    pub server: ApiServer,
    pub rbac: RbacSetup,
    /// Admin client (cluster-admin).
    pub admin: kube::Client,
    /// Token of `load-0` in the load namespace, allowed to send signals.
    pub load_token: String,
    /// Token of the gateway's ServiceAccount (`system:auth-delegator`).
    pub gateway_token: String,
    /// The gateway's kube config (same cluster, the gateway SA's token).
    pub gateway_kube: kube::Config,
}

/// Starts a TLS stand-in with no faults on an ephemeral loopback port and sets it up.
pub async fn start() -> Fixture {
    gatebench::tls::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = ApiServer::start(ApiConfig::default(), listener)
        .await
        .expect("stand-in starts");
    let admin = server.client().await.expect("admin client");
    let rbac = RbacSetup::default();
    kubesetup::setup_gateway_rbac(&admin, &rbac)
        .await
        .expect("RBAC set-up");
    kubesetup::bind_cluster_role(
        &admin,
        "gatebench-bench-client-certs",
        &rbac.signal_cluster_role,
        vec![kubesetup::group_subject(CLIENT_ORG)],
    )
    .await
    .expect("bind certificate group");
    kubesetup::ensure_service_account(&admin, &rbac.load_namespace, LOAD_SERVICE_ACCOUNT)
        .await
        .expect("load ServiceAccount");
    let load_token = kubesetup::request_token(
        &admin,
        &rbac.load_namespace,
        LOAD_SERVICE_ACCOUNT,
        &[],
        3600,
    )
    .await
    .expect("load token");
    let gateway_token = kubesetup::request_token(
        &admin,
        &rbac.gateway_namespace,
        &rbac.gateway_service_account,
        &[],
        3600,
    )
    .await
    .expect("gateway token");
    let kubeconfig = kubesetup::kubeconfig_with_token(&server.kubeconfig(), &gateway_token);
    let gateway_kube =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("gateway kube config");
    Fixture {
        server,
        rbac,
        admin,
        load_token,
        gateway_token,
        gateway_kube,
    }
}
