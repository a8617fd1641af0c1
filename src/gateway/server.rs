//! The accept loops: optional TLS, connection limit, header-read timeout, HTTP/1.1 + h2, graceful shutdown.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::auth::mtls::identity_from_cert;
use super::auth::{AuthPipeline, Identity, build_pipeline};
use super::kube_client::{ClientSettings, KubeApi, build_client};
use super::metrics::Metrics;
use super::routes::{self, AppState};
use super::signals::DedupStore;
use super::tls_config::{ClientAuth, ReloadableTls, TlsFiles};
use super::{AuthMode, Config, Error, Result};

/// In-flight requests get this long to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
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
        let metrics = Arc::new(Metrics::new());
        let tls = tls_for(&config)?;
        let kube = kube_api(&config, metrics.clone())?;
        let pipeline: AuthPipeline = build_pipeline(&config, kube, metrics.clone()).await?;
        let state = Arc::new(AppState {
            pipeline,
            dedup: DedupStore::new(config.dedup_window, config.cache_max_entries),
            metrics: metrics.clone(),
            body_limit_bytes: config.body_limit_bytes,
            serve_metrics: metrics_listener.is_none(),
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let metrics_url = match &metrics_listener {
            Some(l) => format!("http://{}", l.local_addr()?),
            None => url.clone(),
        };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let limits = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            tls.clone(),
            Service::Main(state.clone()),
            limits,
            config.header_read_timeout,
            metrics.clone(),
            shutdown_rx.clone(),
        ))];
        if let Some(ml) = metrics_listener {
            tasks.push(tokio::spawn(accept_loop(
                ml,
                None,
                Service::MetricsOnly(metrics.clone()),
                Arc::new(Semaphore::new(64)),
                config.header_read_timeout,
                metrics,
                shutdown_rx,
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

fn tls_for(config: &Config) -> Result<Option<Arc<ReloadableTls>>> {
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
    };
    Ok(Some(ReloadableTls::start(files, CRL_POLL)?))
}

#[derive(Clone)]
enum Service {
    Main(Arc<AppState>),
    MetricsOnly(Arc<Metrics>),
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<ReloadableTls>>,
    service: Service,
    limits: Arc<Semaphore>,
    header_read_timeout: Duration,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        // Waiting for a permit before accepting leaves excess clients in the kernel backlog
        // instead of costing file descriptors and tasks here.
        let permit = tokio::select! {
            permit = limits.clone().acquire_owned() => permit.expect("semaphore never closed"),
            _ = shutdown.changed() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let service = service.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Some(tls) = tls else {
                serve(
                    TokioIo::new(stream),
                    service,
                    None,
                    header_read_timeout,
                    watcher,
                )
                .await;
                return;
            };
            let acceptor = TlsAcceptor::from(tls.current());
            match tokio::time::timeout(header_read_timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => {
                    metrics.tls_handshake(true);
                    let cert = tls_stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|certs| certs.first())
                        .and_then(|der| identity_from_cert(der));
                    serve(
                        TokioIo::new(tls_stream),
                        service,
                        cert,
                        header_read_timeout,
                        watcher,
                    )
                    .await;
                }
                Ok(Err(e)) => {
                    metrics.tls_handshake(false);
                    tracing::debug!(error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    metrics.tls_handshake(false);
                    tracing::debug!("TLS handshake timed out");
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after drain timeout");
    }
}

async fn serve<IO>(
    io: TokioIo<IO>,
    service: Service,
    client_cert: Option<Identity>,
    header_read_timeout: Duration,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |request| {
        let service = service.clone();
        let cert = client_cert.clone();
        async move {
            let response = match service {
                Service::Main(state) => routes::handle(state, request, cert).await,
                Service::MetricsOnly(metrics) => {
                    routes::handle_metrics_only(metrics, request).await
                }
            };
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let connection = builder.serve_connection(io, svc).into_owned();
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended with error");
    }
}
