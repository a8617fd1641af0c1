//! The supervisor's admin endpoint: `GET/PUT /gatebench/v1/faults` taking the stand-in's fault JSON,
//! of which only the outage part can be made real: `hang` = SIGSTOP, `reset` = SIGKILL (refused),
//! ended (at `duration_secs` or by `{}`) by SIGCONT or a restart on the same port and data dir.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::{ControlPlane, Error, Result};
use crate::apiserver::status::{self, HttpResponse};
use crate::apiserver::{FaultConfig, OutageKind};

pub const FAULTS_PATH: &str = "/gatebench/v1/faults";
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a fault config asks of the processes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// No outage: running and answering.
    Recover,
    Hang {
        secs: Option<f64>,
    },
    Refuse {
        secs: Option<f64>,
    },
}

/// Maps a fault config to an action, or names why a real kube-apiserver cannot do it.
pub fn plan(config: &FaultConfig) -> Result<Action> {
    let unavailable = |what: &str| Err(Error::FaultUnavailable(what.to_string()));
    if !config.latency.is_empty() {
        return unavailable(
            "injected latency: kube-apiserver has no delay knob; its latency is what is measured",
        );
    }
    if config.max_inflight.is_some() {
        return unavailable(
            "max_inflight at run time: throttle with --max-requests-inflight / --max-mutating-requests-inflight at start",
        );
    }
    if config.qps_cap.is_some() {
        return unavailable(
            "qps_cap: kube-apiserver has no server-side QPS cap (APF limits concurrency, not rate)",
        );
    }
    if config.error_fraction > 0.0 {
        return unavailable(
            "error_fraction: kube-apiserver cannot be made to fail a share of requests",
        );
    }
    Ok(match &config.outage {
        None => Action::Recover,
        Some(outage) => match outage.kind {
            OutageKind::Hang => Action::Hang {
                secs: outage.duration_secs,
            },
            OutageKind::Reset => Action::Refuse {
                secs: outage.duration_secs,
            },
            OutageKind::Unavailable => {
                return unavailable(
                    "outage `unavailable` (503 on demand); use `hang` (SIGSTOP) or `reset` (killed: connection refused)",
                );
            }
        },
    })
}

/// Shared state of the endpoint.
pub struct Admin {
    plane: Arc<Mutex<ControlPlane>>,
    admin_token: String,
    current: std::sync::Mutex<FaultConfig>,
    /// Bumped by every PUT, so a timed outage ends only if nothing replaced it meanwhile.
    generation: AtomicU64,
}

impl Admin {
    pub fn new(plane: Arc<Mutex<ControlPlane>>, admin_token: String) -> Arc<Admin> {
        Arc::new(Admin {
            plane,
            admin_token,
            current: std::sync::Mutex::new(FaultConfig::default()),
            generation: AtomicU64::new(0),
        })
    }

    pub fn current(&self) -> FaultConfig {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_current(&self, config: FaultConfig) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = config;
    }

    /// Applies `config` now; a timed outage is ended by a task `duration_secs` later.
    pub async fn apply(self: &Arc<Self>, config: FaultConfig) -> Result<()> {
        let action = plan(&config)?;
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let secs = {
            let mut plane = self.plane.lock().await;
            match action {
                Action::Recover => {
                    plane.recover().await?;
                    None
                }
                Action::Hang { secs } => {
                    plane.hang().await?;
                    secs
                }
                Action::Refuse { secs } => {
                    plane.refuse().await?;
                    secs
                }
            }
        };
        tracing::info!(?action, "kube-apiserver fault applied");
        self.set_current(config);
        if let Some(secs) = secs {
            let admin = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                if admin.generation.load(Ordering::Acquire) != generation {
                    return;
                }
                match admin.plane.lock().await.recover().await {
                    Ok(()) => admin.set_current(FaultConfig::default()),
                    Err(error) => tracing::error!(%error, "ending a timed outage failed"),
                }
            });
        }
        Ok(())
    }

    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> HttpResponse {
        if request.uri().path() != FAULTS_PATH {
            return status::not_found_path();
        }
        let bearer = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer != Some(self.admin_token.as_str()) {
            return status::unauthorized();
        }
        match *request.method() {
            Method::GET => self.current_response(),
            Method::PUT => {
                let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
                    .collect()
                    .await
                {
                    Ok(collected) => collected.to_bytes(),
                    Err(_) => return status::bad_request("the fault config could not be read"),
                };
                let config = match serde_json::from_slice::<FaultConfig>(&body) {
                    Ok(config) => config,
                    Err(e) => return status::bad_request(&format!("invalid fault config: {e}")),
                };
                match self.apply(config).await {
                    Ok(()) => self.current_response(),
                    Err(e @ Error::FaultUnavailable(_)) => status::status(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Invalid",
                        &e.to_string(),
                        serde_json::Value::Null,
                    ),
                    Err(e) => status::status(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "ServiceUnavailable",
                        &format!("applying the fault failed: {e}"),
                        serde_json::Value::Null,
                    ),
                }
            }
            _ => status::method_not_allowed(),
        }
    }

    fn current_response(&self) -> HttpResponse {
        status::json_response(
            StatusCode::OK,
            &serde_json::to_value(self.current()).unwrap_or_default(),
        )
    }
}

/// Serves the endpoint (HTTP/1.1 on loopback, admin bearer token required) until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    admin: Arc<Admin>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let admin = admin.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let admin = admin.clone();
                async move { Ok::<_, std::convert::Infallible>(admin.handle(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::{Latency, Outage};

    #[test]
    fn only_outages_map_to_real_actions() {
        assert_eq!(plan(&FaultConfig::default()).unwrap(), Action::Recover);
        let outage = |kind, duration_secs| FaultConfig {
            outage: Some(Outage {
                kind,
                duration_secs,
            }),
            ..FaultConfig::default()
        };
        assert_eq!(
            plan(&outage(OutageKind::Hang, Some(2.0))).unwrap(),
            Action::Hang { secs: Some(2.0) }
        );
        assert_eq!(
            plan(&outage(OutageKind::Reset, None)).unwrap(),
            Action::Refuse { secs: None }
        );
        let err = plan(&outage(OutageKind::Unavailable, None)).unwrap_err();
        assert!(err.to_string().contains("hang"), "{err}");
        let mut latency = FaultConfig::default();
        latency
            .latency
            .insert("tokenreviews".into(), Latency::Fixed { ms: 5.0 });
        let err = plan(&latency).unwrap_err().to_string();
        assert!(
            err.contains("latency") && err.contains("not available"),
            "{err}"
        );
        let err = plan(&FaultConfig {
            max_inflight: Some(3),
            ..FaultConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("--max-requests-inflight"), "{err}");
    }
}
