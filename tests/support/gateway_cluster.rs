//! Gateway tests' API-server side: an in-process stand-in with the gateway's RBAC, tokens and call counts.
#![allow(dead_code)]

use gatebench::apiserver::{ApiServer, FaultConfig};
use gatebench::kubesetup::{self, RbacSetup};
use gatebench::promtext::Scrape;
use tokio::net::TcpListener;

pub const GATEWAY_NS: &str = "gatebench-system";
pub const LOAD_NS: &str = "gatebench-load";

pub struct Cluster {
    pub api: ApiServer,
    pub admin: kube::Client,
}

impl Cluster {
    /// A stand-in with the gateway RBAC set up (gateway SA, signal-source role for LOAD_NS).
    pub async fn start() -> Cluster {
        gatebench::tls::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = ApiServer::start(gatebench::apiserver::Config::default(), listener)
            .await
            .expect("stand-in starts");
        let admin = api.client().await.unwrap();
        kubesetup::setup_gateway_rbac(
            &admin,
            &RbacSetup {
                gateway_namespace: GATEWAY_NS.into(),
                load_namespace: LOAD_NS.into(),
                ..Default::default()
            },
        )
        .await
        .expect("RBAC set-up");
        Cluster { api, admin }
    }

    /// kube config of the gateway's own ServiceAccount (bound to system:auth-delegator).
    pub async fn gateway_kube_config(&self) -> kube::Config {
        let kubeconfig = self.gateway_kubeconfig().await;
        kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap()
    }

    pub async fn gateway_kubeconfig(&self) -> kube::config::Kubeconfig {
        let token =
            kubesetup::request_token(&self.admin, GATEWAY_NS, "gatebench-gateway", &[], 3600)
                .await
                .unwrap();
        kubesetup::kubeconfig_with_token(&self.api.kubeconfig(), &token)
    }

    /// A token for ServiceAccount `name` in `ns` (created if missing).
    pub async fn token(&self, ns: &str, name: &str) -> String {
        kubesetup::ensure_namespace(&self.admin, ns).await.unwrap();
        kubesetup::ensure_service_account(&self.admin, ns, name)
            .await
            .unwrap();
        kubesetup::request_token(&self.admin, ns, name, &[], 3600)
            .await
            .unwrap()
    }

    /// The stand-in's own count of `create` calls on `resource` (the API-call ground truth).
    pub async fn creates(&self, resource: &str) -> f64 {
        let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
        let text = self.admin.request_text(request).await.unwrap();
        Scrape::parse(&text).unwrap().sum(
            "apiserver_request_total",
            &[("verb", "POST"), ("resource", resource)],
        )
    }

    pub fn set_faults(&self, json: serde_json::Value) {
        let faults: FaultConfig = serde_json::from_value(json).unwrap();
        self.api.set_faults(faults);
    }
}
