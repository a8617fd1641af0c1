//! `ApiServer`: serves the stand-in on an already-bound listener (HTTPS or HTTP, HTTP/1.1 and h2)
//! through [`crate::serve`] until shut down.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::faults::{FaultConfig, Faults};
use super::handlers;
use super::metrics::Metrics;
use super::state::State;
use super::store::Store;
use super::tokens::Keys;
use super::{Config, Result, bootstrap, certs, kubeconfig};
use crate::serve;
use crate::token_key::TokenKeyer;

/// A running stand-in. Dropping it without `shutdown` leaves the server running until the runtime ends.
pub struct ApiServer {
    state: Arc<State>,
    local_addr: SocketAddr,
    ca_pem: Option<String>,
    kubeconfig_yaml: String,
    kubeconfig: Kubeconfig,
    shutdown_tx: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ApiServer {
    /// Generates keys (and certificates unless `insecure_http`), bootstraps the store and starts serving.
    pub async fn start(config: Config, listener: TcpListener) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let local_addr = listener.local_addr()?;
        let scheme = if config.insecure_http {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{local_addr}");
        let (tls, ca_pem) = if config.insecure_http {
            (None, None)
        } else {
            let pki = certs::generate()?;
            let mut tls = rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(pki.cert_chain, pki.key)?;
            tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            (Some(Arc::new(tls)), Some(pki.ca_pem))
        };
        let issuer = config.issuer.clone();
        let key_pem = config.signing_key_pem.clone();
        let keys = tokio::task::spawn_blocking(move || match key_pem {
            Some(pem) => Keys::from_pem(&issuer, &pem),
            None => Keys::generate(&issuer),
        })
        .await
        .map_err(|e| super::Error::SigningKey(e.to_string()))??;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let admin_token = URL_SAFE_NO_PAD.encode(secret);
        let kubeconfig_yaml = kubeconfig::render(&url, ca_pem.as_deref(), &admin_token)?;
        let parsed_kubeconfig = kubeconfig::parse(&kubeconfig_yaml)?;
        let store = Store::default();
        bootstrap::populate(&store);
        let state = Arc::new(State {
            faults: Faults::new(config.faults.clone()),
            config,
            url,
            admin_token,
            keys,
            store,
            metrics: Metrics::new(),
            log_keyer: TokenKeyer::random(),
        });
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let handler = StandIn {
            state: state.clone(),
            tls,
        };
        let task = tokio::spawn(serve::run(
            listener,
            state.config.server.clone(),
            Arc::new(handler),
            stopped(shutdown_rx),
        ));
        tracing::info!(url = %state.url, "apiserver stand-in listening");
        Ok(Self {
            state,
            local_addr,
            ca_pem,
            kubeconfig_yaml,
            kubeconfig: parsed_kubeconfig,
            shutdown_tx,
            task,
        })
    }

    pub fn url(&self) -> &str {
        &self.state.url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The admin bearer token (member of system:masters, bound to cluster-admin).
    pub fn admin_token(&self) -> &str {
        &self.state.admin_token
    }

    /// PEM of the CA that signed the serving certificate (`None` over plain HTTP).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The JWT issuer of ServiceAccount tokens.
    pub fn issuer(&self) -> &str {
        self.state.keys.issuer()
    }

    /// The admin kubeconfig, exactly as `write_kubeconfig` writes it.
    pub fn kubeconfig(&self) -> Kubeconfig {
        self.kubeconfig.clone()
    }

    pub fn write_kubeconfig(&self, path: &Path) -> Result<()> {
        kubeconfig::write_atomic(&self.kubeconfig_yaml, path)
    }

    /// A kube client with the admin identity.
    pub async fn client(&self) -> Result<kube::Client> {
        let config =
            kube::Config::from_custom_kubeconfig(self.kubeconfig(), &KubeConfigOptions::default())
                .await
                .map_err(|e| super::Error::Kubeconfig(e.to_string()))?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Replaces the active faults (same as `PUT /gatebench/v1/faults`).
    pub fn set_faults(&self, faults: FaultConfig) {
        self.state.faults.set(faults);
    }

    pub fn faults(&self) -> FaultConfig {
        self.state.faults.get()
    }

    /// The `/metrics` text, without a network round trip.
    pub fn metrics_text(&self) -> String {
        self.state.metrics.render()
    }

    /// Stops accepting, lets open requests finish (bounded), and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        // Wake requests parked in a `hang` outage so connections can drain.
        self.state.faults.set(FaultConfig::default());
        let _ = self.task.await;
    }
}

/// The stand-in's side of the shared accept loop: its TLS config and the request pipeline.
struct StandIn {
    state: Arc<State>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl serve::Handler for StandIn {
    type Conn = ();

    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.tls.clone()
    }

    fn connect(&self, _peer: &serve::Peer) {}

    async fn call(
        &self,
        _conn: &(),
        request: hyper::Request<serve::RequestBody>,
    ) -> std::result::Result<serve::HttpResponse, serve::ResetConnection> {
        handlers::handle(self.state.clone(), request).await
    }
}

/// Completes when `rx` sees `true` (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
