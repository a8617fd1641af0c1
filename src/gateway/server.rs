//! Starts the gateway: builds the auth pipeline and TLS, then serves both listeners through [`crate::serve`].

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::auth::mtls::identity_from_cert;
use super::auth::{AuthPipeline, Identity, build_pipeline};
use super::kube_client::{ClientSettings, KubeApi, build_client};
use super::metrics::Metrics;
use super::routes::{self, AppState};
use super::signals::DedupStore;
use super::tls_config::{ClientAuth, ReloadableTls, TlsFiles};
use super::{AuthMode, Config, Error, Result};
use crate::serve;

/// Scrapers need few connections; the separate metrics listener allows this many.
const METRICS_CONNECTIONS: usize = 64;
const CRL_POLL: Duration = Duration::from_millis(250);

/// Entry point for the binary, tests and benchmarks.
pub struct Gateway;

/// A serving gateway; dropping it without `shutdown` leaves the tasks running until the runtime ends.
pub struct RunningGateway {
    url: String,
    metrics_url: String,
    state: Arc<AppState>,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _tls: Option<Arc<ReloadableTls>>,
}

/// The kube API wrapper `config` asks for (`None` for `--auth none` without a kubeconfig).
pub fn kube_api(config: &Config, metrics: Arc<Metrics>) -> Result<Option<KubeApi>> {
    let Some(kube_config) = config.kube.clone() else {
        return if config.auth.needs_kube() {
            Err(Error::Kubeconfig(format!(
                "--auth {} needs a kubeconfig",
                config.auth.as_str()
            )))
        } else {
            Ok(None)
        };
    };
    let client = build_client(kube_config, config.apiserver_timeout)?;
    Ok(Some(KubeApi::new(
        client,
        ClientSettings {
            timeout: config.apiserver_timeout,
            retries: config.apiserver_retries,
            qps: config.kube_qps,
            burst: config.kube_burst,
        },
        metrics,
    )))
}

impl Gateway {
    /// Builds the auth pipeline for `config` and serves on the already-bound listeners. Without a
    /// metrics listener `/metrics` is served on the main one.
    pub async fn start(
        config: Config,
        listener: TcpListener,
        metrics_listener: Option<TcpListener>,
    ) -> Result<RunningGateway> {
        crate::tls::install_crypto_provider();
        let metrics = Arc::new(Metrics::new());
        let tls = tls_for(&config, metrics.clone())?;
        let kube = kube_api(&config, metrics.clone())?;
        let pipeline: AuthPipeline = build_pipeline(&config, kube, metrics.clone()).await?;
        let state = Arc::new(AppState {
            pipeline,
            dedup: DedupStore::new(config.dedup_window, config.cache_max_entries),
            metrics: metrics.clone(),
            body_limit_bytes: config.body_limit_bytes,
            max_credential_bytes: config.max_credential_bytes,
            inflight: Arc::new(tokio::sync::Semaphore::new(
                config.max_inflight_requests.max(1),
            )),
            serve_metrics: metrics_listener.is_none(),
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let metrics_url = match &metrics_listener {
            Some(l) => format!("http://{}", l.local_addr()?),
            None => url.clone(),
        };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let main = MainHandler {
            state: state.clone(),
            tls: tls.clone(),
        };
        let mut tasks = vec![tokio::spawn(serve::run(
            listener,
            config.server.clone(),
            Arc::new(main),
            stopped(shutdown_rx.clone()),
        ))];
        if let Some(ml) = metrics_listener {
            let limits = serve::Limits {
                max_connections: METRICS_CONNECTIONS,
                ..config.server.clone()
            };
            tasks.push(tokio::spawn(serve::run(
                ml,
                limits,
                Arc::new(MetricsHandler { metrics }),
                stopped(shutdown_rx),
            )));
        }
        tracing::info!(%url, %metrics_url, mode = config.auth.as_str(), "gateway serving");
        Ok(RunningGateway {
            url,
            metrics_url,
            state,
            shutdown_tx,
            tasks,
            _tls: tls,
        })
    }
}

impl RunningGateway {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn metrics_url(&self) -> &str {
        &self.metrics_url
    }

    /// The auth pipeline serving requests (for in-process benchmarks of the decision).
    pub fn pipeline(&self) -> &AuthPipeline {
        &self.state.pipeline
    }

    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Stops accepting, lets in-flight requests finish (bounded), then returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

fn tls_for(config: &Config, metrics: Arc<Metrics>) -> Result<Option<Arc<ReloadableTls>>> {
    let client_auth = match config.auth {
        AuthMode::Mtls => ClientAuth::Required,
        AuthMode::Hybrid => ClientAuth::Optional,
        _ => ClientAuth::Off,
    };
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return match client_auth {
            ClientAuth::Off => Ok(None),
            _ => Err(Error::MissingTls(config.auth.as_str())),
        };
    };
    if client_auth != ClientAuth::Off && config.client_ca.is_none() {
        return Err(Error::MissingTls(config.auth.as_str()));
    }
    let files = TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: config.client_ca.clone(),
        crl: config.crl.clone(),
        client_auth,
        allow_expired_crl: config.allow_expired_crl,
    };
    Ok(Some(ReloadableTls::start(files, CRL_POLL, metrics)?))
}

/// The main listener: signal routes (and `/metrics` without a metrics listener), TLS when configured.
struct MainHandler {
    state: Arc<AppState>,
    tls: Option<Arc<ReloadableTls>>,
}

impl serve::Handler for MainHandler {
    /// The identity of the connection's verified client certificate, parsed once per connection.
    type Conn = Option<Identity>;

    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.tls.as_ref().map(|tls| tls.current())
    }

    fn on_tls_handshake(&self, ok: bool) {
        self.state.metrics.tls_handshake(ok);
    }

    fn connect(&self, peer: &serve::Peer) -> Option<Identity> {
        peer.client_certificate
            .as_ref()
            .and_then(|der| identity_from_cert(der))
    }

    async fn call(
        &self,
        cert: &Option<Identity>,
        request: Request<serve::RequestBody>,
    ) -> std::result::Result<serve::HttpResponse, serve::ResetConnection> {
        Ok(routes::handle(self.state.clone(), request, cert.clone()).await)
    }
}

/// The separate metrics listener: `/metrics` and health only, plain HTTP.
struct MetricsHandler {
    metrics: Arc<Metrics>,
}

impl serve::Handler for MetricsHandler {
    type Conn = ();

    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        None
    }

    fn connect(&self, _peer: &serve::Peer) {}

    async fn call(
        &self,
        _conn: &(),
        request: Request<serve::RequestBody>,
    ) -> std::result::Result<serve::HttpResponse, serve::ResetConnection> {
        Ok(routes::handle_metrics_only(self.metrics.clone(), request).await)
    }
}

/// Completes when `rx` sees `true` (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
