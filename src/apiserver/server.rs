//! `ApiServer`: binds the stand-in to a listener (HTTPS or HTTP, HTTP/1.1 and h2), serves until shut down.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::faults::{FaultConfig, Faults};
use super::handlers::{self, State};
use super::metrics::Metrics;
use super::reset_stream::{ResetFlag, ResettableStream};
use super::store::Store;
use super::tokens::Keys;
use super::{Config, Result, bootstrap, certs, kubeconfig};

/// How long shutdown waits for open connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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
        let (acceptor, ca_pem) = if config.insecure_http {
            (None, None)
        } else {
            let pki = certs::generate()?;
            let mut tls = rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(pki.cert_chain, pki.key)?;
            tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            (Some(TlsAcceptor::from(Arc::new(tls))), Some(pki.ca_pem))
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
        });
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, acceptor, state.clone(), shutdown_rx));
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

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually EMFILE; back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let flag = ResetFlag::default();
            let stream = ResettableStream::new(stream, flag.clone());
            let service = hyper::service::service_fn(move |request| {
                let (state, flag) = (state.clone(), flag.clone());
                async move {
                    let answer = handlers::handle(state, request).await;
                    if answer.is_err() {
                        flag.trip();
                    }
                    answer
                }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => {
                        watcher
                            .watch(
                                builder
                                    .serve_connection(TokioIo::new(tls), service)
                                    .into_owned(),
                            )
                            .await
                    }
                    Err(error) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    watcher
                        .watch(
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .into_owned(),
                        )
                        .await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
}
